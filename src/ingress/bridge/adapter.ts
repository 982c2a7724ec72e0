/**
 * The media bridge ingress: mediabot's side of docs/bridge-protocol.md.
 *
 * A media sidecar (a Windows service around Microsoft.Skype.Bots.Media) connects
 * over WebSocket to /media/bridge, says hello with a token, creates media sessions
 * on request (their blob goes into Graph's appHostedMediaConfig), then streams each
 * call's audio as binary frames (mixed, or unmixed per active speaker) and takes the
 * call's outbound audio back. Calls run in the media thread pool as PCM sources.
 *
 * A dropped connection does not end the calls: the session waits `resumeWindowMs`
 * for the sidecar to come back with its session token; meanwhile the calls keep
 * ticking and the missing audio is recorded as silence of the gap's length.
 */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import type { RawData, WebSocket } from 'ws';
import { isMediabotError, MediabotError } from '../../errors.js';
import { silentLogger, type Logger } from '../../logger.js';
import { createOpusDecoder } from '../../media/codec/opus.js';
import type { FrameDecoder } from '../../media/codec/types.js';
import { IngressMetrics } from '../common/metrics.js';
import { ensureWebsocket, FrameRateGate, sendBounded, type IngressCallHooks, type IngressCallInfo, type IngressCallSpec, type IngressPool } from '../common/shared.js';
import { BRIDGE_PROTOCOL, BRIDGE_VERSIONS, parseControlMessage } from './schemas.js';
import { decodeFrameHeader, encodeFrame, FrameCodec, FrameKind, MIXED_SOURCE_ID, pcmFromPayload, payloadFromPcm, PCM16K_FRAME_BYTES, HEADER_BYTES } from './wire.js';

/** WebSocket close codes mediabot uses on /media/bridge. */
export const BRIDGE_CLOSE = {
  protocolError: 4400,
  unauthorized: 4401,
  unsupportedVersion: 4406,
  heartbeatTimeout: 4408,
  replaced: 4409,
  slowConsumer: 4413,
  shuttingDown: 1001,
} as const;

export interface BridgeIngressOptions extends IngressCallHooks {
  pool: IngressPool;
  /** Tokens a sidecar may present in hello (MEDIABOT_API_TOKEN and/or a dedicated bridge token). At least one. */
  tokens: string[];
  /** Hooks, encoder... for the media call of a new session (its `pcm` is set here). */
  callSpec?: IngressCallSpec;
  /** What goes back to the sidecar: the mix without the call's own inbound audio (default), the full mix, or nothing. */
  outbound?: 'mix-minus' | 'mix' | 'off';
  playoutDelayMs?: number;
  maxQueueMs?: number;
  /** Heartbeat period (both directions). Default 5000. A peer silent for `missedHeartbeats` periods is dead. */
  heartbeatMs?: number;
  missedHeartbeats?: number;
  /** How long a dropped session's calls wait for the sidecar to resume. Default 30000. */
  resumeWindowMs?: number;
  /** Outbound frames are dropped while the socket holds more than this many unsent bytes. Default 256 KiB. */
  sendHighWaterBytes?: number;
  /** A peer that keeps not reading this long is disconnected. Default 5000. */
  slowConsumerMs?: number;
  /** How long createMediaSession waits for the sidecar. Default 10000. */
  createTimeoutMs?: number;
  /** Frames a stream may send ahead of real time before frames are dropped. Default 100 (2 s). */
  burstFrames?: number;
  /** Most calls across all sidecars; a sessionStarted beyond it is refused. Default 1000. */
  maxCalls?: number;
  logger?: Logger;
  metrics?: IngressMetrics;
}

export interface BridgeSourceMapEntry {
  /** The source id inside mediabot's media core (recordings, transcripts, talk events): `msi-<msi>`. */
  sourceId: string;
  msi: number;
  participantId: string;
  displayName: string | null;
}

export type BridgeControlEvent =
  | { type: 'sessionStarted'; callId: string; callIndex: number; sidecarId: string }
  | { type: 'sessionEnded'; callId: string; reason: string }
  | { type: 'activeSpeakers'; callId: string; sourceIds: string[] }
  | { type: 'dominantSpeaker'; callId: string; sourceId: string | null }
  | { type: 'sourceMap'; callId: string; entries: BridgeSourceMapEntry[] }
  | { type: 'dtmf'; callId: string; tone: string; direction: 'received' | 'sent' }
  | { type: 'mediaHealth'; callId: string; health: Record<string, unknown> }
  | { type: 'sidecar'; sidecarId: string; state: 'connected' | 'resumed' | 'disconnected' | 'expired' };

