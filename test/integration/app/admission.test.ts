/**
 * MEDIABOT_MAX_CALLS and Mediabot.drain() in code: at the cap /readyz is not ready and new calls
 * get 503 MEDIABOT_AT_CAPACITY (over HTTP and from bot.calls); draining refuses them with
 * MEDIABOT_DRAINING, rejects incoming calls through Graph, and `drain({ timeoutMs: 0 })` hangs up
 * what is live and resolves with the artifacts written.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMediabot, type ComposedMediabot } from '../../../src/app/mediabot.js';
import { silentLogger } from '../../../src/logger.js';
import { testConfig, until } from './helpers.js';

const TOKEN = 'admission-test-token-0123456789-abcdef';
let bot: ComposedMediabot;

const post = async (path: string, body: unknown): Promise<{ status: number; json: any }> => {
  const res = await fetch(`${bot.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, json: await res.json().catch(() => null) };
};

beforeAll(async () => {
  bot = await startMediabot(testConfig({ MEDIABOT_API_TOKEN: TOKEN, MEDIABOT_MAX_CALLS: '1' }), { logger: silentLogger });
});
afterAll(async () => {
  await bot?.close();
});

describe('admission', () => {
  it('at MEDIABOT_MAX_CALLS: not ready, and new calls get 503 MEDIABOT_AT_CAPACITY', async () => {
    const ready0 = await fetch(`${bot.url}/readyz`);
    expect(ready0.status).toBe(200);
    const meeting = bot.emulator!.createMeeting({ people: 1, endWhenEmpty: false });
    const first = await post('/v1/calls', { joinWebUrl: meeting.joinWebUrl });
    expect(first.status).toBe(201);
    const second = await post('/v1/calls', { joinWebUrl: meeting.joinWebUrl });
    expect(second.status).toBe(503);
    expect(second.json.error.code).toBe('MEDIABOT_AT_CAPACITY');
    await expect(bot.calls.join({ joinWebUrl: meeting.joinWebUrl })).rejects.toMatchObject({ code: 'MEDIABOT_AT_CAPACITY' });
    const ready = await fetch(`${bot.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { checks: Record<string, boolean> }).checks['capacity']).toBe(false);
    // An incoming call at the cap is rejected through Graph.
    const incoming = bot.emulator!.placeIncomingCall({ callbackUri: bot.callbackUri });
    const rejected = await until('incoming rejected', () => {
      const d = bot.emulator!.callDetails(incoming);
      return d?.['state'] === 'terminated' ? d : undefined;
    }, 10_000);
    expect((rejected['resultInfo'] as { subcode: number }).subcode).toBe(7000);
  }, 60_000);

  it('drain(): refuses calls with MEDIABOT_DRAINING, hangs up on timeoutMs 0 and resolves with the artifacts written', async () => {
    // The rejected incoming call ends on the bot's side once Graph's notification arrives.
    const live = await until('one active call', () => {
      const l = bot.calls.list({ state: 'active' });
      return l.length === 1 ? l : undefined;
    }, 15_000);
    const callId = live[0]!.id;
    await until('established', () => (bot.calls.get(callId).state === 'established' ? true : undefined), 20_000);
    const draining = bot.drain({ timeoutMs: 60_000 });
    expect(bot.draining).toBe(true);
    const refused = await post('/v1/calls', { joinWebUrl: 'https://teams.microsoft.com/l/meetup-join/x' });
    expect(refused.status).toBe(503);
    expect(refused.json.error.code).toBe('MEDIABOT_DRAINING');
    await expect(bot.calls.place({ targets: [{ user: { id: '8a2b6d54-3bd0-4c47-9a3a-0c4b2f1f7d01' } } as never] })).rejects.toMatchObject({ code: 'MEDIABOT_DRAINING' });
    expect(bot.calls.get(callId).state).toBe('established');
    // A second drain with no time left hangs up now.
    const result = await bot.drain({ timeoutMs: 0 });
    expect(await draining).toBe(result);
    expect(result).toMatchObject({ hungUp: 1, endedOnTheirOwn: 0, cutShort: true });
    expect(bot.service.artifacts(callId)?.files.some((f) => f.endsWith('call.json'))).toBe(true);
    expect(bot.emulator!.callDetails(callId)?.['state']).toBe('terminated');
  }, 90_000);
});
