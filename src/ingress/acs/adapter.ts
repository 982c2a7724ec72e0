/**
 * Azure Communication Services media streaming ingress: a WebSocket server at
 * /media/acs. ACS connects once per call (headers x-ms-call-connection-id and
 * x-ms-call-correlation-id) and streams AudioMetadata, then AudioData (PCM 16 or
 * 24 kHz, mixed or one stream per participant) and DtmfData. Each participant
 * becomes a PCM source of the call in the media core (same hooks as any call:
 * recording, transcription, talk events); timestamps drive gaps and jitter.
 * Bidirectional: the call's outbound audio goes back as AudioData, and StopAudio
 * is sent when a participant starts talking over the bot (barge-in).
 */
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyPluginAsync } from 'fastify';
import type { RawData, WebSocket } from 'ws';
import { isMediabotError, MediabotError } from '../../errors.js';
import { silentLogger, type Logger } from '../../logger.js';
import { IngressMetrics } from '../common/metrics.js';
import { PCM_FLAG_SILENCE } from '../../media/session/pcm/pcm-input.js';
import { ensureWebsocket, FrameRateGate, sendBounded, type IngressCallHooks, type IngressCallInfo, type IngressCallSpec, type IngressPool } from '../common/shared.js';
import { Upsampler } from '../../media/codec/upsampler.js';
import { pcmFromPayload } from '../bridge/wire.js';
import { ACS_STOP_AUDIO, acsAudioMessage, parseAcsMessage } from './messages.js';

export interface AcsIngressOptions extends IngressCallHooks {
  pool: IngressPool;
  callSpec?: IngressCallSpec;
  /** What is sent back into the call: the mix without the ACS participants themselves (default), the full mix, or nothing. */
  outbound?: 'mix-minus' | 'mix' | 'off';
  /** Send StopAudio when a participant starts talking while the bot speaks (default true). */
  bargeIn?: boolean;
  playoutDelayMs?: number;
  maxQueueMs?: number;
  /** Frames a participant may send ahead of real time before frames are dropped. Default 100 (2 s). */
  burstFrames?: number;
  /** A call whose socket closed ends after this long unless ACS reconnects with the same call connection id. Default 5000. */
  endGraceMs?: number;
  sendHighWaterBytes?: number;
  slowConsumerMs?: number;
  /** Most ACS calls at once; a connection for a new call beyond it is closed with 1013 (try again later). Default 1000. */
  maxCalls?: number;
  /**
   * Accepted secrets: ACS must connect with `?token=<secret>` in its transport URL or
   * `Authorization: Bearer <secret>`. Without tokens (and without `authorize`) anyone who can
   * reach the endpoint can stream into a new call: set one whenever it is reachable from outside.
   */
  tokens?: string[];
  /** Checks the upgrade request further; false → close 4401. */
  authorize?: (req: { headers: IncomingHttpHeaders; url: string }) => boolean;
  /**
   * Verifies ACS's own signed JWT (the Authorization header of its WebSocket request) before
   * the upgrade; a rejection refuses it with HTTP 401 and no socket is opened. When set, it
   * replaces `tokens` as the way ACS authenticates.
   */
  verifyUpgrade?: (req: { headers: IncomingHttpHeaders; url: string }) => Promise<void>;
  logger?: Logger;
  metrics?: IngressMetrics;
}

export type AcsControlEvent =
  | { type: 'dtmf'; callId: string; tone: string; participantRawId: string | null }
  | { type: 'bargeIn'; callId: string; sourceId: string }
  | { type: 'metadata'; callId: string; sampleRate: number; subscriptionId: string | null };

export interface AcsCallInfo {
  callId: string;
  correlationId: string | null;
  sampleRate: number;
  connected: boolean;
  participants: string[];
}