export interface BridgeCallInfo {
  callId: string;
  callIndex: number;
  sidecarId: string;
  connected: boolean;
  sourceMap: BridgeSourceMapEntry[];
  activeSpeakers: string[];
  dominantSpeaker: string | null;
  health: Record<string, unknown> | null;
}

interface BridgeCall {
  callId: string;
  callIndex: number;
  session: Session;
  info: IngressCallInfo;
  sourceMap: Map<number, BridgeSourceMapEntry>;
  activeSpeakers: string[];
  dominant: string | null;
  health: Record<string, unknown> | null;
  gates: Map<string, FrameRateGate>;
  decoders: Map<string, FrameDecoder>;
  ownsPoolCall: boolean;
  /** Settles once the media call exists (true) or could not be created (false). */
  ready: Promise<boolean>;
  /** Frames that arrived before the media call was created (bounded), then flushed. */
  pending: Array<{ sourceId: string; rate: number; timestampMs: number; samples: Int16Array; flags: number }> | null;
  outSeq: number;
  unsubOutbound: () => void;
  ended: boolean;
}

interface Session {
  token: string;
  sidecarId: string;
  conn: Connection | null;
  calls: Map<string, BridgeCall>;
  byIndex: Map<number, BridgeCall>;
  expiry: NodeJS.Timeout | null;
}

interface Connection {
  ws: WebSocket;
  session: Session | null;
  lastSeen: number;
  timer: NodeJS.Timeout;
  /** Since when outbound frames are being dropped (the peer is not reading), or null. */
  dropSince: number | null;
  /** Last time an error message of each code was sent (at most one per second per code). */
  errorSentAt: Map<string, number>;
}

interface PendingCreate {
  callId: string;
  session: Session;
  resolve: (v: { blob: string }) => void;
  reject: (e: unknown) => void;
  timer: NodeJS.Timeout;
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();
const SOURCE_PREFIX = 'msi-';
export const MIXED_SOURCE = 'mixed';
const MAX_PENDING_FRAMES = 200;

export class BridgeIngress {
  readonly metrics: IngressMetrics;
  private readonly opts: Required<Pick<BridgeIngressOptions, 'outbound' | 'heartbeatMs' | 'missedHeartbeats' | 'resumeWindowMs' | 'sendHighWaterBytes' | 'slowConsumerMs' | 'createTimeoutMs' | 'burstFrames'>>;
  private readonly tokenDigests: Buffer[];
  private readonly sessions = new Map<string, Session>();
  private readonly connections = new Set<Connection>();
  private readonly pendingCreates = new Map<string, PendingCreate>();
  private readonly listeners = new Set<(e: BridgeControlEvent) => void>();
  private readonly log: Logger;
  private readonly scratch = new Int16Array(PCM16K_FRAME_BYTES / 2);
  private readonly opusOut = new Int16Array(960);
  private closed = false;

  constructor(private readonly options: BridgeIngressOptions) {
    const tokens = options.tokens.filter((t) => typeof t === 'string' && t.length > 0);
    if (tokens.length === 0) throw new MediabotError('MEDIABOT_CONFIG_INVALID', 'the media bridge needs at least one token (MEDIABOT_API_TOKEN or a bridge token)');
    this.tokenDigests = tokens.map(digest);
    this.opts = {
      outbound: options.outbound ?? 'mix-minus',
      heartbeatMs: options.heartbeatMs ?? 5000,
      missedHeartbeats: options.missedHeartbeats ?? 3,
      resumeWindowMs: options.resumeWindowMs ?? 30_000,
      sendHighWaterBytes: options.sendHighWaterBytes ?? 256 * 1024,
      slowConsumerMs: options.slowConsumerMs ?? 5000,
      createTimeoutMs: options.createTimeoutMs ?? 10_000,
      burstFrames: options.burstFrames ?? 100,
    };
    this.metrics = options.metrics ?? new IngressMetrics();
    this.log = options.logger ?? silentLogger;
  }

