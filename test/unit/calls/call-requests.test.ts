/**
 * Call requests on a real SQLite store and call registry: one call per dedupKey even for concurrent
 * requests, a failed creation frees its key, a scheduled join fires once when due, survives a new
 * CallRequests on the same database (a restart), and a request cut short by a crash is failed, not
 * joined again. The join itself is a stand-in that tracks a call in the registry.
 */
import { describe, expect, it } from 'vitest';
import { CallRequests } from '../../../src/calls/call-requests.js';
import type { JoinCallInput } from '../../../src/calls/types.js';
import { silentLogger } from '../../../src/logger.js';
import { CallRegistry } from '../../../src/signaling/registry.js';
import { CallSettingsStore } from '../../../src/store/call-settings.js';
import { openDatabase } from '../../../src/store/db.js';

const URL_ = 'https://teams.microsoft.com/l/meetup-join/19%3ameeting_x%40thread.v2/0?context=%7b%22Tid%22%3a%22t%22%2c%22Oid%22%3a%22o%22%7d';

function setup(db = openDatabase(':memory:')) {
  const registry = new CallRegistry();
  const store = new CallSettingsStore(db);
  const joins: JoinCallInput[] = [];
  let fail = false;
  const requests = new CallRequests({
    join: async (input) => {
      joins.push(input);
      await new Promise((r) => setTimeout(r, 20));
      if (fail) throw new Error('Graph refused');
      return registry.track(`call-${joins.length}`, { direction: 'outgoing' });
    },
    place: () => Promise.reject(new Error('not used')),
    check: () => {},
    store,
    registry,
    logger: silentLogger,
  });
  return { db, registry, store, requests, joins, setFail: (f: boolean) => (fail = f) };
}

describe('call requests', () => {
  it('creates one call per dedupKey, also for concurrent requests', async () => {
    const { requests, joins } = setup();
    const [a, b] = await Promise.all([requests.create({ joinWebUrl: URL_, dedupKey: 'k1' }), requests.create({ joinWebUrl: URL_, dedupKey: 'k1' })]);
    expect(joins).toHaveLength(1);
    expect(a.kind === 'call' && b.kind === 'call' && a.call.id === b.call.id).toBe(true);
    expect([a.existing, b.existing].sort()).toEqual([false, true]);
    const c = await requests.create({ joinWebUrl: URL_, dedupKey: 'k1' });
    expect(c.kind === 'call' && c.existing && c.call.id === 'call-1').toBe(true);
    await requests.create({ joinWebUrl: URL_, dedupKey: 'k2' });
    expect(joins).toHaveLength(2);
  });

  it('frees the key of a request whose call could not be created', async () => {
    const { requests, joins, setFail } = setup();
    setFail(true);
    await expect(requests.create({ joinWebUrl: URL_, dedupKey: 'k' })).rejects.toThrow(/Graph refused/);
    setFail(false);
    const r = await requests.create({ joinWebUrl: URL_, dedupKey: 'k' });
    expect(r.kind === 'call' && !r.existing).toBe(true);
    expect(joins).toHaveLength(2);
  });

  it('joins a scheduled request once when due, after a restart; fails one cut short by a crash', async () => {
    const db = openDatabase(':memory:');
    const first = setup(db);
    const r = await first.requests.create({ joinWebUrl: URL_, joinAt: new Date(Date.now() + 300).toISOString(), settings: { metadata: { a: 1 } } });
    expect(r.kind).toBe('scheduled');
    const id = r.kind === 'scheduled' ? r.scheduled.id : '';
    expect(first.requests.get(id)).toMatchObject({ state: 'scheduled', metadata: { a: 1 } });
    first.requests.stop(); // the process goes away before it is due
    // A request that was being created when the process died.
    first.store.addRequest({ id: 'cut', dedupKey: null, state: 'creating', request: { joinWebUrl: URL_ }, joinAt: null, createdAt: Date.now() });

    const second = setup(db);
    second.requests.start();
    expect(second.requests.get('cut')).toMatchObject({ state: 'failed', error: expect.stringMatching(/interrupted by a restart/) });
    await new Promise((res) => setTimeout(res, 700));
    expect(second.joins).toHaveLength(1);
    expect(second.joins[0]).toMatchObject({ joinWebUrl: URL_, settings: { metadata: { a: 1 } } });
    expect(second.requests.get(id)).toMatchObject({ state: 'created', callId: 'call-1' });
    expect(first.joins).toHaveLength(0);
    expect(second.requests.list()).toEqual([]);
  });

  it('refuses bad joinAt and dedupKey values, and cancels a waiting request', async () => {
    const { requests } = setup();
    await expect(requests.create({ joinWebUrl: URL_, joinAt: '2030-13-45' })).rejects.toThrow(/joinAt/);
    await expect(requests.create({ joinWebUrl: URL_, joinAt: new Date(Date.now() - 120_000).toISOString() })).rejects.toThrow(/in the past/);
    await expect(requests.create({ joinWebUrl: URL_, dedupKey: 'x'.repeat(201) })).rejects.toThrow(/dedupKey/);
    const r = await requests.create({ joinWebUrl: URL_, joinAt: new Date(Date.now() + 60_000).toISOString() });
    const id = r.kind === 'scheduled' ? r.scheduled.id : '';
    expect(requests.cancel(id)).toMatchObject({ state: 'failed', error: 'cancelled' });
    expect(() => requests.cancel(id)).toThrow(/no scheduled call/);
    requests.stop();
  });
});
