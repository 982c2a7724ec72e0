/**
 * The dispatcher against a real receiver on 127.0.0.1 verifying with `standardwebhooks`: refused
 * deliveries are retried with the same webhook-id, order holds per call, the address rule refuses
 * loopback unless allowlisted, a failed message can be replayed, and metrics count it all.
 */
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/logger.js';
import { openDatabase } from '../../../src/store/db.js';
import { WebhookOutbox } from '../../../src/store/webhook-outbox.js';
import { WebhookDispatcher, retryDelayMs } from '../../../src/webhooks/dispatcher.js';
import { newSecret, startReceiver, type Receiver } from './receiver.js';

const until = async (what: string, probe: () => boolean, timeoutMs = 20_000): Promise<void> => {
  const end = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
};

describe('webhook dispatcher', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function setup(o: { allowlist?: string[]; retry?: { baseDelayMs?: number; windowMs?: number } } = {}): Promise<{ receiver: Receiver; dispatcher: WebhookDispatcher; outbox: WebhookOutbox; registry: Registry }> {
    const secret = newSecret();
    const receiver = await startReceiver(secret);
    const db = openDatabase(':memory:');
    const outbox = new WebhookOutbox(db);
    const registry = new Registry();
    const dispatcher = new WebhookDispatcher({ outbox, secret, allowlist: o.allowlist ?? ['127.0.0.1'], logger: silentLogger, registry, retry: { baseDelayMs: 40, ...o.retry } });
    dispatcher.start();
    cleanups.push(() => receiver.close(), () => dispatcher.stop(), () => {
      db.close();
    });
    return { receiver, dispatcher, outbox, registry };
  }

  it('retries refused deliveries with the same id, keeps each call in order, and signs every attempt', async () => {
    const { receiver, dispatcher, registry } = await setup();
    receiver.refuse = (_r, i) => i < 3;
    for (let i = 0; i < 5; i++) dispatcher.enqueue('call-a', [`${receiver.url}/a`], 'call.state', { n: i });
    for (let i = 0; i < 3; i++) dispatcher.enqueue('call-b', [`${receiver.url}/b`], 'call.state', { n: i });
    expect(await dispatcher.whenIdle(20_000)).toBe(0);

    expect(receiver.bad).toEqual([]);
    const accepted = receiver.accepted();
    expect(accepted).toHaveLength(8);
    // Refused ones came back with the same webhook-id.
    const refusedIds = receiver.requests.filter((r) => r.answered === 503).map((r) => r.id);
    expect(refusedIds).toHaveLength(3);
    expect(new Set(accepted.map((a) => a.id)).size).toBe(8);
    for (const id of refusedIds) expect(accepted.map((a) => a.id)).toContain(id);
    // Per call, in the order enqueued.
    expect(accepted.filter((a) => a.path === '/a').map((a) => a.payload.data['n'])).toEqual([0, 1, 2, 3, 4]);
    expect(accepted.filter((a) => a.path === '/b').map((a) => a.payload.data['n'])).toEqual([0, 1, 2]);
    // A call's later message never arrived before an earlier one was accepted.
    const firstSeen = (n: number): number => receiver.requests.findIndex((r) => r.path === '/a' && r.payload.data['n'] === n);
    const acceptedAt = (n: number): number => receiver.requests.findIndex((r) => r.path === '/a' && r.payload.data['n'] === n && r.answered === 200);
    for (let n = 1; n < 5; n++) expect(firstSeen(n)).toBeGreaterThan(acceptedAt(n - 1));
    expect(accepted[0]!.payload).toMatchObject({ type: 'call.state', data: { n: expect.any(Number) } });
    expect(new Date(accepted[0]!.payload.timestamp).getTime()).toBeGreaterThan(0);

    const metrics = await registry.metrics();
    expect(metrics).toMatch(/mediabot_webhook_delivered_total\{type="call.state"\} 8/);
    expect(metrics).toMatch(/mediabot_webhook_failed_attempts_total\{type="call.state"\} 3/);
    expect(metrics).toMatch(/mediabot_webhook_pending 0/);
    const rows = dispatcher.deliveries();
    expect(rows.every((r) => r.status === 'delivered')).toBe(true);
    // Every attempt is counted on its row: 8 successes and the 3 refusals.
    expect(rows.reduce((n, r) => n + r.attempts, 0)).toBe(11);
  });

  it('refuses a loopback target without the allowlist, gives up after the window, and replays with the same id', async () => {
    const { receiver, dispatcher } = await setup({ allowlist: [], retry: { baseDelayMs: 20, windowMs: 300 } });
    const [row] = dispatcher.enqueue('call-c', [`${receiver.url}/c`], 'data.deleted', { what: 'all' });
    await until('given up', () => dispatcher.delivery(row!.id).status === 'failed');
    const failed = dispatcher.delivery(row!.id);
    expect(failed.lastError).toMatch(/refused/);
    expect(failed.attempts).toBeGreaterThan(1);
    expect(receiver.requests).toHaveLength(0);
    expect(() => dispatcher.replay('msg_unknown')).toThrow(/no webhook delivery/);
  });

  it('replays a delivered message with its webhook-id', async () => {
    const { receiver, dispatcher } = await setup();
    const [row] = dispatcher.enqueue(null, [`${receiver.url}/r`], 'data.deleted', { x: 1 });
    await dispatcher.whenIdle(10_000);
    expect(receiver.requests).toHaveLength(1);
    const replayed = dispatcher.replay(row!.id);
    expect(replayed.status).toBe('pending');
    await until('the replay', () => receiver.requests.length === 2);
    expect(receiver.requests[1]!.id).toBe(row!.id);
    expect(receiver.requests[1]!.body).toBe(receiver.requests[0]!.body);
    expect(receiver.bad).toEqual([]);
  });

  it('prunes old delivered and failed messages, never pending ones', async () => {
    const { receiver, dispatcher, outbox } = await setup();
    dispatcher.enqueue('call-p', [`${receiver.url}/p`], 'call.state', { n: 1 });
    await dispatcher.whenIdle(10_000);
    await dispatcher.stop();
    dispatcher.enqueue('call-p', [`${receiver.url}/p`], 'call.state', { n: 2 });
    expect(outbox.prune(Date.now() + 60_000)).toBe(1);
    expect(dispatcher.deliveries().map((d) => d.status)).toEqual(['pending']);
  });

  it('backs off exponentially with jitter, capped', () => {
    const lo = (n: number): number => retryDelayMs(n, 500, 3_600_000, () => 0);
    const hi = (n: number): number => retryDelayMs(n, 500, 3_600_000, () => 1);
    expect([lo(1), hi(1), lo(2), hi(2), lo(3), hi(3)]).toEqual([250, 500, 500, 1000, 1000, 2000]);
    expect(hi(40)).toBe(3_600_000);
  });
});
