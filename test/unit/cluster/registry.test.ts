/**
 * The fleet registry and event stream against a real redis-server: heartbeats and expiry, placement
 * by free capacity, one winner for a lost instance's lock, call records, and events with ids that
 * a late subscriber replays, across a Redis restart.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FleetEventStream, compareIds, type FleetEvent as AnyFleetEvent, type ReplayGap } from '../../../src/cluster/event-stream.js';

/** The events these tests append all name a call. */
type FleetEvent = AnyFleetEvent & { callId?: string };
import { FleetRegistry, choosePlacement, type FleetCall } from '../../../src/cluster/registry.js';
import type { LiveEvent } from '../../../src/events/live.js';
import { silentLogger } from '../../../src/logger.js';
import { redisMissing, startRedis, until, type RedisServer } from '../../helpers/redis.js';

const missing = redisMissing();
if (missing) console.warn(`skipping the fleet registry tests: ${missing}`);

let redis: RedisServer;
const clients: Redis[] = [];
const connect = (opts: { failFast?: boolean } = {}): Redis => {
  const r = opts.failFast
    ? new Redis(redis.url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, retryStrategy: () => 100 })
    : new Redis(redis.url, { maxRetriesPerRequest: null, retryStrategy: () => 100 });
  r.on('error', () => undefined);
  clients.push(r);
  return r;
};
const ready = (r: Redis): Promise<void> => until('redis ready', () => (r.status === 'ready' ? true : undefined), 10_000, 20).then(() => undefined);
let n = 0;
const prefix = (): string => `t${++n}:`;

