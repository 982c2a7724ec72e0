/**
 * Bounds on what an ingress holds, in both directions: inbound streams are admitted at real time
 * (with a burst), frames that arrive before a call's media exists are kept up to a limit, and
 * outbound frames are dropped, then the peer cut, when the peer stops reading.
 */
import type { WebSocket } from 'ws';
import type { Logger } from '../../logger.js';
import type { IngressAdapter, IngressMetrics } from './metrics.js';

/** Frames kept per call while its media call is being created (4 s at 50 frames/s); later ones are dropped and counted. */
export const MAX_PENDING_FRAMES = 200;

/** Defaults of the limits below, shared by both adapters. */
export const BACKPRESSURE_DEFAULTS = { burstFrames: 100, sendHighWaterBytes: 256 * 1024, slowConsumerMs: 5000 } as const;

/**
 * Per-stream admission: a token bucket at real time (50 frames/s) with `burstFrames`
 * of slack, so a sender far faster than real time is cut at the edge (before any
 * postMessage), while normal jitter and a short catch-up after a reconnect pass.
 */
export class FrameRateGate {
  private tokens: number;
  private last: number;

  constructor(
    private readonly burstFrames = 100,
    private readonly framesPerSecond = 50,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = burstFrames;
    this.last = now();
  }

  admit(): boolean {
    const t = this.now();
    this.tokens = Math.min(this.burstFrames, this.tokens + ((t - this.last) * this.framesPerSecond) / 1000);
    this.last = t;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** One FrameRateGate per stream (source id) of a call. */
export class StreamGates {
  private readonly gates = new Map<string, FrameRateGate>();

  constructor(private readonly burstFrames: number) {}

  admit(sourceId: string): boolean {
    let gate = this.gates.get(sourceId);
    if (!gate) {
      gate = new FrameRateGate(this.burstFrames);
      this.gates.set(sourceId, gate);
    }
    return gate.admit();
  }
}

/** Sends unless the peer stopped reading: returns false (and sends nothing) above `highWater` buffered bytes. */
export function sendBounded(ws: WebSocket, data: Buffer | string, highWater: number): boolean {
  if (ws.readyState !== 1) return false;
  if (ws.bufferedAmount > highWater) return false;
  ws.send(data);
  return true;
}

export interface OutboundGuardOptions {
  adapter: IngressAdapter;
  metrics: IngressMetrics;
  log: Logger;
  /** Outbound frames are dropped while the socket holds more than this many unsent bytes. */
  sendHighWaterBytes: number;
  /** A peer that keeps not reading this long is disconnected (MEDIABOT_INGRESS_SLOW_CONSUMER). */
  slowConsumerMs: number;
  /** Logged with the disconnect (read then: the owner may fill it in later). */
  context: Record<string, unknown>;
}

/** Outbound media of one peer: sent while it reads, dropped and counted while it does not, then cut. */
export class OutboundGuard {
  /** Since when outbound frames are being dropped, or null. */
  private dropSince: number | null = null;

  constructor(private readonly o: OutboundGuardOptions) {}

  /** Sends one outbound frame; true when it was sent. */
  send(ws: WebSocket, data: Buffer | string): boolean {
    const { adapter, metrics } = this.o;
    if (sendBounded(ws, data, this.o.sendHighWaterBytes)) {
      this.dropSince = null;
      metrics.inc(adapter, 'outboundFrames');
      return true;
    }
    if (ws.readyState !== 1) return false;
    metrics.inc(adapter, 'outboundDropped');
    const now = performance.now();
    this.dropSince ??= now;
    if (now - this.dropSince > this.o.slowConsumerMs) {
      metrics.fault(adapter, 'MEDIABOT_INGRESS_SLOW_CONSUMER');
      this.o.log.warn({ ...this.o.context, buffered: ws.bufferedAmount }, `${adapter} peer stopped reading; disconnecting`);
      // It does not read, so it would not read a close frame either.
      ws.terminate();
    }
    return false;
  }
}
