/**
 * Resource limits of the HTTP server that hold before any authentication: how long a request may
 * take to arrive, how long a socket may idle, how many sockets may be open at once. Sockets over
 * the cap are closed as soon as they are accepted, and counted.
 */
import type { Server } from 'node:http';
import { Counter, Gauge, type Registry } from 'prom-client';

export interface HttpLimits {
  /** The whole request (headers and body) must arrive within this (default 30 s). */
  requestTimeoutMs: number;
  /** The headers must arrive within this (default 10 s). */
  headersTimeoutMs: number;
  /** A socket with no traffic at all is closed after this (default 60 s; WebSockets keep their own heartbeat). */
  idleTimeoutMs: number;
  /** Open sockets beyond which new ones are refused (default 1024, MEDIABOT_MAX_CONNECTIONS). */
  maxConnections: number;
  /** Largest request body in bytes (default 1 MiB). */
  bodyLimit: number;
}

export const HTTP_LIMIT_DEFAULTS: HttpLimits = {
  requestTimeoutMs: 30_000,
  headersTimeoutMs: 10_000,
  idleTimeoutMs: 60_000,
  maxConnections: 1024,
  bodyLimit: 1024 * 1024,
};

/** The fastify factory options that carry the limits. */
export function fastifyLimitOptions(l: HttpLimits): { bodyLimit: number; requestTimeout: number; connectionTimeout: number; http: { headersTimeout: number; requestTimeout: number; connectionsCheckingInterval: number } } {
  return {
    bodyLimit: l.bodyLimit,
    requestTimeout: l.requestTimeoutMs,
    connectionTimeout: l.idleTimeoutMs,
    http: {
      headersTimeout: Math.min(l.headersTimeoutMs, l.requestTimeoutMs),
      requestTimeout: l.requestTimeoutMs,
      // Node checks the two timeouts above on this interval (default 30 s): check often enough
      // that a slow sender is cut off close to its deadline.
      connectionsCheckingInterval: Math.max(250, Math.min(2000, Math.floor(l.headersTimeoutMs / 2))),
    },
  };
}

export interface ConnectionMetrics {
  open: Gauge;
  refused: Counter;
}

export function createConnectionMetrics(registry: Registry, prefix = 'mediabot_'): ConnectionMetrics {
  return {
    open: new Gauge({ name: `${prefix}http_connections`, help: 'Open HTTP sockets (WebSockets included)', registers: [registry] }),
    refused: new Counter({ name: `${prefix}http_connections_refused_total`, help: 'Sockets closed on accept because MEDIABOT_MAX_CONNECTIONS were already open', registers: [registry] }),
  };
}

/** Applies the connection cap to a node HTTP server and keeps the gauge and counter current. */
export function capConnections(server: Server, max: number, m: ConnectionMetrics): void {
  // net.Server closes sockets past maxConnections on accept and emits 'drop' for each.
  server.maxConnections = max;
  let open = 0;
  server.on('connection', (socket) => {
    open++;
    m.open.set(open);
    socket.once('close', () => {
      open--;
      m.open.set(open);
    });
  });
  server.on('drop', () => m.refused.inc());
}