interface AcsCall {
  callId: string;
  info: IngressCallInfo;
  ws: WebSocket | null;
  rate: 16_000 | 24_000;
  participants: Set<string>;
  gates: Map<string, FrameRateGate>;
  pending: Array<{ sourceId: string; rate: number; timestampMs: number; samples: Int16Array; flags: number }> | null;
  ownsPoolCall: boolean;
  /** Settles once the media call exists (true) or could not be created (false). */
  ready: Promise<boolean>;
  unsubOutbound: () => void;
  /** performance.now() of the last non-silent outbound frame sent. */
  lastSpokeAt: number;
  dropSince: number | null;
  endTimer: NodeJS.Timeout | null;
  up: Upsampler | null;
  up48: Int16Array;
  out24: Int16Array;
  ended: boolean;
}

export const ACS_CLOSE = { unauthorized: 4401, replaced: 4409, slowConsumer: 4413, shuttingDown: 1001 } as const;
export const ACS_MIXED_SOURCE = 'mixed';
const digest = (s: string): Buffer => createHash('sha256').update(s).digest();
const MAX_PENDING_FRAMES = 200;

export class AcsIngress {
  readonly metrics: IngressMetrics;
  private readonly calls = new Map<string, AcsCall>();
  private readonly listeners = new Set<(e: AcsControlEvent) => void>();
  private readonly log: Logger;
  private readonly unsubEvents: () => void;
  private readonly tokenDigests: Buffer[];
  private closed = false;

  constructor(private readonly opts: AcsIngressOptions) {
    this.metrics = opts.metrics ?? new IngressMetrics();
    this.log = opts.logger ?? silentLogger;
    this.tokenDigests = (opts.tokens ?? []).filter((t) => t.length > 0).map(digest);
    this.unsubEvents = opts.bargeIn === false ? () => {} : opts.pool.onEvent((e) => {
      if (e.type !== 'talk.start') return;
      const call = this.calls.get(e.callId);
      if (!call || !call.participants.has(e.sourceId)) return;
      if (performance.now() - call.lastSpokeAt > 400) return;
      this.stopAudio(call.callId);
      this.metrics.inc('acs', 'bargeIns');
      this.emit({ type: 'bargeIn', callId: call.callId, sourceId: e.sourceId });
    });
  }

  private tokenOk(req: { headers: IncomingHttpHeaders; url: string }): boolean {
    const auth = req.headers.authorization;
    const presented = new URL(req.url, 'http://x').searchParams.get('token') ?? (typeof auth === 'string' && auth.startsWith('Bearer ') ? auth.slice(7) : null);
    if (presented === null) return false;
    const d = digest(presented);
    let ok = false;
    for (const t of this.tokenDigests) ok = timingSafeEqual(d, t) || ok;
    return ok;
  }

