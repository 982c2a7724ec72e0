/**
 * The events WebSocket on a real fastify server: token by header or ?token=, per-call filter,
 * level throttling, and a slow client losing level events instead of holding anything up.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import fastifyWebsocket from '@fastify/websocket';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { eventsWsRoutes, type LiveEventLike } from '../../../src/server/routes/events-ws.js';
import { toHttpError } from '../../../src/server/errors.js';

const TOKEN = 'events-token-abcdef';
let app: FastifyInstance;
let base: string;
const listeners = new Set<(e: LiveEventLike) => void>();
const emit = (e: LiveEventLike & Record<string, unknown>): void => {
  for (const l of listeners) l(e);
};

beforeAll(async () => {
  app = Fastify();
  app.setErrorHandler((err, _req, reply) => {
    const { status, error } = toHttpError(err);
    return reply.code(status).send(error.toJSON());
  });
  await app.register(fastifyWebsocket);
  await app.register(eventsWsRoutes, {
    apiToken: TOKEN,
    subscribe: (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    hello: () => ({ calls: [] }),
  });
  base = (await app.listen({ host: '127.0.0.1', port: 0 })).replace('http', 'ws');
});

afterAll(async () => {
  await app.close();
});

function open(path: string, headers: Record<string, string> = {}): Promise<{ ws: WebSocket; got: any[] }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${base}${path}`, { headers });
    const got: any[] = [];
    ws.on('message', (m) => got.push(JSON.parse(String(m))));
    ws.once('open', () => resolve({ ws, got }));
    ws.once('unexpected-response', (_q, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

const settle = (ms = 100): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('events WebSocket', () => {
  it('takes the token from the header or ?token=, and refuses without it', async () => {
    await expect(open('/v1/events')).rejects.toThrow('HTTP 401');
    await expect(open('/v1/events?token=wrong')).rejects.toThrow('HTTP 401');
    const a = await open(`/v1/events?token=${TOKEN}`);
    const b = await open('/v1/events', { authorization: `Bearer ${TOKEN}` });
    await settle();
    expect(a.got[0].type).toBe('hello');
    expect(b.got[0].type).toBe('hello');
    a.ws.close();
    b.ws.close();
  });

  it('filters by call, throttles levels per call and passes every other event', async () => {
    const { ws, got } = await open(`/v1/events?token=${TOKEN}&callId=CALL-A`);
    await settle();
    for (let i = 0; i < 50; i++) {
      emit({ type: 'level', callId: 'call-a', levels: { s: -20 }, mediaTimeMs: i * 20 });
      emit({ type: 'talk.start', callId: 'call-a', sourceId: `s${i}`, mediaTimeMs: i * 20 });
      emit({ type: 'talk.start', callId: 'call-b', sourceId: 'x', mediaTimeMs: 0 });
    }
    await settle();
    expect(got.filter((e) => e.type === 'level').length).toBe(1);
    expect(got.filter((e) => e.type === 'talk.start').length).toBe(50);
    expect(got.every((e) => e.type === 'hello' || e.callId === 'call-a')).toBe(true);
    ws.close();
  });

  it('drops level events for a client that does not read, and still delivers the rest', async () => {
    const { ws, got } = await open(`/v1/events?token=${TOKEN}`);
    await settle();
    (ws as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
    const levels: Record<string, number> = {};
    for (let i = 0; i < 300; i++) levels[`ssrc-${1_000_000 + i}`] = -30.5;
    for (let i = 0; i < 3000; i++) emit({ type: 'level', callId: `call-${i}`, levels, mediaTimeMs: 0 });
    emit({ type: 'call.state', callId: 'call-x', state: 'terminated' });
    (ws as unknown as { _socket: { resume(): void } })._socket.resume();
    ws.send('ping');
    const pong = await (async () => {
      for (let i = 0; i < 100; i++) {
        const p = got.find((e) => e.type === 'pong');
        if (p) return p;
        await settle(50);
      }
      return undefined;
    })();
    expect(pong.droppedLevels).toBeGreaterThan(0);
    expect(got.filter((e) => e.type === 'level').length + pong.droppedLevels).toBe(3000);
    expect(got.some((e) => e.type === 'call.state' && e.callId === 'call-x')).toBe(true);
    ws.close();
  });
});
