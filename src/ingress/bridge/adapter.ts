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
 *
 * This file wires the parts: connection.ts (heartbeat, sending, close codes), session.ts
 * (sessions and resume), control.ts (control messages), media.ts (frames), provider.ts
 * (createMediaSession requests); the call lifecycle is ../common/lifecycle.ts.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { RawData, WebSocket } from 'ws';
import { MediabotError } from '../../errors.js';
import { Emitter } from '../../util/emitter.js';
import { BACKPRESSURE_DEFAULTS } from '../common/backpressure.js';
import { INGRESS_CLOSE } from '../common/close-codes.js';
import { IngressCallMedia, ingressContext, maxCalls, type IngressContext } from '../common/lifecycle.js';
import { IngressMetrics } from '../common/metrics.js';
import { applyWsLimit, WS_LIMITS } from '../../util/ws-limits.js';
import { ensureWebsocket, toBuffer, type IngressAdapterOptions } from '../common/shared.js';
import { TokenSet } from '../common/tokens.js';
import { BridgeCall, type BridgeCallInfo, type BridgeControlEvent, type BridgeSourceMapEntry } from './call.js';
import { BridgeConnection } from './connection.js';
import { onControlText, type BridgeControlHost } from './control.js';
import { BridgeMediaFrames } from './media.js';
import { PendingCreates } from './provider.js';
import { BridgeSessions, type BridgeSession } from './session.js';

export { BridgeMediaSessionProvider } from './provider.js';
export { MIXED_SOURCE, type BridgeCallInfo, type BridgeControlEvent, type BridgeSourceMapEntry } from './call.js';

export interface BridgeIngressOptions extends IngressAdapterOptions {
  /** Tokens a sidecar may present in hello (MEDIABOT_API_TOKEN and/or a dedicated bridge token). At least one. */
  tokens: string[];
  /** Heartbeat period (both directions). Default 5000. A peer silent for `missedHeartbeats` periods is dead. */
  heartbeatMs?: number;
  missedHeartbeats?: number;
  /** How long a dropped session's calls wait for the sidecar to resume. Default 30000. */
  resumeWindowMs?: number;
  /** How long createMediaSession waits for the sidecar. Default 10000. */
  createTimeoutMs?: number;
}

export class BridgeIngress {
  readonly metrics: IngressMetrics;
  private readonly ctx: IngressContext;
  private readonly host: BridgeControlHost;
  private readonly sessions: BridgeSessions;
  private readonly creates: PendingCreates;
  private readonly frames: BridgeMediaFrames;
  private readonly connections = new Set<BridgeConnection>();
  private readonly events: Emitter<BridgeControlEvent>;
  private closed = false;

  constructor(private readonly options: BridgeIngressOptions) {
    const tokens = new TokenSet(options.tokens);
    if (tokens.empty) throw new MediabotError('MEDIABOT_CONFIG_INVALID', 'the media bridge needs at least one token (MEDIABOT_API_TOKEN or a bridge token)');
    this.metrics = options.metrics ?? new IngressMetrics();
    this.ctx = ingressContext('bridge', options, this.metrics);
    this.events = new Emitter((err) => this.ctx.log.warn({ err }, 'bridge control listener threw'));
    const resumeWindowMs = options.resumeWindowMs ?? 30_000;
    this.sessions = new BridgeSessions(this.metrics, resumeWindowMs);
    this.creates = new PendingCreates(this.metrics, options.createTimeoutMs ?? 10_000);
    this.frames = new BridgeMediaFrames(this.metrics);
    this.host = {
      metrics: this.metrics,
      log: this.ctx.log,
      tokens,
      sessions: this.sessions,
      creates: this.creates,
      events: this.events,
      heartbeatMs: options.heartbeatMs ?? 5000,
      resumeWindowMs,
      drainMs: (options.playoutDelayMs ?? 60) + 100,
      startCall: (s, callId, callIndex) => this.startCall(s, callId, callIndex),
      endCall: (call, reason, drainMs) => this.endCall(call, reason, drainMs),
    };
  }

