import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CreateSubscriptionBody, SubscriptionInfo, SubscriptionsPort, CallRecordsPort } from '../../../src/signaling/ports.js';
import { ChangeNotificationProcessor, SubscriptionManager } from '../../../src/signaling/subscriptions.js';
import { CallRecordStore } from '../../../src/store/call-records.js';
import { openDatabase } from '../../../src/store/db.js';
import { eventually, newSigningKey, postJson, startBot, startKeyServer, type Bot, type KeyServer } from './helpers.js';
import { HAVE_VECTORS, loadVector } from '../../unit/signaling/vectors.js';

/** Subscriptions as Graph keeps them, in memory, with the calls made. */
class SubscriptionsLog implements SubscriptionsPort {
  readonly ops: Array<{ op: string; id?: string; body?: CreateSubscriptionBody; expirationDateTime?: string }> = [];
  private n = 0;
  failRenew = false;
  async create(body: CreateSubscriptionBody): Promise<SubscriptionInfo> {
    this.ops.push({ op: 'create', body });
    return { id: `sub-${++this.n}`, resource: body.resource, expirationDateTime: body.expirationDateTime };
  }
  async renew(id: string, expirationDateTime: string): Promise<SubscriptionInfo> {
    this.ops.push({ op: 'renew', id, expirationDateTime });
    if (this.failRenew) throw new Error('404 subscription not found');
    return { id, resource: '/communications/callRecords', expirationDateTime };
  }
  async delete(id: string): Promise<void> {
    this.ops.push({ op: 'delete', id });
  }
  count(op: string): number {
    return this.ops.filter((o) => o.op === op).length;
  }
}

/** Call records served from the docs' expanded example, with the requested id. */
class CallRecordsFromVector implements CallRecordsPort {
  readonly gets: Array<{ id: string; expand: string | undefined }> = [];
  readonly lists: Date[] = [];
  async get(id: string, expand?: string): Promise<unknown> {
    this.gets.push({ id, expand });
    const rec = loadVector('get_callrecord_expanded.response.json') as Record<string, unknown>;
    return { ...rec, id };
  }
  async listSince(since: Date): Promise<Array<{ id: string }>> {
    this.lists.push(since);
    return [{ id: 'resynced-1' }, { id: 'resynced-2' }];
  }
}

const CLIENT_STATE = 'correct-horse-battery-staple';