  onControl(listener: (e: AcsControlEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(e: AcsControlEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch (err) {
        this.log.warn({ err }, 'acs listener threw');
      }
    }
  }

  /** Tells ACS to drop the audio it buffered from us (barge-in). */
  stopAudio(callId: string): void {
    const call = this.calls.get(callId);
    if (!call) throw new MediabotError('MEDIABOT_CALL_NOT_FOUND', `no ACS call ${callId}`);
    if (call.ws && call.ws.readyState === 1) call.ws.send(ACS_STOP_AUDIO);
    call.lastSpokeAt = -Infinity;
    this.metrics.inc('acs', 'stopAudio');
  }

  listCalls(): AcsCallInfo[] {
    return [...this.calls.values()].map((c) => ({ callId: c.callId, correlationId: c.info.correlationId, sampleRate: c.rate, connected: c.ws !== null, participants: [...c.participants] }));
  }

  stats(): { calls: number; counters: Record<string, number> } {
    return { calls: this.calls.size, counters: this.metrics.snapshot().acs };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.unsubEvents();
    await Promise.all([...this.calls.values()].map((c) => this.endCall(c, 'mediabot shutting down')));
  }

  /** Runs `verifyUpgrade` on an upgrade request: null when it passes (or none is set), else the typed error. */
  async checkUpgrade(req: { headers: IncomingHttpHeaders; url: string }): Promise<MediabotError | null> {
    if (!this.opts.verifyUpgrade) return null;
    try {
      await this.opts.verifyUpgrade(req);
      return null;
    } catch (err) {
      this.metrics.fault('acs', 'MEDIABOT_INGRESS_UNAUTHORIZED');
      const reason = err instanceof Error ? err.message : String(err);
      this.log.info({ reason }, 'acs connection refused: invalid ACS token');
      return new MediabotError('MEDIABOT_INGRESS_UNAUTHORIZED', `ACS token rejected: ${reason}`);
    }
  }

  /** Takes one ACS media streaming WebSocket connection. */
  handleConnection(ws: WebSocket, req: { headers: IncomingHttpHeaders; url: string }): void {
    if (this.closed) {
      ws.close(ACS_CLOSE.shuttingDown, 'shutting down');
      return;
    }
    const tokenRequired = this.tokenDigests.length > 0 && this.opts.verifyUpgrade === undefined;
    if ((tokenRequired && !this.tokenOk(req)) || (this.opts.authorize && !this.opts.authorize(req))) {
      this.metrics.fault('acs', 'MEDIABOT_INGRESS_UNAUTHORIZED');
      ws.close(ACS_CLOSE.unauthorized, 'unauthorized');
      return;
    }
    this.metrics.inc('acs', 'connections');
    const header = (name: string): string | null => {
      const v = req.headers[name];
      return typeof v === 'string' && v.length > 0 ? v : null;
    };
    const fromQuery = new URL(req.url, 'http://x').searchParams.get('callId');
    const callId = header('x-ms-call-connection-id') ?? fromQuery ?? `acs-${randomUUID()}`;
    let call = this.calls.get(callId);
    if (call) {
      // ACS reconnected for the same call: the new socket takes over.
      if (call.endTimer) clearTimeout(call.endTimer);
      call.endTimer = null;
      if (call.ws && call.ws !== ws) call.ws.close(ACS_CLOSE.replaced, 'replaced by a new connection');
      call.ws = ws;
      this.metrics.inc('acs', 'reconnects');
    } else {
      if (this.calls.size >= (this.opts.maxCalls ?? 1000)) {
        this.metrics.inc('acs', 'refusedOverCapacity');
        ws.close(1013, 'too many calls');
        return;
      }
      try {
        call = this.startCall(callId, header('x-ms-call-correlation-id'), ws);
      } catch (err) {
        this.metrics.fault('acs', isMediabotError(err) ? err.code : 'MEDIABOT_INTERNAL');
        this.log.error({ err, callId }, 'acs could not start the call');
        ws.close(1011, 'media unavailable');
        return;
      }
    }
    const c = call;
    ws.on('message', (data: RawData, isBinary: boolean) => {
      try {
        if (isBinary) throw new MediabotError('MEDIABOT_INGRESS_BAD_MESSAGE', 'ACS media streaming sends JSON text frames, not binary');
        this.onMessage(c, toText(data));
      } catch (err) {
        const e = isMediabotError(err) ? err : new MediabotError('MEDIABOT_INTERNAL', (err as Error).message);
        this.metrics.fault('acs', e.code);
        this.log.debug({ callId: c.callId, code: e.code, message: e.message }, 'acs input rejected');
      }
    });
    ws.on('close', () => {
      if (c.ws !== ws) return;
      c.ws = null;
      this.metrics.inc('acs', 'disconnects');
      c.endTimer = setTimeout(() => void this.endCall(c, 'the ACS media stream closed'), this.opts.endGraceMs ?? 5000);
    });
    ws.on('error', (err) => this.log.warn({ err, callId }, 'acs socket error'));
  }

  private startCall(callId: string, correlationId: string | null, ws: WebSocket): AcsCall {
    const pool = this.opts.pool;
    const ownsPoolCall = !pool.hasCall(callId);
    // Asked first: if it throws, nothing has been registered yet.
    const base = ownsPoolCall ? (this.opts.callSpec?.(callId) ?? {}) : {};
    const call: AcsCall = {
      callId,
      info: { callId, adapter: 'acs', correlationId, startedAt: new Date().toISOString() },
      ws,
      rate: 16_000,
      participants: new Set(),
      gates: new Map(),
      pending: ownsPoolCall ? [] : null,
      ownsPoolCall,
      ready: Promise.resolve(true),
      unsubOutbound: () => {},
      lastSpokeAt: -Infinity,
      dropSince: null,
      endTimer: null,
      up: null,
      up48: new Int16Array(960),
      out24: new Int16Array(480),
      ended: false,
    };
    this.calls.set(callId, call);
    this.metrics.inc('acs', 'callsStarted');
    const outbound = this.opts.outbound ?? 'mix-minus';
    const started = (): boolean => {
      this.opts.onCallStarted?.(call.info);
      if (call.ended) return true;
      const pending = call.pending;
      call.pending = null;
      if (pending) for (const f of pending) this.push(call, f);
      if (outbound !== 'off') call.unsubOutbound = pool.onOutbound(callId, (f) => this.sendOutbound(call, f.samples));
      return true;
    };
    if (!ownsPoolCall) {
      started();
      return call;
    }
    const pcm = {
      outbound,
      ...(this.opts.playoutDelayMs !== undefined ? { playoutDelayMs: this.opts.playoutDelayMs } : {}),
      ...(this.opts.maxQueueMs !== undefined ? { maxQueueMs: this.opts.maxQueueMs } : {}),
    };
    call.ready = pool.createCall({ ...base, callId, pcm: { ...pcm, ...base.pcm } }).then(started, (err: unknown) => {
      this.log.error({ err, callId }, 'acs could not create the media call');
      this.calls.delete(callId);
      call.ended = true;
      call.ws?.close(1011, 'media unavailable');
      return false;
    });
    return call;
  }

  private onMessage(call: AcsCall, text: string): void {
    this.metrics.inc('acs', 'messages');
    const msg = parseAcsMessage(text);
    switch (msg.kind) {
      case 'AudioMetadata':
        call.rate = msg.sampleRate;
        this.emit({ type: 'metadata', callId: call.callId, sampleRate: msg.sampleRate, subscriptionId: msg.subscriptionId });
        return;
      case 'AudioData': {
        const frameBytes = (call.rate / 50) * 2;
        const bytes = msg.data.length;
        if (bytes === 0 && msg.silent) return; // a silent chunk without samples: the timeline fills it
        if (bytes === 0 || bytes % frameBytes !== 0) {
          throw new MediabotError('MEDIABOT_INGRESS_BAD_FRAME', `ACS audio at ${call.rate} Hz must be whole 20 ms frames (${frameBytes} bytes each), got ${bytes}`);
        }
        const sourceId = msg.participantRawId ?? ACS_MIXED_SOURCE;
        let gate = call.gates.get(sourceId);
        if (!gate) {
          gate = new FrameRateGate(this.opts.burstFrames ?? 100);
          call.gates.set(sourceId, gate);
        }
        const samplesPerFrame = frameBytes / 2;
        for (let off = 0, k = 0; off < bytes; off += frameBytes, k++) {
          this.metrics.inc('acs', 'frames');
          if (!gate.admit()) {
            this.metrics.fault('acs', 'MEDIABOT_INGRESS_RATE_EXCEEDED');
            continue;
          }
          const samples = pcmFromPayload(msg.data, off, frameBytes);
          this.push(call, { sourceId, rate: call.rate, timestampMs: msg.timestampMs + k * 20, samples, flags: msg.silent ? PCM_FLAG_SILENCE : 0 });
        }
        if (sourceId !== ACS_MIXED_SOURCE) call.participants.add(sourceId);
        return;
      }
      case 'DtmfData':
        this.metrics.inc('acs', 'dtmf');
        this.emit({ type: 'dtmf', callId: call.callId, tone: msg.tone, participantRawId: msg.participantRawId });
        return;
      case 'Other':
        this.metrics.inc('acs', 'ignoredMessages');
        return;
    }
  }

  private push(call: AcsCall, f: { sourceId: string; rate: number; timestampMs: number; samples: Int16Array; flags: number }): void {
    if (call.pending) {
      if (call.pending.length < MAX_PENDING_FRAMES) call.pending.push(f);
      else this.metrics.inc('acs', 'framesDroppedBeforeStart');
      return;
    }
    if (call.ended) return;
    this.opts.pool.pushPcm(call.callId, f);
    this.metrics.inc('acs', 'framesAccepted');
  }

  private sendOutbound(call: AcsCall, samples16: Int16Array): void {
    const ws = call.ws;
    if (!ws) return;
    let pcm = samples16;
    if (call.rate === 24_000) {
      // 16 → 48 kHz (band-limited to 7 kHz), then every other sample: 24 kHz without aliasing.
      call.up ??= new Upsampler(16_000, 320);
      call.up.process(samples16, call.up48);
      for (let i = 0; i < 480; i++) call.out24[i] = call.up48[2 * i]!;
      pcm = call.out24;
    }
    if (sendBounded(ws, acsAudioMessage(pcm), this.opts.sendHighWaterBytes ?? 256 * 1024)) {
      call.dropSince = null;
      call.lastSpokeAt = performance.now();
      this.metrics.inc('acs', 'outboundFrames');
      return;
    }
    if (ws.readyState !== 1) return;
    this.metrics.inc('acs', 'outboundDropped');
    const now = performance.now();
    call.dropSince ??= now;
    if (now - call.dropSince > (this.opts.slowConsumerMs ?? 5000)) {
      this.metrics.fault('acs', 'MEDIABOT_INGRESS_SLOW_CONSUMER');
      this.log.warn({ callId: call.callId }, 'ACS peer stopped reading; disconnecting');
      ws.terminate();
    }
  }

  private async endCall(call: AcsCall, reason: string): Promise<void> {
    if (call.ended) return;
    call.ended = true;
    if (call.endTimer) clearTimeout(call.endTimer);
    call.unsubOutbound();
    this.calls.delete(call.callId);
    call.ws?.close(ACS_CLOSE.shuttingDown, reason.slice(0, 120));
    this.metrics.inc('acs', 'callsEnded');
    if (!(await call.ready)) return;
    if (call.ownsPoolCall && this.opts.pool.hasCall(call.callId)) {
      await this.opts.pool.endCall(call.callId).catch((err: unknown) => this.log.warn({ err, callId: call.callId }, 'ending the media call failed'));
    }
    this.opts.onCallEnded?.({ ...call.info, reason });
  }
}

function toText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

/** Mounts `GET /media/acs` (WebSocket). Options: `{ ingress }`. */
export const acsIngressPlugin: FastifyPluginAsync<{ ingress: AcsIngress; path?: string }> = async (app, opts) => {
  await ensureWebsocket(app);
  const ingress = opts.ingress;
  app.get(
    opts.path ?? '/media/acs',
    {
      websocket: true,
      // Before the upgrade: a request without a valid ACS token never gets a socket.
      preValidation: async (req, reply) => {
        const err = await ingress.checkUpgrade({ headers: req.headers, url: req.url });
        if (err !== null) await reply.code(401).header('www-authenticate', 'Bearer').send({ error: { code: err.code, message: err.message } });
      },
    },
    (socket, req) => ingress.handleConnection(socket, { headers: req.headers, url: req.url }),
  );
};
