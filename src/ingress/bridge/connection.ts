/**
 * One WebSocket connection on /media/bridge: its heartbeat, its control messages out (with the
 * error rate limit), its bounded outbound media, and closing it with the protocol's codes.
 */
import type { WebSocket } from 'ws';
import { isMediabotError, MediabotError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { OutboundGuard } from '../common/backpressure.js';
import { closeReason, INGRESS_CLOSE, type IngressCloseCode } from '../common/close-codes.js';
import type { IngressMetrics } from '../common/metrics.js';
import type { BotMessage } from './messages.js';
import type { BridgeSession } from './session.js';

export interface BridgeConnectionOptions {
  heartbeatMs: number;
  missedHeartbeats: number;
  sendHighWaterBytes: number;
  slowConsumerMs: number;
  metrics: IngressMetrics;
  log: Logger;
}

export class BridgeConnection {
  /** The session this connection carries, once its hello was accepted. */
  session: BridgeSession | null = null;
  readonly outbound: OutboundGuard;
  private lastSeen = performance.now();
  private readonly timer: NodeJS.Timeout;
  /** Last time an error message of each code was sent (at most one per second per code). */
  private readonly errorSentAt = new Map<string, number>();
  private readonly logContext: Record<string, unknown> = {};

  constructor(
    readonly ws: WebSocket,
    private readonly o: BridgeConnectionOptions,
  ) {
    this.timer = setInterval(() => this.heartbeat(), o.heartbeatMs);
    this.outbound = new OutboundGuard({ adapter: 'bridge', metrics: o.metrics, log: o.log, sendHighWaterBytes: o.sendHighWaterBytes, slowConsumerMs: o.slowConsumerMs, context: this.logContext });
  }

  /** Binds the connection to its session (after hello). */
  attach(session: BridgeSession): void {
    this.session = session;
    this.logContext['sidecarId'] = session.sidecarId;
  }

  /** Any message is a sign of life. */
  touch(): void {
    this.lastSeen = performance.now();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private heartbeat(): void {
    const silentMs = performance.now() - this.lastSeen;
    if (silentMs > this.o.heartbeatMs * this.o.missedHeartbeats) {
      this.o.metrics.fault('bridge', 'MEDIABOT_INGRESS_HEARTBEAT');
      this.o.log.warn({ sidecarId: this.session?.sidecarId, silentMs }, 'bridge peer missed its heartbeats; disconnecting');
      this.ws.close(INGRESS_CLOSE.heartbeatTimeout, 'heartbeat timeout');
      // A dead TCP peer never completes the closing handshake.
      setTimeout(() => this.ws.terminate(), 1000).unref();
      return;
    }
    this.sendControl({ type: 'ping', ts: Date.now() });
  }

  sendControl(msg: BotMessage): void {
    if (this.ws.readyState !== 1) return;
    // Control messages are small and rare; only a peer far behind (4× the media high-water) loses them.
    if (this.ws.bufferedAmount > this.o.sendHighWaterBytes * 4) return;
    this.ws.send(JSON.stringify(msg));
  }

  sendError(err: MediabotError, callId?: string): void {
    this.sendControl({ type: 'error', code: err.code, message: err.message, ...(callId ? { callId } : {}) });
  }

  /** At most one error message per code per second (a bad stream must not flood). */
  maybeSendError(err: MediabotError, callId?: string): void {
    const now = performance.now();
    const last = this.errorSentAt.get(err.code);
    if (last !== undefined && now - last < 1000) return;
    this.errorSentAt.set(err.code, now);
    this.sendError(err, callId);
  }

  /** Rejected input: counted and answered with error; before hello it also closes the connection. */
  fault(err: unknown): void {
    const e = isMediabotError(err) ? err : new MediabotError('MEDIABOT_INTERNAL', err instanceof Error ? err.message : String(err));
    this.o.metrics.fault('bridge', e.code);
    this.o.log.debug({ code: e.code, message: e.message }, 'bridge input rejected');
    if (!this.session) {
      this.closeWith(INGRESS_CLOSE.protocolError, e);
      return;
    }
    this.maybeSendError(e);
  }

  closeWith(code: IngressCloseCode, err: MediabotError): void {
    this.o.metrics.fault('bridge', err.code);
    this.sendError(err);
    this.ws.close(code, closeReason(err.message));
  }
}