describe.skipIf(!HAVE_VECTORS)('POST /api/notifications', () => {
  let keys: KeyServer;
  let bot: Bot;
  let dir: string;
  let store: CallRecordStore;
  let subs: SubscriptionsLog;
  let records: CallRecordsFromVector;
  let manager: SubscriptionManager;
  const discarded: string[] = [];

  beforeAll(async () => {
    keys = await startKeyServer([await newSigningKey('k')]);
    dir = mkdtempSync(join(tmpdir(), 'mediabot-cr-'));
    store = new CallRecordStore(openDatabase(dir));
    subs = new SubscriptionsLog();
    records = new CallRecordsFromVector();
    let processor: ChangeNotificationProcessor | null = null;
    manager = new SubscriptionManager({
      port: subs,
      notificationUrl: 'https://bot.example/api/notifications',
      clientState: CLIENT_STATE,
      onMissed: (since) => processor!.resync(since),
    });
    processor = new ChangeNotificationProcessor({ clientState: CLIENT_STATE, managers: [manager], callRecords: records, store, onDiscard: (r) => discarded.push(r) });
    bot = await startBot({ openIdUrl: keys.openIdUrl, extra: { notifications: { processor } } });
    await manager.start();
  });
  afterAll(async () => {
    await manager.stop();
    await bot.close();
    await keys.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('created the callRecords subscription with the clientState and both URLs', () => {
    const create = subs.ops[0]!;
    expect(create.op).toBe('create');
    expect(create.body).toMatchObject({
      changeType: 'created',
      resource: '/communications/callRecords',
      notificationUrl: 'https://bot.example/api/notifications',
      lifecycleNotificationUrl: 'https://bot.example/api/notifications',
      clientState: CLIENT_STATE,
    });
    const exp = Date.parse(create.body!.expirationDateTime);
    expect(exp - Date.now()).toBeGreaterThan(4000 * 60_000);
    expect(exp - Date.now()).toBeLessThanOrEqual(4230 * 60_000);
  });

  it('echoes validationToken URL-decoded as text/plain at once', async () => {
    const token = 'Validation: Testing client application reachability for subscription Request-Id: 7<&>';
    const res = await fetch(`${bot.baseUrl}/api/notifications?validationToken=${encodeURIComponent(token)}`, { method: 'POST', headers: { 'content-type': 'text/plain' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await res.text()).toBe(token);
  });

  it('fetches and stores a call record when clientState matches', async () => {
    const body = loadVector('notification-changenotification-callrecord-created.json') as { value: Array<Record<string, unknown>> };
    const item = { ...body.value[0]!, clientState: CLIENT_STATE, resource: 'communications/callRecords/rec-1', resourceData: { '@odata.type': '#Microsoft.Graph.callrecord', id: 'rec-1' } };
    const res = await postJson(`${bot.baseUrl}/api/notifications`, { value: [item] });
    expect(res.status).toBe(202);
    await eventually(() => expect(store.get('rec-1')).toBeDefined());
    expect(records.gets).toEqual([{ id: 'rec-1', expand: 'sessions($expand=segments)' }]);
    const stored = store.get('rec-1')!;
    expect(stored).toMatchObject({ id: 'rec-1', version: 1, type: 'peerToPeer', modalities: ['audio'], organizer: 'Abbie Wilkins', start: '2020-02-25T18:52:21.2169889Z' });
    expect((stored.json as { sessions: unknown[] }).sessions.length).toBeGreaterThan(0);
  });

  it('discards items whose clientState does not match, still answering 202', async () => {
    const body = loadVector('notification-changenotification-callrecord-created.json') as { value: Array<Record<string, unknown>> };
    const wrong = [
      { ...body.value[0]!, clientState: 'correct-horse-battery-stapler', resourceData: { id: 'rec-evil' } },
      { ...body.value[0]!, clientState: 'x', resourceData: { id: 'rec-evil-2' } },
      { ...body.value[0]!, clientState: undefined, resourceData: { id: 'rec-evil-3' } },
    ];
    const res = await postJson(`${bot.baseUrl}/api/notifications`, { value: wrong });
    expect(res.status).toBe(202);
    await new Promise((r) => setTimeout(r, 50));
    expect(records.gets.map((g) => g.id)).not.toContain('rec-evil');
    expect(store.get('rec-evil')).toBeUndefined();
    expect(discarded.filter((d) => d === 'client_state')).toHaveLength(3);
    const m = await bot.metrics.registry.getSingleMetricAsString('mediabot_notifications_received_total');
    expect(m).toMatch(/route="notifications",kind="callRecord"\} [1-9]/);
  });

  const lifecycle = (event: string, subscriptionId: string, clientState = CLIENT_STATE) => ({
    value: [{ subscriptionId, subscriptionExpirationDateTime: '2030-01-01T00:00:00Z', tenantId: 't', clientState, lifecycleEvent: event }],
  });

  it('reauthorizationRequired renews the subscription', async () => {
    const id = manager.subscription!.id;
    await postJson(`${bot.baseUrl}/api/notifications`, lifecycle('reauthorizationRequired', id));
    await eventually(() => expect(subs.count('renew')).toBe(1));
    expect(subs.ops.at(-1)).toMatchObject({ op: 'renew', id });
  });

  it('subscriptionRemoved recreates it', async () => {
    const creates = subs.count('create');
    await postJson(`${bot.baseUrl}/api/notifications`, lifecycle('subscriptionRemoved', manager.subscription!.id));
    await eventually(() => expect(subs.count('create')).toBe(creates + 1));
    expect(manager.subscription?.id).toBe(`sub-${creates + 1}`);
  });

  it('missed resyncs call records', async () => {
    await postJson(`${bot.baseUrl}/api/notifications`, lifecycle('missed', manager.subscription!.id));
    await eventually(() => expect(store.get('resynced-2')).toBeDefined());
    expect(records.lists).toHaveLength(1);
  });

  it('a lifecycle event with a wrong clientState does nothing', async () => {
    const before = subs.ops.length;
    await postJson(`${bot.baseUrl}/api/notifications`, lifecycle('subscriptionRemoved', manager.subscription!.id, 'nope'));
    await new Promise((r) => setTimeout(r, 50));
    expect(subs.ops.length).toBe(before);
  });

  it('malformed bodies get 400 JSON errors', async () => {
    const res = await postJson(`${bot.baseUrl}/api/notifications`, '{"value": [');
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ error: { code: 'MEDIABOT_BAD_REQUEST' } });
  });
});

describe('SubscriptionManager timers', () => {
  it('renews before expiry, and recreates when a renewal fails', async () => {
    const subs = new SubscriptionsLog();
    const m = new SubscriptionManager({ port: subs, notificationUrl: 'https://bot.example/api/notifications', clientState: 's', lifetimeMs: 1500, renewBeforeMs: 1000, retryMs: 50 });
    try {
      await m.start();
      expect(subs.count('create')).toBe(1);
      await eventually(() => expect(subs.count('renew')).toBeGreaterThanOrEqual(1), 5000);
      subs.failRenew = true;
      await eventually(() => expect(subs.count('create')).toBeGreaterThanOrEqual(2), 5000);
    } finally {
      await m.stop(true);
    }
    expect(subs.ops.at(-1)?.op).toBe('delete');
  });
});

describe.skipIf(!HAVE_VECTORS)('missed without an onMissed hook', () => {
  it('the processor resyncs call records itself', async () => {
    const subs = new SubscriptionsLog();
    const records = new CallRecordsFromVector();
    const store = new CallRecordStore(openDatabase(':memory:'));
    const m = new SubscriptionManager({ port: subs, notificationUrl: 'https://bot.example/api/notifications', clientState: 's' });
    await m.start();
    try {
      const p = new ChangeNotificationProcessor({ clientState: 's', managers: [m], callRecords: records, store });
      await p.process(p.authentic([{ kind: 'lifecycle', lifecycleEvent: 'missed', subscriptionId: m.subscription!.id, clientState: 's', tenantId: null }]));
      expect(records.lists).toHaveLength(1);
      expect(store.get('resynced-1')).toBeDefined();
      expect(m.counts.missed).toBe(1);
    } finally {
      await m.stop();
    }
  });
});

describe('call record store', () => {
  it('keeps the newest version and rejects non-records', () => {
    const db = openDatabase(':memory:');
    const s = new CallRecordStore(db);
    expect(s.put({ id: 'a', version: 2, type: 'groupCall', modalities: ['audio', 'video'], startDateTime: '2024-01-01T00:00:00Z' })).toBe(true);
    expect(s.put({ id: 'a', version: 1, type: 'peerToPeer' })).toBe(false);
    expect(s.get('a')).toMatchObject({ version: 2, type: 'groupCall', modalities: ['audio', 'video'] });
    expect(s.put({ id: 'a', version: 3, type: 'peerToPeer' })).toBe(true);
    expect(s.get('a')?.type).toBe('peerToPeer');
    expect(() => s.put({ version: 1 })).toThrow(/string id/);
    expect(s.list()).toHaveLength(1);
  });

  it('opens the database file in WAL mode', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mediabot-db-'));
    try {
      const db = openDatabase(join(dir, 'nested'));
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