describe.skipIf(missing !== null)('fleet registry (real redis-server)', () => {
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await redis?.stop();
  });

  it('registers instances with their load; an expired heartbeat makes a lost instance, a clean exit does not', async () => {
    const r = connect();
    const p = prefix();
    const a = new FleetRegistry({ redis: r, instanceId: 'a', internalUrl: 'http://127.0.0.1:1', ttlMs: 400, prefix: p });
    const b = new FleetRegistry({ redis: r, instanceId: 'b', internalUrl: 'http://127.0.0.1:2', ttlMs: 400, prefix: p });
    const c = new FleetRegistry({ redis: r, instanceId: 'c', internalUrl: 'http://127.0.0.1:3', ttlMs: 400, prefix: p });
    await a.heartbeat({ calls: 1, capacity: 5, draining: false });
    await b.heartbeat({ calls: 3, capacity: 5, draining: true });
    await c.heartbeat({ calls: 0, capacity: 5, draining: false });
    const list = (await a.instances()).sort((x, y) => x.id.localeCompare(y.id));
    expect(list.map((i) => [i.id, i.calls, i.capacity, i.draining, i.internalUrl])).toEqual([
      ['a', 1, 5, false, 'http://127.0.0.1:1'],
      ['b', 3, 5, true, 'http://127.0.0.1:2'],
      ['c', 0, 5, false, 'http://127.0.0.1:3'],
    ]);
    expect(await a.lostInstances()).toEqual([]);
    await c.deregister();
    // a keeps beating, b stops: b (and only b) is lost once its entry expires.
    const lost = await until(
      'b lost',
      async () => {
        await a.heartbeat({ calls: 1, capacity: 5, draining: false });
        const l = await a.lostInstances();
        return l.length > 0 ? l : undefined;
      },
      10_000,
      100,
    );
    expect(lost).toEqual([{ id: 'b', internalUrl: 'http://127.0.0.1:2' }]);
    expect(await a.instance('b')).toBeNull();
    expect((await a.instance('a'))?.calls).toBe(1);
    // Exactly one survivor wins the clean-up lock.
    const wins = await Promise.all([a.claimLost('b', 5000), c.claimLost('b', 5000), a.claimLost('b', 5000)]);
    expect(wins.filter(Boolean)).toHaveLength(1);
    await a.forgetLost('b');
    expect(await a.lostInstances()).toEqual([]);
  });

  it('places a call on the instance with the most free capacity, never on a draining or full one', async () => {
    const i = (id: string, calls: number, capacity: number, draining = false) => ({ id, calls, capacity, draining, internalUrl: '', startedAt: '' });
    expect(choosePlacement([i('a', 2, 5), i('b', 1, 5), i('c', 0, 5, true)], 'a')?.id).toBe('b');
    expect(choosePlacement([i('a', 1, 5), i('b', 1, 5)], 'b')?.id).toBe('b');
    expect(choosePlacement([i('a', 1, 5), i('b', 1, 5)], 'a')?.id).toBe('a');
    expect(choosePlacement([i('a', 5, 5), i('b', 9, 5), i('c', 0, 5, true)], 'a')).toBeNull();
    expect(choosePlacement([], 'a')).toBeNull();

    const r = connect();
    const p = prefix();
    const a = new FleetRegistry({ redis: r, instanceId: 'a', internalUrl: 'http://a', prefix: p });
    const b = new FleetRegistry({ redis: r, instanceId: 'b', internalUrl: 'http://b', prefix: p });
    await a.heartbeat({ calls: 3, capacity: 4, draining: false });
    await b.heartbeat({ calls: 1, capacity: 4, draining: false });
    expect((await a.placement())?.id).toBe('b');
    await b.heartbeat({ calls: 4, capacity: 4, draining: false });
    expect((await a.placement())?.id).toBe('a');
    await a.heartbeat({ calls: 4, capacity: 4, draining: false });
    expect(await a.placement()).toBeNull();
  });

  it('keeps call records by id with their owner, and prunes old ended ones', async () => {
    const r = connect();
    const a = new FleetRegistry({ redis: r, instanceId: 'a', internalUrl: 'http://a', prefix: prefix() });
    const call = (id: string, state: string, updatedAt: string): FleetCall => ({ id, owner: 'a', state, updatedAt, call: { id, state, createdAt: updatedAt } as FleetCall['call'] });
    await a.putCalls([call('c1', 'established', new Date().toISOString()), call('c2', 'terminated', '2020-01-01T00:00:00Z')]);
    await a.putCall(call('c3', 'terminated', new Date().toISOString()));
    expect((await a.call('c1'))?.state).toBe('established');
    expect(await a.call('nope')).toBeNull();
    expect((await a.calls()).map((c) => c.id).sort()).toEqual(['c1', 'c2', 'c3']);
    expect(await a.pruneTerminated(new Date(Date.now() - 60_000))).toBe(1);
    expect((await a.calls()).map((c) => c.id).sort()).toEqual(['c1', 'c3']);
  });

  it('streams events with ids to every instance, replays from an id, and reports a trimmed gap', async () => {
    const key = `${prefix()}events`;
    const conns = [connect({ failFast: true }), connect(), connect({ failFast: true }), connect()] as const;
    const a = new FleetEventStream({ redis: conns[0], reader: conns[1], instanceId: 'a', key, logger: silentLogger });
    const b = new FleetEventStream({ redis: conns[2], reader: conns[3], instanceId: 'b', key, logger: silentLogger });
    await Promise.all(conns.map(ready));
    a.start();
    b.start();
    const seenByB: FleetEvent[] = [];
    b.subscribe((e) => seenByB.push(e as FleetEvent));
    // Let both readers take their starting point before anything is appended.
    await new Promise((r) => setTimeout(r, 300));
    const ev = (i: number): LiveEvent => ({ type: 'talk.start', callId: `call-${i}`, sourceId: 's', mediaTimeMs: i });
    for (let i = 0; i < 5; i++) a.publish(ev(i));
    await until('b sees a\'s five events', () => (seenByB.length >= 5 ? true : undefined), 10_000, 20);
    expect(seenByB.map((e) => [e.instance, e.callId])).toEqual([0, 1, 2, 3, 4].map((i) => ['a', `call-${i}`]));
    for (let i = 1; i < 5; i++) expect(compareIds(seenByB[i]!.id!, seenByB[i - 1]!.id!)).toBe(1);

    // A client that saw up to the second event reconnects: it gets the three after it, then live ones.
    const replayed: FleetEvent[] = [];
    b.subscribe((e) => replayed.push(e as FleetEvent), seenByB[1]!.id);
    a.publish(ev(5));
    await until('replay then live', () => (replayed.length >= 4 ? true : undefined), 10_000, 20);
    expect(replayed.map((e) => e.callId)).toEqual(['call-2', 'call-3', 'call-4', 'call-5']);

    // Bad ids in the stream's past beyond what is kept: a gap is announced.
    await connect().xtrim(key, 'MAXLEN', 2);
    const afterTrim: Array<FleetEvent | ReplayGap> = [];
    b.subscribe((e) => afterTrim.push(e), seenByB[0]!.id);
    await until('gap and kept events', () => (afterTrim.length >= 3 ? true : undefined), 10_000, 20);
    expect(afterTrim[0]!.type).toBe('events.gap');
    expect(afterTrim.slice(1).map((e) => (e as FleetEvent).callId)).toEqual(['call-4', 'call-5']);
    await a.close();
    await b.close();
  });

  it('while Redis is down own events reach own clients at once, and reach the others when it is back', async () => {
    const key = `${prefix()}events`;
    const conns = [connect({ failFast: true }), connect(), connect({ failFast: true }), connect()] as const;
    const a = new FleetEventStream({ redis: conns[0], reader: conns[1], instanceId: 'a', key, logger: silentLogger });
    const b = new FleetEventStream({ redis: conns[2], reader: conns[3], instanceId: 'b', key, logger: silentLogger });
    await Promise.all(conns.map(ready));
    a.start();
    b.start();
    const atA: FleetEvent[] = [];
    const atB: FleetEvent[] = [];
    a.subscribe((e) => atA.push(e as FleetEvent));
    b.subscribe((e) => atB.push(e as FleetEvent));
    await new Promise((r) => setTimeout(r, 300));
    a.publish({ type: 'talk.start', callId: 'before', sourceId: 's', mediaTimeMs: 0 });
    await until('b sees the first', () => (atB.length >= 1 ? true : undefined), 10_000, 20);

    await redis.stop();
    await until('a notices', () => (conns[0].status !== 'ready' ? true : undefined), 10_000, 20);
    a.publish({ type: 'talk.start', callId: 'during', sourceId: 's', mediaTimeMs: 1 });
    // Delivered to a's own clients without waiting for Redis, without an id.
    expect(atA.map((e) => e.callId)).toContain('during');
    expect(atA.find((e) => e.callId === 'during')!.id).toBeUndefined();
    expect(a.pendingCount).toBe(1);

    await redis.start();
    await until('b gets the event kept during the outage', () => (atB.some((e) => e.callId === 'during') ? true : undefined), 20_000, 50);
    expect(a.pendingCount).toBe(0);
    // a's own clients do not get it twice.
    await new Promise((r) => setTimeout(r, 300));
    expect(atA.filter((e) => e.callId === 'during')).toHaveLength(1);
    await a.close();
    await b.close();
  });
});