  onControl(listener: (e: BridgeControlEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(e: BridgeControlEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch (err) {
        this.log.warn({ err }, 'bridge control listener threw');
      }
    }
  }

  // ---------------------------------------------------------------- public API

  /** MediaSessionProvider: asks a connected sidecar for a media session; resolves with its blob. */
  async createMediaSession(callId: string): Promise<{ blob: string }> {
    if (typeof callId !== 'string' || callId.length === 0) throw new MediabotError('MEDIABOT_BAD_REQUEST', 'createMediaSession needs a call id');
    const session = this.pickSession();
    if (!session) {
      this.metrics.fault('bridge', 'MEDIABOT_INGRESS_NO_SIDECAR');
      throw new MediabotError('MEDIABOT_INGRESS_NO_SIDECAR', 'no media bridge sidecar is connected');
    }
    const requestId = randomUUID();
    return new Promise<{ blob: string }>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pendingCreates.delete(requestId);
        this.metrics.fault('bridge', 'MEDIABOT_INGRESS_SESSION_FAILED');
        reject(new MediabotError('MEDIABOT_INGRESS_SESSION_FAILED', `sidecar ${session.sidecarId} did not create a media session for ${callId} within ${this.opts.createTimeoutMs} ms`));
      }, this.opts.createTimeoutMs);
      this.pendingCreates.set(requestId, { callId, session, resolve, reject, timer });
      this.sendControl(session.conn!, { type: 'createMediaSession', requestId, callId });
    });
  }

  /** Sends DTMF tones into a call through its sidecar. */
  sendDtmf(callId: string, tones: string): void {
    if (!/^[0-9A-D*#]{1,64}$/.test(tones)) throw new MediabotError('MEDIABOT_BAD_REQUEST', `DTMF tones must be 1-64 of 0-9 A-D * # (got ${JSON.stringify(tones)})`);
    const call = this.findCall(callId);
    if (!call.session.conn) throw new MediabotError('MEDIABOT_INGRESS_NO_SIDECAR', `the sidecar of call ${callId} is disconnected`);
    this.sendControl(call.session.conn, { type: 'sendDtmf', callId, tones });
  }

  /** Ends a call's media: tells the sidecar, ends the media call. */
  async endMediaSession(callId: string, reason = 'ended by the bot'): Promise<void> {
    const call = this.findCall(callId);
    if (call.session.conn) this.sendControl(call.session.conn, { type: 'endMediaSession', callId, reason });
    await this.endCall(call, reason);
  }

  calls(): BridgeCallInfo[] {
    const out: BridgeCallInfo[] = [];
    for (const s of this.sessions.values()) for (const c of s.calls.values()) out.push(this.callInfo(c));
    return out;
  }

  sourceMap(callId: string): BridgeSourceMapEntry[] {
    return [...this.findCall(callId).sourceMap.values()];
  }

  stats(): { sidecars: number; connected: number; calls: number; counters: Record<string, number> } {
    let connected = 0;
    let calls = 0;
    for (const s of this.sessions.values()) {
      if (s.conn) connected++;
      calls += s.calls.size;
    }
    return { sidecars: this.sessions.size, connected, calls, counters: this.metrics.snapshot().bridge };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const p of this.pendingCreates.values()) {
      clearTimeout(p.timer);
      p.reject(new MediabotError('MEDIABOT_INGRESS_SESSION_FAILED', 'the media bridge is shutting down'));
    }
    this.pendingCreates.clear();
    for (const c of this.connections) c.ws.close(BRIDGE_CLOSE.shuttingDown, 'shutting down');
    const ends: Promise<void>[] = [];
    for (const s of this.sessions.values()) {
      if (s.expiry) clearTimeout(s.expiry);
      for (const c of s.calls.values()) ends.push(this.endCall(c, 'mediabot shutting down'));
    }
    await Promise.all(ends);
    this.sessions.clear();
  }

  // ---------------------------------------------------------------- connections

  /** Takes one WebSocket connection on /media/bridge. */
  handleConnection(ws: WebSocket): void {
    if (this.closed) {
      ws.close(BRIDGE_CLOSE.shuttingDown, 'shutting down');
      return;
    }
    const conn: Connection = { ws, session: null, lastSeen: performance.now(), timer: setInterval(() => this.heartbeat(conn), this.opts.heartbeatMs), dropSince: null, errorSentAt: new Map() };
    this.connections.add(conn);
    this.metrics.inc('bridge', 'connections');
    ws.on('message', (data: RawData, isBinary: boolean) => {
      conn.lastSeen = performance.now();
      try {
        if (isBinary) this.onBinary(conn, toBuffer(data));
        else this.onText(conn, toBuffer(data).toString('utf8'));
      } catch (err) {
        this.fault(conn, err);
      }
    });
    ws.on('close', () => this.onClose(conn));
    ws.on('error', (err) => this.log.warn({ err }, 'bridge socket error'));
  }

  private heartbeat(conn: Connection): void {
    const silentMs = performance.now() - conn.lastSeen;
    if (silentMs > this.opts.heartbeatMs * this.opts.missedHeartbeats) {
      this.metrics.fault('bridge', 'MEDIABOT_INGRESS_HEARTBEAT');
      this.log.warn({ sidecarId: conn.session?.sidecarId, silentMs }, 'bridge peer missed its heartbeats; disconnecting');
      conn.ws.close(BRIDGE_CLOSE.heartbeatTimeout, 'heartbeat timeout');
      // A dead TCP peer never completes the closing handshake.
      setTimeout(() => conn.ws.terminate(), 1000).unref();
      return;
    }
    this.sendControl(conn, { type: 'ping', ts: Date.now() });
  }

  private onClose(conn: Connection): void {
    clearInterval(conn.timer);
    this.connections.delete(conn);
    const s = conn.session;
    if (!s || s.conn !== conn) return;
    s.conn = null;
    this.metrics.inc('bridge', 'disconnects');
    for (const [id, p] of this.pendingCreates) {
      if (p.session !== s) continue;
      clearTimeout(p.timer);
      this.pendingCreates.delete(id);
      p.reject(new MediabotError('MEDIABOT_INGRESS_SESSION_FAILED', `sidecar ${s.sidecarId} disconnected before creating the media session`));
    }
    this.emit({ type: 'sidecar', sidecarId: s.sidecarId, state: 'disconnected' });
    if (s.calls.size === 0 || this.closed) {
      this.sessions.delete(s.token);
      return;
    }
    this.log.warn({ sidecarId: s.sidecarId, calls: s.calls.size, windowMs: this.opts.resumeWindowMs }, 'bridge sidecar disconnected mid-call; waiting for resume');
    s.expiry = setTimeout(() => {
      this.sessions.delete(s.token);
      this.metrics.inc('bridge', 'sessionsExpired');
      this.emit({ type: 'sidecar', sidecarId: s.sidecarId, state: 'expired' });
      for (const c of [...s.calls.values()]) void this.endCall(c, 'the media bridge connection was lost and not resumed');
    }, this.opts.resumeWindowMs);
  }

  // ---------------------------------------------------------------- control messages

  private onText(conn: Connection, text: string): void {
    this.metrics.inc('bridge', 'controlMessages');
    const msg = parseControlMessage(text, 'fromSidecar');
    if (!conn.session) {
      if (msg.type !== 'hello') {
        this.closeWith(conn, BRIDGE_CLOSE.protocolError, new MediabotError('MEDIABOT_INGRESS_BAD_MESSAGE', `the first message must be hello, got ${msg.type}`));
        return;
      }
      this.onHello(conn, msg as unknown as HelloMessage);
      return;
    }
    const s = conn.session;
    switch (msg.type) {
      case 'hello':
        throw new MediabotError('MEDIABOT_INGRESS_BAD_MESSAGE', 'hello was already accepted on this connection');
      case 'ping':
        this.sendControl(conn, msg.ts === undefined ? { type: 'pong' } : { type: 'pong', ts: msg.ts });
        return;
      case 'pong':
        return;
      case 'mediaSessionCreated': {
        const p = this.pendingCreates.get(msg.requestId as string);
        if (!p) throw new MediabotError('MEDIABOT_INGRESS_BAD_MESSAGE', `mediaSessionCreated for unknown request ${String(msg.requestId)}`);
        this.pendingCreates.delete(msg.requestId as string);
        clearTimeout(p.timer);
        if (p.callId !== msg.callId) {
          p.reject(new MediabotError('MEDIABOT_INGRESS_SESSION_FAILED', `sidecar answered request for ${p.callId} with call ${String(msg.callId)}`));
          return;
        }
        this.metrics.inc('bridge', 'mediaSessionsCreated');
        p.resolve({ blob: msg.blob as string });
        return;
      }
      case 'error': {
        this.metrics.inc('bridge', 'peerErrors');
        const p = typeof msg.requestId === 'string' ? this.pendingCreates.get(msg.requestId) : undefined;
        if (p && typeof msg.requestId === 'string') {
          this.pendingCreates.delete(msg.requestId);
          clearTimeout(p.timer);
          this.metrics.fault('bridge', 'MEDIABOT_INGRESS_SESSION_FAILED');
          p.reject(new MediabotError('MEDIABOT_INGRESS_SESSION_FAILED', `sidecar could not create a media session for ${p.callId}: ${String(msg.code)}: ${String(msg.message)}`));
        } else this.log.warn({ sidecarId: s.sidecarId, code: msg.code, message: msg.message }, 'bridge sidecar reported an error');
        return;
      }
      case 'sessionStarted':
        this.onSessionStarted(s, msg.callId as string, msg.callIndex as number);
        return;
      case 'sessionEnded': {
        const call = this.callOf(s, msg.callId as string);
        // Let the audio already queued in the media thread play out (into the recording) first.
        void this.endCall(call, msg.reason as string, (this.options.playoutDelayMs ?? 60) + 100);
        return;
      }
      case 'activeSpeakers': {
        const call = this.callOf(s, msg.callId as string);
        call.activeSpeakers = (msg.sourceIds as number[]).map((n) => SOURCE_PREFIX + n);
        this.emit({ type: 'activeSpeakers', callId: call.callId, sourceIds: call.activeSpeakers });
        return;
      }
      case 'dominantSpeaker': {
        const call = this.callOf(s, msg.callId as string);
        call.dominant = msg.sourceId === null ? null : SOURCE_PREFIX + String(msg.sourceId);
        this.emit({ type: 'dominantSpeaker', callId: call.callId, sourceId: call.dominant });
        return;
      }
      case 'sourceMap': {
        const call = this.callOf(s, msg.callId as string);
        if (msg.replace === true) call.sourceMap.clear();
        for (const e of msg.entries as Array<{ sourceId: number; participantId: string; displayName?: string | null }>) {
          call.sourceMap.set(e.sourceId, { sourceId: SOURCE_PREFIX + e.sourceId, msi: e.sourceId, participantId: e.participantId, displayName: e.displayName ?? null });
        }
        this.emit({ type: 'sourceMap', callId: call.callId, entries: [...call.sourceMap.values()] });
        return;
      }
      case 'dtmf': {
        const call = this.callOf(s, msg.callId as string);
        this.metrics.inc('bridge', 'dtmf');
        this.emit({ type: 'dtmf', callId: call.callId, tone: msg.tone as string, direction: msg.direction as 'received' | 'sent' });
        return;
      }
      case 'mediaHealth': {
        const call = this.callOf(s, msg.callId as string);
        const { type: _t, callId: _c, ...health } = msg;
        call.health = health;
        this.emit({ type: 'mediaHealth', callId: call.callId, health });
        return;
      }
    }
  }

  private onHello(conn: Connection, hello: HelloMessage): void {
    if (!this.tokenOk(hello.token)) {
      this.closeWith(conn, BRIDGE_CLOSE.unauthorized, new MediabotError('MEDIABOT_INGRESS_UNAUTHORIZED', 'the hello token is not valid'));
      return;
    }
    const version = Math.max(...hello.versions.filter((v) => (BRIDGE_VERSIONS as readonly number[]).includes(v)));
    if (!Number.isFinite(version)) {
      this.closeWith(conn, BRIDGE_CLOSE.unsupportedVersion, new MediabotError('MEDIABOT_INGRESS_BAD_VERSION', `no common protocol version: sidecar offers ${JSON.stringify(hello.versions)}, mediabot speaks ${JSON.stringify(BRIDGE_VERSIONS)}`));
      return;
    }
    let session: Session | undefined;
    let resumed = false;
    if (hello.resume) {
      const old = this.sessions.get(hello.resume.sessionToken);
      if (old && old.sidecarId === hello.sidecarId) {
        session = old;
        resumed = true;
        if (old.expiry) clearTimeout(old.expiry);
        old.expiry = null;
        if (old.conn) {
          // The old connection is half-dead (the sidecar already reconnected): it loses the session.
          const prev = old.conn;
          old.conn = null;
          prev.session = null;
          prev.ws.close(BRIDGE_CLOSE.replaced, 'session resumed on another connection');
        }
        this.metrics.inc('bridge', 'resumes');
      } else this.metrics.inc('bridge', 'resumeRejected');
    }
    if (!session) {
      session = { token: randomBytes(24).toString('base64url'), sidecarId: hello.sidecarId, conn: null, calls: new Map(), byIndex: new Map(), expiry: null };
      this.sessions.set(session.token, session);
    }
    session.conn = conn;
    conn.session = session;
    this.sendControl(conn, {
      type: 'welcome',
      version,
      sessionResume: { sessionToken: session.token, windowMs: this.opts.resumeWindowMs },
      resumed,
      calls: [...session.calls.values()].map((c) => ({ callId: c.callId, callIndex: c.callIndex })),
      heartbeatMs: this.opts.heartbeatMs,
    });
    this.log.info({ sidecarId: session.sidecarId, resumed, calls: session.calls.size }, 'bridge sidecar connected');
    this.emit({ type: 'sidecar', sidecarId: session.sidecarId, state: resumed ? 'resumed' : 'connected' });
  }

  private onSessionStarted(s: Session, callId: string, callIndex: number): void {
    const existing = s.calls.get(callId);
    if (existing) {
      if (existing.callIndex !== callIndex) throw new MediabotError('MEDIABOT_INGRESS_BAD_MESSAGE', `call ${callId} already runs with callIndex ${existing.callIndex}`);
      return; // repeated after a resume: nothing to do
    }
    if (s.byIndex.has(callIndex)) throw new MediabotError('MEDIABOT_INGRESS_BAD_MESSAGE', `callIndex ${callIndex} is already used by call ${s.byIndex.get(callIndex)!.callId}`);
    if (this.stats().calls >= (this.options.maxCalls ?? 1000)) throw new MediabotError('MEDIABOT_INGRESS_SESSION_FAILED', `mediabot already runs ${this.options.maxCalls ?? 1000} bridge calls`);
    const pool = this.options.pool;
    const ownsPoolCall = !pool.hasCall(callId);
    // Asked first: if it throws, nothing has been registered yet.
    const base = ownsPoolCall ? (this.options.callSpec?.(callId) ?? {}) : {};
    const call: BridgeCall = {
      callId,
      callIndex,
      session: s,
      info: { callId, adapter: 'bridge', correlationId: s.sidecarId, startedAt: new Date().toISOString() },
      sourceMap: new Map(),
      activeSpeakers: [],
      dominant: null,
      health: null,
      gates: new Map(),
      decoders: new Map(),
      ownsPoolCall,
      ready: Promise.resolve(true),
      pending: ownsPoolCall ? [] : null,
      outSeq: 0,
      unsubOutbound: () => {},
      ended: false,
    };
    s.calls.set(callId, call);
    s.byIndex.set(callIndex, call);
    this.metrics.inc('bridge', 'callsStarted');
    const started = (): boolean => {
      this.emit({ type: 'sessionStarted', callId, callIndex, sidecarId: s.sidecarId });
      this.options.onCallStarted?.(call.info);
      if (call.ended) return true;
      const pending = call.pending;
      call.pending = null;
      if (pending) for (const f of pending) this.pushToPool(call, f);
      if (this.opts.outbound !== 'off') call.unsubOutbound = pool.onOutbound(callId, (f) => this.sendOutbound(call, f.mediaTimeMs, f.samples));
      return true;
    };
    if (!ownsPoolCall) {
      started();
      return;
    }
    const pcm = {
      outbound: this.opts.outbound,
      ...(this.options.playoutDelayMs !== undefined ? { playoutDelayMs: this.options.playoutDelayMs } : {}),
      ...(this.options.maxQueueMs !== undefined ? { maxQueueMs: this.options.maxQueueMs } : {}),
    };
    call.ready = pool.createCall({ ...base, callId, pcm: { ...pcm, ...base.pcm } }).then(started, (err: unknown) => {
      this.log.error({ err, callId }, 'bridge could not create the media call');
      call.ended = true;
      s.calls.delete(callId);
      s.byIndex.delete(callIndex);
      if (s.conn) this.sendError(s.conn, new MediabotError('MEDIABOT_INGRESS_SESSION_FAILED', `mediabot could not start media for ${callId}: ${(err as Error).message}`), callId);
      return false;
    });
  }

  private async endCall(call: BridgeCall, reason: string, drainMs = 0): Promise<void> {
    if (call.ended) return;
    call.ended = true;
    call.session.calls.delete(call.callId);
    call.session.byIndex.delete(call.callIndex);
    this.metrics.inc('bridge', 'callsEnded');
    if (!(await call.ready)) return;
    this.emit({ type: 'sessionEnded', callId: call.callId, reason });
    if (drainMs > 0) await new Promise((r) => setTimeout(r, drainMs));
    call.unsubOutbound();
    if (call.ownsPoolCall && this.options.pool.hasCall(call.callId)) {
      await this.options.pool.endCall(call.callId).catch((err: unknown) => this.log.warn({ err, callId: call.callId }, 'ending the media call failed'));
    }
    this.options.onCallEnded?.({ ...call.info, reason });
  }

  // ---------------------------------------------------------------- media frames

  private onBinary(conn: Connection, buf: Buffer): void {
    const s = conn.session;
    if (!s) {
      this.closeWith(conn, BRIDGE_CLOSE.protocolError, new MediabotError('MEDIABOT_INGRESS_BAD_MESSAGE', 'media frame before hello'));
      return;
    }
    this.metrics.inc('bridge', 'frames');
    const h = decodeFrameHeader(buf);
    if (h.kind === FrameKind.Outbound) throw new MediabotError('MEDIABOT_INGRESS_BAD_FRAME', 'a sidecar cannot send outbound (kind 2) frames');
    const call = s.byIndex.get(h.callIndex);
    if (!call) throw new MediabotError('MEDIABOT_INGRESS_UNKNOWN_CALL', `no call with callIndex ${h.callIndex} on this session`);
    const sourceId = h.kind === FrameKind.Mixed ? MIXED_SOURCE : SOURCE_PREFIX + h.sourceId;
    let gate = call.gates.get(sourceId);
    if (!gate) {
      gate = new FrameRateGate(this.opts.burstFrames);
      call.gates.set(sourceId, gate);
    }
    if (!gate.admit()) {
      this.metrics.fault('bridge', 'MEDIABOT_INGRESS_RATE_EXCEEDED');
      this.maybeSendError(conn, new MediabotError('MEDIABOT_INGRESS_RATE_EXCEEDED', `stream ${sourceId} of call ${call.callId} sends faster than real time; frames dropped`), call.callId);
      return;
    }
    let samples: Int16Array;
    let rate: number;
    if (h.codec === FrameCodec.Pcm16k) {
      samples = pcmFromPayload(buf, HEADER_BYTES, h.payloadLength, this.scratch);
      rate = 16_000;
    } else {
      let dec = call.decoders.get(sourceId);
      if (!dec) {
        dec = createOpusDecoder();
        call.decoders.set(sourceId, dec);
      }
      try {
        dec.decode(buf.subarray(HEADER_BYTES), this.opusOut);
      } catch (err) {
        throw new MediabotError('MEDIABOT_INGRESS_BAD_FRAME', `Opus packet of ${sourceId} does not decode: ${(err as Error).message}`);
      }
      samples = this.opusOut;
      rate = 48_000;
    }
    this.pushToPool(call, { sourceId, rate, timestampMs: h.timestampMs, samples, flags: h.flags & 3 });
  }

  private pushToPool(call: BridgeCall, f: { sourceId: string; rate: number; timestampMs: number; samples: Int16Array; flags: number }): void {
    if (call.pending) {
      if (call.pending.length < MAX_PENDING_FRAMES) call.pending.push({ ...f, samples: Int16Array.from(f.samples) });
      else this.metrics.inc('bridge', 'framesDroppedBeforeStart');
      return;
    }
    this.options.pool.pushPcm(call.callId, f);
    this.metrics.inc('bridge', 'framesAccepted');
  }

  private sendOutbound(call: BridgeCall, mediaTimeMs: number, samples: Int16Array): void {
    const conn = call.session.conn;
    if (!conn) return;
    const frame = encodeFrame({ kind: FrameKind.Outbound, codec: FrameCodec.Pcm16k, flags: 0, callIndex: call.callIndex, sourceId: MIXED_SOURCE_ID, sequence: call.outSeq++, timestampMs: mediaTimeMs }, payloadFromPcm(samples));
    if (sendBounded(conn.ws, frame, this.opts.sendHighWaterBytes)) {
      conn.dropSince = null;
      this.metrics.inc('bridge', 'outboundFrames');
      return;
    }
    if (conn.ws.readyState !== 1) return;
    this.metrics.inc('bridge', 'outboundDropped');
    const now = performance.now();
    conn.dropSince ??= now;
    if (now - conn.dropSince > this.opts.slowConsumerMs) {
      this.metrics.fault('bridge', 'MEDIABOT_INGRESS_SLOW_CONSUMER');
      this.log.warn({ sidecarId: call.session.sidecarId, buffered: conn.ws.bufferedAmount }, 'bridge peer stopped reading; disconnecting');
      conn.ws.terminate();
    }
  }

  // ---------------------------------------------------------------- helpers

  private tokenOk(token: string): boolean {
    const d = digest(token);
    let ok = false;
    for (const t of this.tokenDigests) ok = timingSafeEqual(d, t) || ok;
    return ok;
  }

  private pickSession(): Session | null {
    let best: Session | null = null;
    for (const s of this.sessions.values()) if (s.conn && (!best || s.calls.size < best.calls.size)) best = s;
    return best;
  }

  private findCall(callId: string): BridgeCall {
    for (const s of this.sessions.values()) {
      const c = s.calls.get(callId);
      if (c) return c;
    }
    throw new MediabotError('MEDIABOT_CALL_NOT_FOUND', `no bridge call ${callId}`);
  }

  private callOf(s: Session, callId: string): BridgeCall {
    const c = s.calls.get(callId);
    if (!c) throw new MediabotError('MEDIABOT_INGRESS_UNKNOWN_CALL', `no started call ${callId} on this session (send sessionStarted first)`);
    return c;
  }

  private callInfo(c: BridgeCall): BridgeCallInfo {
    return { callId: c.callId, callIndex: c.callIndex, sidecarId: c.session.sidecarId, connected: c.session.conn !== null, sourceMap: [...c.sourceMap.values()], activeSpeakers: c.activeSpeakers, dominantSpeaker: c.dominant, health: c.health };
  }

  private sendControl(conn: Connection, msg: Record<string, unknown>): void {
    if (conn.ws.readyState !== 1) return;
    // Control messages are small and rare; only a peer far behind (4× the media high-water) loses them.
    if (conn.ws.bufferedAmount > this.opts.sendHighWaterBytes * 4) return;
    conn.ws.send(JSON.stringify(msg));
  }

  private sendError(conn: Connection, err: MediabotError, callId?: string): void {
    this.sendControl(conn, { type: 'error', code: err.code, message: err.message, ...(callId ? { callId } : {}) });
  }

  /** At most one error message per code per second per connection (a bad stream must not flood). */
  private maybeSendError(conn: Connection, err: MediabotError, callId?: string): void {
    const now = performance.now();
    const last = conn.errorSentAt.get(err.code);
    if (last !== undefined && now - last < 1000) return;
    conn.errorSentAt.set(err.code, now);
    this.sendError(conn, err, callId);
  }

  private fault(conn: Connection, err: unknown): void {
    const e = isMediabotError(err) ? err : new MediabotError('MEDIABOT_INTERNAL', err instanceof Error ? err.message : String(err));
    this.metrics.fault('bridge', e.code);
    this.log.debug({ code: e.code, message: e.message }, 'bridge input rejected');
    if (!conn.session) {
      this.closeWith(conn, BRIDGE_CLOSE.protocolError, e);
      return;
    }
    this.maybeSendError(conn, e);
  }

  private closeWith(conn: Connection, code: number, err: MediabotError): void {
    this.metrics.fault('bridge', err.code);
    this.sendError(conn, err);
    conn.ws.close(code, err.message.slice(0, 120));
  }
}

interface HelloMessage {
  type: 'hello';
  protocol: typeof BRIDGE_PROTOCOL;
  versions: number[];
  token: string;
  sidecarId: string;
  resume?: { sessionToken: string };
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/**
 * The MediaSessionProvider of src/graph/media-config.ts, over the connected sidecar:
 * `createMediaSession(callId) → {blob}` for appHostedMediaConfig. (Structurally typed:
 * media code never imports graph code.)
 */
export class BridgeMediaSessionProvider {
  constructor(private readonly ingress: BridgeIngress) {}

  createMediaSession(callId: string): Promise<{ blob: string }> {
    return this.ingress.createMediaSession(callId);
  }
}

/** Mounts `GET /media/bridge` (WebSocket). Options: `{ ingress }`. */
export const bridgeIngressPlugin: FastifyPluginAsync<{ ingress: BridgeIngress; path?: string }> = async (app, opts) => {
  await ensureWebsocket(app);
  app.get(opts.path ?? '/media/bridge', { websocket: true }, (socket) => opts.ingress.handleConnection(socket));
};
