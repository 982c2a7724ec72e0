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
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyPluginAsync } from 'fastify';
import type { RawData, WebSocket } from 'ws';
import { isMediabotError, MediabotError } from '../../errors.js';
import { Upsampler } from '../../media/codec/upsampler.js';
import { PCM_FLAG_SILENCE } from '../../media/session/pcm/pcm-input.js';
import { Emitter } from '../../util/emitter.js';
import { BACKPRESSURE_DEFAULTS, OutboundGuard, StreamGates } from '../common/backpressure.js';
import { closeReason, INGRESS_CLOSE } from '../common/close-codes.js';
import { IngressCallMedia, ingressContext, maxCalls, type IngressContext } from '../common/lifecycle.js';
import { IngressMetrics } from '../common/metrics.js';
import { isExternalId } from '../common/ids.js';
import { applyWsLimit, WS_LIMITS } from '../../util/ws-limits.js';
import { ensureWebsocket, toBuffer, type IngressAdapterOptions, type PcmFrame } from '../common/shared.js';
import { presentedToken, TokenSet } from '../common/tokens.js';
import { pcmFromPayload } from '../bridge/wire.js';
import { ACS_STOP_AUDIO, acsAudioMessage, parseAcsMessage } from './messages.js';

export interface AcsIngressOptions extends IngressAdapterOptions {
  /** Send StopAudio when a participant starts talking while the bot speaks (default true). */
  bargeIn?: boolean;
  /** A call whose socket closed ends after this long unless ACS reconnects with the same call connection id. Default 5000. */
  endGraceMs?: number;
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

/** One ACS call: its media, its (current) socket, and the 16 → 24 kHz path of its outbound audio. */
interface AcsCall {
  media: IngressCallMedia;
  ws: WebSocket | null;
  rate: 16_000 | 24_000;
  participants: Set<string>;
  gates: StreamGates;
  outboundGuard: OutboundGuard;
  /** performance.now() of the last non-silent outbound frame sent. */
  lastSpokeAt: number;
  endTimer: NodeJS.Timeout | null;
  up: Upsampler | null;
  up48: Int16Array;
  out24: Int16Array;
}

export const ACS_MIXED_SOURCE = 'mixed';

export class AcsIngress {
  readonly metrics: IngressMetrics;
  private readonly ctx: IngressContext;
  private readonly calls = new Map<string, AcsCall>();
  private readonly events: Emitter<AcsControlEvent>;
  private readonly unsubEvents: () => void;
  private readonly tokens: TokenSet;
  private closed = false;

  constructor(private readonly opts: AcsIngressOptions) {
    this.metrics = opts.metrics ?? new IngressMetrics();
    this.ctx = ingressContext('acs', opts, this.metrics);
    this.events = new Emitter((err) => this.ctx.log.warn({ err }, 'acs listener threw'));
    this.tokens = new TokenSet(opts.tokens ?? []);
    this.unsubEvents = opts.bargeIn === false ? () => {} : opts.pool.onEvent((e) => {
      if (e.type !== 'talk.start') return;
      const call = this.calls.get(e.callId);
      if (!call || !call.participants.has(e.sourceId)) return;
      if (performance.now() - call.lastSpokeAt > 400) return;
      this.stopAudio(e.callId);
      this.metrics.inc('acs', 'bargeIns');
      this.events.emit({ type: 'bargeIn', callId: e.callId, sourceId: e.sourceId });
    });
  }

  onControl(listener: (e: AcsControlEvent) => void): () => void {
    return this.events.on(listener);
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
    return [...this.calls.values()].map((c) => ({ callId: c.media.callId, correlationId: c.media.info.correlationId, sampleRate: c.rate, connected: c.ws !== null, participants: [...c.participants] }));
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
      this.ctx.log.info({ reason }, 'acs connection refused: invalid ACS token');
      return new MediabotError('MEDIABOT_INGRESS_UNAUTHORIZED', `ACS token rejected: ${reason}`);
    }
  }

  private authorized(req: { headers: IncomingHttpHeaders; url: string }): boolean {
    const tokenRequired = !this.tokens.empty && this.opts.verifyUpgrade === undefined;
    if (tokenRequired && !this.tokens.matches(presentedToken(req))) return false;
    return !this.opts.authorize || this.opts.authorize(req);
  }