  onControl(listener: (e: BridgeControlEvent) => void): () => void {
    return this.events.on(listener);
  }

  // ---------------------------------------------------------------- public API

  /** MediaSessionProvider: asks a connected sidecar for a media session; resolves with its blob. */
  async createMediaSession(callId: string): Promise<{ blob: string }> {
    if (typeof callId !== 'string' || callId.length === 0) throw new MediabotError('MEDIABOT_BAD_REQUEST', 'createMediaSession needs a call id');
    const session = this.sessions.leastLoaded();
    if (!session) {
      this.metrics.fault('bridge', 'MEDIABOT_INGRESS_NO_SIDECAR');
      throw new MediabotError('MEDIABOT_INGRESS_NO_SIDECAR', 'no media bridge sidecar is connected');
    }
    return this.creates.request(session, callId);
  }

  /** Sends DTMF tones into a call through its sidecar. */
  sendDtmf(callId: string, tones: string): void {
    if (!/^[0-9A-D*#]{1,64}$/.test(tones)) throw new MediabotError('MEDIABOT_BAD_REQUEST', `DTMF tones must be 1-64 of 0-9 A-D * # (got ${JSON.stringify(tones)})`);
    const call = this.findCall(callId);
    if (!call.session.conn) throw new MediabotError('MEDIABOT_INGRESS_NO_SIDECAR', `the sidecar of call ${callId} is disconnected`);
    call.session.conn.sendControl({ type: 'sendDtmf', callId, tones });
  }

  /** Ends a call's media: tells the sidecar, ends the media call. */
  async endMediaSession(callId: string, reason = 'ended by the bot'): Promise<void> {
    const call = this.findCall(callId);
    call.session.conn?.sendControl({ type: 'endMediaSession', callId, reason });
    await this.endCall(call, reason);
  }

  calls(): BridgeCallInfo[] {
    return [...this.sessions.allCalls()].map((c) => c.info());
  }

  sourceMap(callId: string): BridgeSourceMapEntry[] {
    return [...this.findCall(callId).sourceMap.values()];
  }

  stats(): { sidecars: number; connected: number; calls: number; counters: Record<string, number> } {
    return { ...this.sessions.counts(), counters: this.metrics.snapshot().bridge };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.creates.close();
    for (const c of this.connections) c.ws.close(INGRESS_CLOSE.shuttingDown, 'shutting down');
    await Promise.all(this.sessions.clear().map((c) => this.endCall(c, 'mediabot shutting down')));
  }

  // ---------------------------------------------------------------- connections

  /** Takes one WebSocket connection on /media/bridge. */
  handleConnection(ws: WebSocket): void {
    if (this.closed) {
      ws.close(INGRESS_CLOSE.shuttingDown, 'shutting down');
      return;
    }
    const conn = new BridgeConnection(ws, {
      heartbeatMs: this.host.heartbeatMs,
      missedHeartbeats: this.options.missedHeartbeats ?? 3,
      sendHighWaterBytes: this.options.sendHighWaterBytes ?? BACKPRESSURE_DEFAULTS.sendHighWaterBytes,
      slowConsumerMs: this.options.slowConsumerMs ?? BACKPRESSURE_DEFAULTS.slowConsumerMs,
      metrics: this.metrics,
      log: this.ctx.log,
    });
    this.connections.add(conn);
    this.metrics.inc('bridge', 'connections');
    ws.on('message', (data: RawData, isBinary: boolean) => {
      conn.touch();
      try {
        if (!isBinary) onControlText(this.host, conn, toBuffer(data).toString('utf8'));
        else if (conn.session) this.frames.receive(conn, toBuffer(data));
        else conn.closeWith(INGRESS_CLOSE.protocolError, new MediabotError('MEDIABOT_INGRESS_BAD_MESSAGE', 'media frame before hello'));
      } catch (err) {
        conn.fault(err);
      }
    });
    ws.on('close', () => this.onClose(conn));
    ws.on('error', (err) => this.ctx.log.warn({ err }, 'bridge socket error'));
  }

  private onClose(conn: BridgeConnection): void {
    conn.stop();
    this.connections.delete(conn);
    const s = conn.session;
    if (!s || s.conn !== conn) return;
    s.conn = null;
    this.metrics.inc('bridge', 'disconnects');
    this.creates.dropSession(s);
    this.events.emit({ type: 'sidecar', sidecarId: s.sidecarId, state: 'disconnected' });
    const waits = this.sessions.detach(s, !this.closed, () => {
      this.events.emit({ type: 'sidecar', sidecarId: s.sidecarId, state: 'expired' });
      for (const c of [...s.calls.values()]) void this.endCall(c, 'the media bridge connection was lost and not resumed');
    });
    if (waits) this.ctx.log.warn({ sidecarId: s.sidecarId, calls: s.calls.size, windowMs: this.host.resumeWindowMs }, 'bridge sidecar disconnected mid-call; waiting for resume');
  }

  // ---------------------------------------------------------------- call lifecycle

  private startCall(s: BridgeSession, callId: string, callIndex: number): void {
    const existing = s.calls.get(callId);
    if (existing) {
      if (existing.callIndex !== callIndex) throw new MediabotError('MEDIABOT_INGRESS_BAD_MESSAGE', `call ${callId} already runs with callIndex ${existing.callIndex}`);
      return; // repeated after a resume: nothing to do
    }
    const taken = s.byIndex.get(callIndex);
    if (taken) throw new MediabotError('MEDIABOT_INGRESS_BAD_MESSAGE', `callIndex ${callIndex} is already used by call ${taken.callId}`);
    if (this.sessions.counts().calls >= maxCalls(this.ctx)) throw new MediabotError('MEDIABOT_INGRESS_SESSION_FAILED', `mediabot already runs ${maxCalls(this.ctx)} bridge calls`);
    const call = new BridgeCall(s, callIndex, this.options.burstFrames ?? BACKPRESSURE_DEFAULTS.burstFrames);
    // Built first: if the call spec throws, nothing has been registered yet.
    call.media = new IngressCallMedia(this.ctx, { callId, adapter: 'bridge', correlationId: s.sidecarId, startedAt: new Date().toISOString() }, {
      started: () => this.events.emit({ type: 'sessionStarted', callId, callIndex, sidecarId: s.sidecarId }),
      outbound: (mediaTimeMs, samples) => this.frames.send(call, mediaTimeMs, samples),
      failed: (err) => {
        this.forget(call);
        s.conn?.sendError(new MediabotError('MEDIABOT_INGRESS_SESSION_FAILED', `mediabot could not start media for ${callId}: ${(err as Error).message}`), callId);
      },
    });
    s.calls.set(callId, call);
    s.byIndex.set(callIndex, call);
    call.media.start();
  }

  private forget(call: BridgeCall): void {
    call.session.calls.delete(call.callId);
    call.session.byIndex.delete(call.callIndex);
  }

  private async endCall(call: BridgeCall, reason: string, drainMs = 0): Promise<void> {
    if (call.media.ended) return;
    this.forget(call);
    await call.media.end(reason, async () => {
      this.events.emit({ type: 'sessionEnded', callId: call.callId, reason });
      if (drainMs > 0) await new Promise((r) => setTimeout(r, drainMs));
    });
  }

  private findCall(callId: string): BridgeCall {
    const c = this.sessions.findCall(callId);
    if (!c) throw new MediabotError('MEDIABOT_CALL_NOT_FOUND', `no bridge call ${callId}`);
    return c;
  }
}

/** Mounts `GET /media/bridge` (WebSocket). Options: `{ ingress }`. */
export const bridgeIngressPlugin: FastifyPluginAsync<{ ingress: BridgeIngress; path?: string }> = async (app, opts) => {
  const path = opts.path ?? '/media/bridge';
  const limit = WS_LIMITS.routes['/media/bridge']!;
  const limited = await ensureWebsocket(app, { path, limit });
  app.get(path, { websocket: true }, (socket) => {
    if (!limited) applyWsLimit(socket, limit);
    opts.ingress.handleConnection(socket);
  });
};
