/**
 * Who may call the bot: incoming calls through the real emulator (its control API, with its token)
 * to a real worker, answered or rejected through Graph by the MEDIABOT_INCOMING policy.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startMediabot as startWorker, type ComposedMediabot as Worker } from '../../src/app/mediabot.js';
import type { IncomingCall } from '../../src/signaling/incoming.js';
import { incomingRefusal } from '../../src/signaling/incoming-policy.js';
import { loadConfig } from '../../src/config/config.js';
import { request } from '../integration/emulator/helpers.js';
import { testConfig } from '../integration/app/helpers.js';

let worker: Worker | undefined;
afterEach(async () => {
  const w = worker;
  worker = undefined;
  await w?.close();
}, 90_000);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Places an incoming call from `from` and waits until the emulator says it was answered or rejected. */
async function ring(w: Worker, from?: { id?: string; phone?: string }): Promise<{ state: string; resultInfo: unknown; appHostedMedia: boolean }> {
  const emu = w.emulator!;
  const res = await request(emu, 'POST', '/_emulator/incomingCalls', { body: { callbackUri: w.callbackUri, ...(from ? { from } : {}) } });
  expect(res.status).toBe(201);
  const id = (res.body as { id: string }).id;
  for (let i = 0; i < 200; i++) {
    const d = emu.callDetails(id) as { state: string; resultInfo: unknown; appHostedMedia: boolean } | undefined;
    if (d && d.state !== 'incoming') return d;
    await sleep(25);
  }
  throw new Error(`call ${id} was neither answered nor rejected`);
}

describe('incoming-call policy against the emulator', () => {
  it('by default answers a caller of the emulator\'s own tenant (the demo path)', async () => {
    worker = await startWorker(testConfig({ MEDIABOT_RECORD: 'off' }));
    const call = await ring(worker, { id: 'user-1' });
    expect(call.state).not.toBe('terminated');
    expect(call.appHostedMedia).toBe(true);
  }, 30_000);

  it('rejects every call from a tenant that is not configured, with reason forbidden', async () => {
    worker = await startWorker(testConfig({ MEDIABOT_RECORD: 'off', MEDIABOT_INCOMING_TENANTS: 'another-tenant' }));
    const rejected: unknown[] = [];
    worker.bus.on((e) => {
      if (e.type === 'call.incoming') rejected.push(e);
    });
    const call = await ring(worker, { id: 'user-1' });
    expect(call.state).toBe('terminated');
    for (let i = 0; i < 100 && rejected.length === 0; i++) await sleep(20);
    expect(rejected).toEqual([expect.objectContaining({ action: 'reject' })]);
  }, 30_000);

  it('with a caller allowlist answers listed users and phone numbers only (a PSTN caller from anyone is rejected)', async () => {
    worker = await startWorker(testConfig({ MEDIABOT_RECORD: 'off', MEDIABOT_INCOMING_CALLERS: 'allowed-user,+1 (555) 010-0001' }));
    expect((await ring(worker, { phone: '+15550100002' })).state).toBe('terminated');
    expect((await ring(worker, { id: 'someone-else' })).state).toBe('terminated');
    expect((await ring(worker, { phone: '+15550100001' })).state).not.toBe('terminated');
    expect((await ring(worker, { id: 'allowed-user' })).state).not.toBe('terminated');
  }, 60_000);

  it('MEDIABOT_INCOMING=reject rejects every call', async () => {
    worker = await startWorker(testConfig({ MEDIABOT_RECORD: 'off', MEDIABOT_INCOMING: 'reject' }));
    expect((await ring(worker, { id: 'user-1' })).state).toBe('terminated');
  }, 30_000);
});

describe('incoming-call rules', () => {
  const call = (over: Partial<IncomingCall>): IncomingCall =>
    ({ callId: 'c', direction: 'incoming', source: { participantId: null, identity: { kind: 'user', id: 'u1', displayName: null, tenantId: 't1' } }, targets: [], requestedModalities: ['audio'], tenantId: 't1', myParticipantId: null, callChainId: null, callbackUri: null, incomingContext: null, inviteReasons: [], hasMeetingInfo: false, raw: {}, compliance: false, ...over }) as IncomingCall;
  const rules = { mode: 'answer' as const, tenants: ['T1'], callers: [] as string[] };

  it('needs the call tenant and a federated caller\'s tenant in the list; no tenant configured answers nothing', () => {
    expect(incomingRefusal(call({}), rules)).toBeNull();
    expect(incomingRefusal(call({ tenantId: null }), rules)).toBe('tenant');
    expect(incomingRefusal(call({ source: { participantId: null, identity: { kind: 'user', id: 'u1', displayName: null, tenantId: 'other' } } }), rules)).toBe('tenant');
    expect(incomingRefusal(call({}), { ...rules, tenants: [] })).toBe('tenant');
    expect(incomingRefusal(call({}), { ...rules, mode: 'reject' })).toBe('policy');
  });

  it('refuses bad policy settings at start-up, naming the variable', () => {
    expect(() => loadConfig({ MEDIABOT_INCOMING: 'maybe' })).toThrow(/MEDIABOT_INCOMING/);
    expect(() => loadConfig({ MEDIABOT_INCOMING_TENANTS: 'a b' })).toThrow(/MEDIABOT_INCOMING_TENANTS/);
    expect(() => loadConfig({ MEDIABOT_INCOMING_CALLERS: 'ok,<script>' })).toThrow(/MEDIABOT_INCOMING_CALLERS/);
  });
});