  /** Takes one ACS media streaming WebSocket connection. */
  handleConnection(ws: WebSocket, req: { headers: IncomingHttpHeaders; url: string }): void {
    if (this.closed) {
      ws.close(INGRESS_CLOSE.shuttingDown, 'shutting down');
      return;
    }
    if (!this.authorized(req)) {
      this.metrics.fault('acs', 'MEDIABOT_INGRESS_UNAUTHORIZED');
      ws.close(INGRESS_CLOSE.unauthorized, 'unauthorized');
      return;
    }
    this.metrics.inc('acs', 'connections');
    const header = (name: string): string | null => {
      const v = req.headers[name];
      return typeof v === 'string' && v.length > 0 ? v : null;
    };
    const fromQuery = new URL(req.url, 'http://x').searchParams.get('callId');
    const callId = header('x-ms-call-connection-id') ?? fromQuery ?? `acs-${randomUUID()}`;
    if (!isExternalId(callId)) {
      this.metrics.fault('acs', 'MEDIABOT_INGRESS_BAD_MESSAGE');
      ws.close(INGRESS_CLOSE.invalidId, 'invalid call id');
      return;
    }
    const call = this.calls.get(callId) ?? this.newCall(callId, header('x-ms-call-correlation-id'), ws);
    if (!call) return;
    if (call.ws !== ws) {
      // ACS reconnected for the same call: the new socket takes over.
      if (call.endTimer) clearTimeout(call.endTimer);
      call.endTimer = null;
      call.ws?.close(INGRESS_CLOSE.replaced, 'replaced by a new connection');
      call.ws = ws;
      this.metrics.inc('acs', 'reconnects');
    }
    ws.on('message', (data: RawData, isBinary: boolean) => {
      try {
        if (isBinary) throw new MediabotError('MEDIABOT_INGRESS_BAD_MESSAGE', 'ACS media streaming sends JSON text frames, not binary');
        this.onMessage(call, toBuffer(data).toString('utf8'));
      } catch (err) {
        const e = isMediabotError(err) ? err : new MediabotError('MEDIABOT_INTERNAL', (err as Error).message);
        this.metrics.fault('acs', e.code);
        this.ctx.log.debug({ callId, code: e.code, message: e.message }, 'acs input rejected');
      }
    });
    ws.on('close', () => {
      if (call.ws !== ws) return;
      call.ws = null;
      this.metrics.inc('acs', 'disconnects');
      call.endTimer = setTimeout(() => void this.endCall(call, 'the ACS media stream closed'), this.opts.endGraceMs ?? 5000);
    });
    ws.on('error', (err) => this.ctx.log.warn({ err, callId }, 'acs socket error'));
  }

  /** A new call for a first connection; null (and the socket closed) when it cannot start. */
  private newCall(callId: string, correlationId: string | null, ws: WebSocket): AcsCall | null {
    if (this.calls.size >= maxCalls(this.ctx)) {
      this.metrics.inc('acs', 'refusedOverCapacity');
      ws.close(INGRESS_CLOSE.tryAgainLater, 'too many calls');
      return null;
    }
    let call: AcsCall;
    try {
      const media = new IngressCallMedia(this.ctx, { callId, adapter: 'acs', correlationId, startedAt: new Date().toISOString() }, {
        outbound: (_t, samples) => this.sendOutbound(call, samples),
        failed: () => {
          this.calls.delete(callId);
          call.ws?.close(INGRESS_CLOSE.mediaUnavailable, 'media unavailable');
        },
      });
      call = {
        media,
        ws,
        rate: 16_000,
        participants: new Set(),
        gates: new StreamGates(this.opts.burstFrames ?? BACKPRESSURE_DEFAULTS.burstFrames),
        outboundGuard: new OutboundGuard({
          adapter: 'acs',
          metrics: this.metrics,
          log: this.ctx.log,
          sendHighWaterBytes: this.opts.sendHighWaterBytes ?? BACKPRESSURE_DEFAULTS.sendHighWaterBytes,
          slowConsumerMs: this.opts.slowConsumerMs ?? BACKPRESSURE_DEFAULTS.slowConsumerMs,
          context: { callId },
        }),
        lastSpokeAt: -Infinity,
        endTimer: null,
        up: null,
        up48: new Int16Array(960),
        out24: new Int16Array(480),
      };
    } catch (err) {
      this.metrics.fault('acs', isMediabotError(err) ? err.code : 'MEDIABOT_INTERNAL');
      this.ctx.log.error({ err, callId }, 'acs could not start the call');
      ws.close(INGRESS_CLOSE.mediaUnavailable, 'media unavailable');
      return null;
    }
    this.calls.set(callId, call);
    call.media.start();
    return call;
  }

