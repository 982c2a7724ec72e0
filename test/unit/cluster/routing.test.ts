/**
 * The fleet's /v1 routing on a real fastify app and a real redis-server: a call owned by another
 * live instance is forwarded to it (status and body relayed), one whose owner refuses connections
 * is 502 MEDIABOT_OWNER_UNREACHABLE, one whose owner's heartbeat is gone is 503 MEDIABOT_WORKER_LOST
 * (its last recorded view still readable), and a full fleet refuses new calls with 503 MEDIABOT_FLEET_FULL.
 */
import { Redis } from 'ioredis';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FleetRegistry, type FleetCall } from '../../../src/cluster/registry.js';
import { fleetPreHandler } from '../../../src/cluster/routing.js';
import { silentLogger } from '../../../src/logger.js';
import { buildApp } from '../../../src/server/app.js';
import { callJson } from '../../../src/server/routes/v1-calls.js';
import { CallRegistry } from '../../../src/signaling/registry.js';
import { freePort, redisMissing, startRedis, type RedisServer } from '../../helpers/redis.js';

const missing = redisMissing();
if (missing) console.warn(`skipping the fleet routing tests: ${missing}`);

const TOKEN = 'fleet-routing-token-0123456789';
let redis: RedisServer;
let conn: Redis;
const apps: FastifyInstance[] = [];

/** An instance: its own call registry, the fleet preHandler, listening on 127.0.0.1. */
async function instance(id: string, prefix: string, capacity = 4): Promise<{ app: FastifyInstance; url: string; calls: CallRegistry; fleet: FleetRegistry }> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const calls = new CallRegistry();
  const fleet = new FleetRegistry({ redis: conn, instanceId: id, internalUrl: url, prefix });
  const app = await buildApp({
    logger: silentLogger,
    apiToken: TOKEN,
    registry: calls,
    v1PreHandlers: [
      fleetPreHandler({
        selfId: id,
        apiToken: TOKEN,
        registry: fleet,
        redisUp: () => conn.status === 'ready',
        localCalls: () => calls.list().map(callJson),
        isLocalCall: (c) => calls.get(c) !== undefined,
        load: () => ({ calls: calls.list().length, capacity, draining: false }),
        connectTimeoutMs: 1000,
      }),
    ],
    // Stand-ins for the operator routes (src/server/routes/v1-operator.ts needs a whole call service): they answer who handled them.
    v1Plugins: [
      async (v1) => {
        v1.post('/calls', async (_req, reply) => reply.code(201).send({ id: `new-on-${id}`, by: id }));
        v1.delete<{ Params: { id: string } }>('/calls/:id', async (req, reply) => reply.code(202).send({ id: req.params.id, by: id }));
      },
    ],
  });
  await app.listen({ host: '127.0.0.1', port });
  apps.push(app);
  await fleet.heartbeat({ calls: calls.list().length, capacity, draining: false });
  return { app, url, calls, fleet };
}

const record = (owner: string, view: ReturnType<CallRegistry['track']>): FleetCall => ({ id: view.id, owner, state: view.state, updatedAt: view.updatedAt, call: callJson(view) });
const auth = { authorization: `Bearer ${TOKEN}` };

describe.skipIf(missing !== null)('fleet routing (real fastify, real redis-server)', () => {
  beforeAll(async () => {
    redis = await startRedis();
    conn = new Redis(redis.url, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    conn.on('error', () => undefined);
    await new Promise<void>((r) => conn.once('ready', () => r()));
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    conn?.disconnect();
    await redis?.stop();
  });

  it('forwards a call\'s routes to its owner, lists the fleet, and answers for owners that are gone or unreachable', async () => {
    const p = 'r1:';
    const a = await instance('a', p);
    const b = await instance('b', p);
    const onB = b.calls.track('call-on-b', { direction: 'outgoing', state: 'established' });
    await b.fleet.putCall(record('b', onB));

    const hungUp = await a.app.inject({ method: 'DELETE', url: '/v1/calls/call-on-b', headers: auth });
    expect(hungUp.statusCode).toBe(202);
    expect(hungUp.json()).toEqual({ id: 'call-on-b', by: 'b' });
    const read = await a.app.inject({ method: 'GET', url: '/v1/calls/call-on-b', headers: auth });
    expect(read.statusCode).toBe(200);
    expect(read.headers['x-mediabot-instance']).toBe('b');
    expect(read.json()).toMatchObject({ id: 'call-on-b', state: 'established' });
    const list = await a.app.inject({ method: 'GET', url: '/v1/calls', headers: auth });
    expect(list.json().calls).toEqual([expect.objectContaining({ id: 'call-on-b', instance: 'b' })]);
    expect((await a.app.inject({ method: 'GET', url: '/v1/calls?state=terminated', headers: auth })).json().calls).toEqual([]);
    // Unknown everywhere: the local 404.
    const unknown = await a.app.inject({ method: 'GET', url: '/v1/calls/nobody', headers: auth });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error.code).toBe('MEDIABOT_CALL_NOT_FOUND');

    // An owner whose heartbeat is fresh but whose address refuses connections.
    const deadPort = await freePort();
    const ghost = new FleetRegistry({ redis: conn, instanceId: 'c', internalUrl: `http://127.0.0.1:${deadPort}`, prefix: p });
    await ghost.heartbeat({ calls: 1, capacity: 4, draining: false });
    await ghost.putCall({ ...record('c', new CallRegistry().track('call-on-c', { state: 'established' })) });
    const refused = await a.app.inject({ method: 'GET', url: '/v1/calls/call-on-c', headers: auth });
    expect(refused.statusCode).toBe(502);
    expect(refused.json().error.code).toBe('MEDIABOT_OWNER_UNREACHABLE');

    // Its heartbeat gone: the last recorded view is readable, anything else is MEDIABOT_WORKER_LOST.
    await conn.del(`${p}instance:c`);
    const last = await a.app.inject({ method: 'GET', url: '/v1/calls/call-on-c', headers: auth });
    expect(last.statusCode).toBe(200);
    expect(last.json()).toMatchObject({ id: 'call-on-c', instance: 'c' });
    const lost = await a.app.inject({ method: 'DELETE', url: '/v1/calls/call-on-c', headers: auth });
    expect(lost.statusCode).toBe(503);
    expect(lost.json().error.code).toBe('MEDIABOT_WORKER_LOST');
  });

  it('places a new call on the instance with room, and refuses it when the fleet is full', async () => {
    const p = 'r2:';
    const a = await instance('a', p, 1);
    const b = await instance('b', p, 1);
    // Both free: the receiving instance takes it. a full (one live call of one): it goes to b.
    expect((await a.app.inject({ method: 'POST', url: '/v1/calls', headers: auth, payload: {} })).json()).toEqual({ id: 'new-on-a', by: 'a' });
    a.calls.track('busy-a', { state: 'established' });
    const placed = await a.app.inject({ method: 'POST', url: '/v1/calls', headers: auth, payload: { subject: 'x' } });
    expect(placed.statusCode).toBe(201);
    expect(placed.headers['x-mediabot-instance']).toBe('b');
    expect(placed.json()).toEqual({ id: 'new-on-b', by: 'b' });
    b.calls.track('busy-b', { state: 'established' });
    await b.fleet.heartbeat({ calls: 1, capacity: 1, draining: false });
    const full = await a.app.inject({ method: 'POST', url: '/v1/calls', headers: auth, payload: {} });
    expect(full.statusCode).toBe(503);
    expect(full.json().error.code).toBe('MEDIABOT_FLEET_FULL');
  });
});
