/**
 * GET /v1/events: a WebSocket of live typed events (call state, roster, talk, dominant speaker,
 * transcript, levels, speaker mapping). Browsers cannot set headers on a WebSocket, so the API
 * token is accepted as `Authorization: Bearer …` or `?token=…`. `?callId=` narrows to one call.
 * In a fleet events carry an `id`; `?since=<id>` first sends the retained events after that id.
 *
 * Levels are throttled to ~5 per second per call, and dropped for a client whose socket buffer is
 * backing up; other events are dropped only when the buffer is far behind (the client is then
 * disconnected with 1013 "try again later"). Nothing here ever waits on a client.
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import { MediabotError } from '../../errors.js';
import { secretsEqual } from '../../signaling/secrets.js';
import type { Metrics } from '../metrics.js';
import { checkHostAndOrigin, type OriginPolicy } from '../origin.js';

export interface LiveEventLike {
  type: string;
  callId?: string;
  /** The event's id in the fleet's stream (many instances only). */
  id?: string;
}

export interface EventsWsOptions {
  apiToken: string | undefined;
  /** Subscribes to every live event (after the event `since`, when given and kept); returns the unsubscribe function. */
  subscribe: (listener: (e: LiveEventLike) => void, since?: string) => () => void;
  /** First message to a new client (e.g. the current calls), optional. */
  hello?: () => Record<string, unknown>;
  metrics?: Metrics;
  /** Minimum interval between level events per call per client (default 150 ms: the levels hook emits every 200 ms, so arrival jitter never halves the rate). */
  levelIntervalMs?: number;
  /** Above this many buffered bytes level events are dropped (default 64 KiB). */
  softLimitBytes?: number;
  /** Above this many buffered bytes the client is disconnected (default 4 MiB); replies to pings included. */
  hardLimitBytes?: number;
  /** Host/Origin policy (a web page on another origin must not read the stream); default loopback. */
  origin?: OriginPolicy;
}

function tokenOf(request: FastifyRequest): string | undefined {
  const h = request.headers.authorization;
  const m = typeof h === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(h) : null;
  if (m) return m[1];
  const q = (request.query as Record<string, unknown> | undefined)?.['token'];
  return typeof q === 'string' ? q : undefined;
}

export const eventsWsRoutes: FastifyPluginAsync<EventsWsOptions> = async (app, opts) => {
  const levelEvery = opts.levelIntervalMs ?? 150;
  const soft = opts.softLimitBytes ?? 64 * 1024;
  const hard = opts.hardLimitBytes ?? 4 * 1024 * 1024;

  app.get<{ Querystring: { token?: string; callId?: string; since?: string } }>(
    '/v1/events',
    {
      websocket: true,
      schema: {
        tags: ['events'],
        summary: 'WebSocket of live events (token as Authorization header or ?token=)',
        querystring: { type: 'object', properties: { token: { type: 'string' }, callId: { type: 'string', maxLength: 200 }, since: { type: 'string', pattern: '^[0-9]{1,20}-[0-9]{1,20}$' } } },
      },
      onRequest: async (request) => {
        const origin = request.headers.origin;
        const verdict = checkHostAndOrigin(opts.origin ?? { listenHost: '127.0.0.1' }, request.headers.host, typeof origin === 'string' ? origin : undefined);
        if (!verdict.ok) {
          opts.metrics?.authFailures.inc({ endpoint: 'events', reason: verdict.reason! });
          throw new MediabotError('MEDIABOT_ORIGIN_REFUSED', verdict.reason === 'host' ? 'the Host header names no address of this worker' : 'requests from this Origin are not allowed');
        }
        if (opts.apiToken === undefined || opts.apiToken === '') return;
        const given = tokenOf(request);
        if (given === undefined) {
          opts.metrics?.authFailures.inc({ endpoint: 'events', reason: 'missing' });
          throw new MediabotError('MEDIABOT_UNAUTHORIZED', 'a bearer token is required (Authorization header or ?token=)');
        }
        if (!secretsEqual(opts.apiToken, given)) {
          opts.metrics?.authFailures.inc({ endpoint: 'events', reason: 'mismatch' });
          throw new MediabotError('MEDIABOT_UNAUTHORIZED', 'the bearer token is not valid');
        }
      },
    },
    (socket: WebSocket, request) => {
      const only = request.query.callId?.toLowerCase();
      const lastLevel = new Map<string, number>();
      let dropped = 0;
      const send = (e: LiveEventLike): void => {
        if (socket.readyState !== socket.OPEN) return;
        if (only !== undefined && e.callId?.toLowerCase() !== only) return;
        const buffered = socket.bufferedAmount;
        if (buffered > hard) {
          socket.close(1013, 'client too slow');
          setTimeout(() => socket.terminate(), 1000).unref();
          return;
        }
        if (e.type === 'level') {
          const k = e.callId ?? '';
          const now = Date.now();
          if (buffered > soft || now - (lastLevel.get(k) ?? 0) < levelEvery) {
            dropped++;
            return;
          }
          lastLevel.set(k, now);
        }
        socket.send(JSON.stringify(e));
      };
      // The hello goes first; a replay (?since=) follows it, then live events.
      if (opts.hello) socket.send(JSON.stringify({ type: 'hello', ...opts.hello() }));
      const unsubscribe = opts.subscribe(send, request.query.since);
      socket.on('close', () => unsubscribe());
      socket.on('error', () => unsubscribe());
      // Clients only listen; a ping keeps intermediaries from closing an idle connection.
      // A reply is a send like any other: a client that sends pings but never reads is disconnected
      // once its buffer passes the hard limit, instead of queueing replies without end.
      socket.on('message', (raw) => {
        if (String(raw) !== 'ping' || socket.readyState !== socket.OPEN) return;
        if (socket.bufferedAmount > hard) {
          socket.close(1013, 'client too slow');
          setTimeout(() => socket.terminate(), 1000).unref();
          return;
        }
        socket.send(JSON.stringify({ type: 'pong', droppedLevels: dropped }));
      });
    },
  );
};