  private onMessage(call: AcsCall, text: string): void {
    this.metrics.inc('acs', 'messages');
    const callId = call.media.callId;
    const msg = parseAcsMessage(text);
    switch (msg.kind) {
      case 'AudioMetadata':
        call.rate = msg.sampleRate;
        this.events.emit({ type: 'metadata', callId, sampleRate: msg.sampleRate, subscriptionId: msg.subscriptionId });
        return;
      case 'AudioData': {
        const frameBytes = (call.rate / 50) * 2;
        const bytes = msg.data.length;
        if (bytes === 0 && msg.silent) return; // a silent chunk without samples: the timeline fills it
        if (bytes === 0 || bytes % frameBytes !== 0) {
          throw new MediabotError('MEDIABOT_INGRESS_BAD_FRAME', `ACS audio at ${call.rate} Hz must be whole 20 ms frames (${frameBytes} bytes each), got ${bytes}`);
        }
        const sourceId = msg.participantRawId ?? ACS_MIXED_SOURCE;
        for (let off = 0, k = 0; off < bytes; off += frameBytes, k++) {
          this.metrics.inc('acs', 'frames');
          if (!call.gates.admit(sourceId)) {
            this.metrics.fault('acs', 'MEDIABOT_INGRESS_RATE_EXCEEDED');
            continue;
          }
          const frame: PcmFrame = { sourceId, rate: call.rate, timestampMs: msg.timestampMs + k * 20, samples: pcmFromPayload(msg.data, off, frameBytes), flags: msg.silent ? PCM_FLAG_SILENCE : 0 };
          call.media.push(frame);
        }
        if (sourceId !== ACS_MIXED_SOURCE) call.participants.add(sourceId);
        return;
      }
      case 'DtmfData':
        this.metrics.inc('acs', 'dtmf');
        this.events.emit({ type: 'dtmf', callId, tone: msg.tone, participantRawId: msg.participantRawId });
        return;
      case 'Other':
        this.metrics.inc('acs', 'ignoredMessages');
        return;
    }
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
    if (call.outboundGuard.send(ws, acsAudioMessage(pcm))) call.lastSpokeAt = performance.now();
  }

  private async endCall(call: AcsCall, reason: string): Promise<void> {
    if (call.media.ended) return;
    if (call.endTimer) clearTimeout(call.endTimer);
    this.calls.delete(call.media.callId);
    call.ws?.close(INGRESS_CLOSE.shuttingDown, closeReason(reason));
    await call.media.end(reason);
  }
}

/** Mounts `GET /media/acs` (WebSocket). Options: `{ ingress }`. */
export const acsIngressPlugin: FastifyPluginAsync<{ ingress: AcsIngress; path?: string }> = async (app, opts) => {
  const path = opts.path ?? '/media/acs';
  const limit = WS_LIMITS.routes['/media/acs']!;
  const limited = await ensureWebsocket(app, { path, limit });
  const ingress = opts.ingress;
  app.get(
    path,
    {
      websocket: true,
      // Before the upgrade: a request without a valid ACS token never gets a socket.
      preValidation: async (req, reply) => {
        const err = await ingress.checkUpgrade({ headers: req.headers, url: req.url });
        if (err !== null) await reply.code(401).header('www-authenticate', 'Bearer').send({ error: { code: err.code, message: err.message } });
      },
    },
    (socket, req) => {
      if (!limited) applyWsLimit(socket, limit);
      ingress.handleConnection(socket, { headers: req.headers, url: req.url });
    },
  );
};
