/** Types and small pieces both ingress adapters (ACS, media bridge) share. */
import type { FastifyInstance } from 'fastify';
import type { RawData } from 'ws';
import { MediabotError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { MediaEvent } from '../../media/hooks/api.js';
import type { CallSpec } from '../../media/session/spec.js';
import type { IngressMetrics } from './metrics.js';
import { hasWsLimits, setWsRouteLimit, websocketWithLimits, type WsRouteLimit } from '../../util/ws-limits.js';

/** One 20 ms frame of PCM into the media core. */
export interface PcmFrame {
  sourceId: string;
  rate: number;
  timestampMs: number;
  samples: Int16Array;
  flags: number;
}

/** What an ingress adapter needs from the media thread pool (MediaThreadPool implements it). */
export interface IngressPool {
  createCall(spec: CallSpec): Promise<unknown>;
  endCall(callId: string): Promise<unknown>;
  hasCall(callId: string): boolean;
  pushPcm(callId: string, frame: { sourceId: string; rate: number; timestampMs: number; samples: Int16Array; flags?: number }): void;
  onOutbound(callId: string, listener: (frame: { callId: string; mediaTimeMs: number; samples: Int16Array }) => void): () => void;
  onEvent(listener: (e: MediaEvent) => void): () => void;
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

/** Options both adapters take. */
export interface IngressAdapterOptions extends IngressCallHooks {
  pool: IngressPool;
  /** Hooks, encoder... for the media call of a new call (its `pcm` is set by the adapter). */
  callSpec?: IngressCallSpec;
  /** What goes back to the peer: the mix without the call's own inbound audio (default), the full mix, or nothing. */
  outbound?: 'mix-minus' | 'mix' | 'off';
  playoutDelayMs?: number;
  maxQueueMs?: number;
  /** Frames a stream may send ahead of real time before frames are dropped. Default 100 (2 s). */
  burstFrames?: number;
  /** Outbound frames are dropped while the socket holds more than this many unsent bytes. Default 256 KiB. */
  sendHighWaterBytes?: number;
  /** A peer that keeps not reading this long is disconnected. Default 5000. */
  slowConsumerMs?: number;
  /** Most calls of this adapter at once. Default 1000. */
  maxCalls?: number;
  logger?: Logger;
  metrics?: IngressMetrics;
}

export const DEFAULT_MAX_CALLS = 1000;

/**
 * Makes sure `app` has a WebSocket server with the limits of util/ws-limits.ts (registering one
 * unless an enclosing scope did), and sets the route's limit there for `path`. Without this, an
 * ingress plugin used outside the worker would take 1 MiB messages before authentication and wait
 * for a hello forever. Returns false when an enclosing scope registered a plain @fastify/websocket:
 * the route then applies its limit itself (applyIngressLimit).
 */
export async function ensureWebsocket(app: FastifyInstance, route?: { path: string; limit: WsRouteLimit }): Promise<boolean> {
  if (!app.hasDecorator('websocketServer')) await app.register(websocketWithLimits());
  if (!hasWsLimits(app)) return false;
  if (route) setWsRouteLimit(app, route.path, route.limit);
  return true;
}

/** A WebSocket message as one Buffer. */
export function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/** Parses a text frame that must hold one JSON object; throws MEDIABOT_INGRESS_BAD_MESSAGE naming `what`. */
export function parseJsonObject(text: string, what: string): Record<string, unknown> {
  let msg: unknown;
  try {
    msg = JSON.parse(text);
  } catch (err) {
    throw new MediabotError('MEDIABOT_INGRESS_BAD_MESSAGE', `${what} is not JSON: ${(err as Error).message}`);
  }
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) throw new MediabotError('MEDIABOT_INGRESS_BAD_MESSAGE', `${what} must be a JSON object`);
  return msg as Record<string, unknown>;
}
