/**
 * One WebSocket server for every `websocket: true` route of a fastify app (@fastify/websocket), with
 * limits that hold before any authentication. The worker registers it (src/app/mediabot.ts); the
 * ingress plugins register it themselves when used in an app of their own (ingress/common/shared.ts
 * ensureWebsocket), so their limits hold either way:
 *
 * - a largest message per route, enforced by `ws` from the frame header (a message over the limit
 *   is refused with close code 1009 before its payload is buffered): 4 KiB on the read-only events
 *   stream, 64 KiB on /media/acs and on /media/bridge until its hello is accepted, the bridge
 *   protocol's 1 MiB after;
 * - an authentication deadline on routes that authenticate in-band (/media/bridge: the hello must
 *   be accepted within 5 s of connecting, or the socket is closed with 1008);
 * - at most 60 automatic pongs pending per socket (ws's `maxPendingAutoPongs`): a client that
 *   floods pings and never reads is terminated instead of growing the send queue.
 *
 * `ws` sets one message limit per server; the per-route limit lowers it on each new socket's
 * frame receiver right after the upgrade, before any frame was read (test/security/worker-sockets.test.ts
 * and ingress-limits.test.ts prove the effect on the installed `ws`). Routes mounted at another path
 * add their limit with `setWsRouteLimit`.
 */
import fastifyWebsocket from '@fastify/websocket';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';

export interface WsRouteLimit {
  /** Largest message accepted (bytes). */
  maxPayload: number;
  /** In-band authentication: the first message must be accepted within this, or the socket closes with 1008. */
  authDeadlineMs?: number;
  /** Largest message once the first message was accepted (the socket still open after it). */
  maxPayloadAfterAuth?: number;
}

export const WS_LIMITS = {
  /** The ceiling for every route: the bridge protocol's largest message. */
  ceiling: 1024 * 1024,
  /** Any WebSocket route not listed below. */
  defaultRoute: { maxPayload: 64 * 1024 } as WsRouteLimit,
  routes: {
    '/v1/events': { maxPayload: 4 * 1024 },
    '/media/acs': { maxPayload: 64 * 1024 },
    '/media/bridge': { maxPayload: 64 * 1024, authDeadlineMs: 5000, maxPayloadAfterAuth: 1024 * 1024 },
  } as Record<string, WsRouteLimit>,
  maxPendingAutoPongs: 60,
} as const;

export interface WsLimitsOptions {
  routes?: Record<string, WsRouteLimit>;
  defaultRoute?: WsRouteLimit;
  ceiling?: number;
  /** Called when a socket misses its authentication deadline (for a metric). */
  onAuthTimeout?: (path: string) => void;
}

interface ReceiverLike {
  _maxPayload?: unknown;
}

/** Lowers (or raises, up to the server's ceiling) the message limit of one accepted socket. */
export function setSocketMaxPayload(socket: WebSocket, bytes: number): boolean {
  const receiver = (socket as unknown as { _receiver?: ReceiverLike })._receiver;
  if (!receiver || typeof receiver._maxPayload !== 'number') return false;
  receiver._maxPayload = bytes;
  return true;
}

const ROUTES = Symbol.for('mediabot.wsRouteLimits');

/** The route table of the app's limited WebSocket server, or undefined when it has none. */
function routeTable(app: FastifyInstance): Map<string, WsRouteLimit> | undefined {
  return (app as unknown as Record<symbol, Map<string, WsRouteLimit> | undefined>)[ROUTES];
}

/** Whether `app`'s WebSocket server is the limited one (websocketWithLimits). */
export function hasWsLimits(app: FastifyInstance): boolean {
  return routeTable(app) !== undefined;
}

/** Sets the limit of a WebSocket route of the limited server (a route mounted at another path). */
export function setWsRouteLimit(app: FastifyInstance, path: string, limit: WsRouteLimit): void {
  routeTable(app)?.set(path, limit);
}

function applyLimits(socket: WebSocket, req: IncomingMessage, o: Omit<Required<Omit<WsLimitsOptions, 'onAuthTimeout'>>, 'routes'> & { routes: Map<string, WsRouteLimit> } & Pick<WsLimitsOptions, 'onAuthTimeout'>): void {
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  applyWsLimit(socket, o.routes.get(path) ?? o.defaultRoute, { ceiling: o.ceiling, onAuthTimeout: () => o.onAuthTimeout?.(path) });
}

/** Applies one route's limit to an accepted socket (before any frame was read): message size and auth deadline. */
export function applyWsLimit(socket: WebSocket, limit: WsRouteLimit, o: { ceiling?: number; onAuthTimeout?: () => void } = {}): void {
  const ceiling = o.ceiling ?? WS_LIMITS.ceiling;
  setSocketMaxPayload(socket, Math.min(limit.maxPayload, ceiling));
  if (limit.authDeadlineMs === undefined) return;
  let accepted = false;
  const timer = setTimeout(() => {
    if (accepted || socket.readyState !== socket.OPEN) return;
    o.onAuthTimeout?.();
    socket.close(1008, 'authentication timeout');
    setTimeout(() => socket.terminate(), 1000).unref();
  }, limit.authDeadlineMs);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
  // The route's own handler runs on the same message (synchronously) and closes the socket when the
  // first message is not an accepted authentication; still open afterwards means accepted.
  socket.once('message', () => {
    setImmediate(() => {
      if (socket.readyState !== socket.OPEN) return;
      accepted = true;
      clearTimeout(timer);
      if (limit.maxPayloadAfterAuth !== undefined) setSocketMaxPayload(socket, Math.min(limit.maxPayloadAfterAuth, ceiling));
    });
  });
}

/**
 * Registers @fastify/websocket on the root instance with the limits above. Register it before any
 * WebSocket route (the ingress plugins reuse it).
 */
export function websocketWithLimits(opts: WsLimitsOptions = {}): FastifyPluginAsync {
  const o = {
    routes: new Map(Object.entries(opts.routes ?? WS_LIMITS.routes)),
    defaultRoute: opts.defaultRoute ?? WS_LIMITS.defaultRoute,
    ceiling: opts.ceiling ?? WS_LIMITS.ceiling,
    ...(opts.onAuthTimeout ? { onAuthTimeout: opts.onAuthTimeout } : {}),
  };
  const plugin: FastifyPluginAsync = async (app: FastifyInstance) => {
    await app.register(fastifyWebsocket, { options: { maxPayload: o.ceiling, maxPendingAutoPongs: WS_LIMITS.maxPendingAutoPongs } as Record<string, unknown> });
    (app as unknown as Record<symbol, unknown>)[ROUTES] = o.routes;
    app.websocketServer.on('connection', (socket: WebSocket, req: IncomingMessage) => applyLimits(socket, req, o));
  };
  // Like fastify-plugin: no encapsulation, so the decorator and the route hook reach the root.
  (plugin as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;
  return plugin;
}
