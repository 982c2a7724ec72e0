/** Pieces both ingress adapters (ACS, media bridge) share. */
import type { FastifyInstance } from 'fastify';
import type { WebSocket } from 'ws';
import type { CallSpec } from '../../media/session/spec.js';

/** What an ingress adapter needs from the media thread pool (MediaThreadPool implements it). */
export interface IngressPool {
  createCall(spec: CallSpec): Promise<unknown>;
  endCall(callId: string): Promise<unknown>;
  hasCall(callId: string): boolean;
  pushPcm(callId: string, frame: { sourceId: string; rate: number; timestampMs: number; samples: Int16Array; flags?: number }): void;
  onOutbound(callId: string, listener: (frame: { callId: string; mediaTimeMs: number; samples: Int16Array }) => void): () => void;
  onEvent(listener: (e: import('../../media/hooks/api.js').MediaEvent) => void): () => void;
}

/** A call an ingress adapter started or ended (for the operator API's call list). */
export interface IngressCallInfo {
  callId: string;
  adapter: 'acs' | 'bridge';
  /** ACS: x-ms-call-correlation-id; bridge: the sidecar id. */
  correlationId: string | null;
  startedAt: string;
}

export interface IngressCallHooks {
  onCallStarted?: ((info: IngressCallInfo) => void) | undefined;
  onCallEnded?: ((info: IngressCallInfo & { reason: string }) => void) | undefined;
}

/** The rest of a call's spec (hooks, encoder...) for an ingress call; `pcm` is filled in by the adapter. */
export type IngressCallSpec = (callId: string) => Omit<CallSpec, 'callId'>;

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

/** Registers @fastify/websocket unless an enclosing scope already did. */
export async function ensureWebsocket(app: FastifyInstance): Promise<void> {
  if (app.hasDecorator('websocketServer')) return;
  const ws = (await import('@fastify/websocket')).default;
  await app.register(ws, { options: { maxPayload: 1024 * 1024 } });
}

/** Sends unless the peer stopped reading: returns false (and sends nothing) above `highWater` buffered bytes. */
export function sendBounded(ws: WebSocket, data: Buffer | string, highWater: number): boolean {
  if (ws.readyState !== 1) return false;
  if (ws.bufferedAmount > highWater) return false;
  ws.send(data);
  return true;
}

export function rms(pcm: Int16Array): number {
  let s = 0;
  for (let i = 0; i < pcm.length; i++) s += pcm[i]! * pcm[i]!;
  return pcm.length === 0 ? 0 : Math.sqrt(s / pcm.length);
}
