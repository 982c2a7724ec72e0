/**
 * The other ways a call starts, against the emulator: an incoming call answered with app-hosted
 * media (the caller is heard and recorded), a call placed to a target, and a meeting joined with
 * service-hosted media whose prompt goes through Graph playPrompt (awaited to completion).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMediabot, type ComposedMediabot } from '../../../src/app/mediabot.js';
import { silentLogger } from '../../../src/logger.js';
import { testConfig, until } from './helpers.js';

let bot: ComposedMediabot;

const api = async (method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> => {
  const res = await fetch(`${bot.url}${path}`, { method, ...(body !== undefined ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}) });
  return { status: res.status, json: await res.json().catch(() => null) };
};

const established = (id: string): Promise<true> => until(`${id} established`, () => (bot.signaling.registry.get(id)?.state === 'established' ? true : undefined));

beforeAll(async () => {
  bot = await startMediabot(testConfig({ MEDIABOT_TRANSCRIBER: 'none' }), { logger: silentLogger });
});

afterAll(async () => {
  await bot?.close();
});

describe('call kinds', () => {
  it('answers an incoming call with app-hosted media and hears the caller', async () => {
    const id = bot.emulator!.placeIncomingCall({ callbackUri: bot.callbackUri, from: { displayName: 'Dana Caller' } });
    await established(id);
    expect(bot.calls.get(id).media).toBe('app');
    const caller = await until(
      'the caller talking',
      async () => ((await api('GET', `/v1/calls/${id}/participants`)).json.participants as any[]).find((p) => p.displayName === 'Dana Caller' && p.talkMs + (p.talking ? 1 : 0) > 0),
      20_000,
      200,
    );
    expect(caller.sourceIds.length).toBe(1);
    expect((await api('DELETE', `/v1/calls/${id}`)).status).toBe(202);
    const art = await bot.calls.whenFinalized(id);
    expect(art.recordings.some((r) => r.speaker === 'Dana Caller' && r.bytes > 1000)).toBe(true);
  });

  it('places a call to a user target', async () => {
    const created = await api('POST', '/v1/calls', { targets: [{ type: 'user', id: '8b081ef6-4792-4def-b2c9-c363a1bf41d5', displayName: 'Erin Target' }] });
    expect(created.status).toBe(201);
    const id = created.json.id as string;
    await established(id);
    await until('Erin in the roster', async () => ((await api('GET', `/v1/calls/${id}/participants`)).json.participants as any[]).some((p) => p.displayName === 'Erin Target') || undefined);
    expect((await api('DELETE', `/v1/calls/${id}`)).status).toBe(202);
    await bot.calls.whenFinalized(id);
  });

  it('joins with service-hosted media and plays a prompt through Graph playPrompt', async () => {
    const meeting = bot.emulator!.createMeeting({ subject: 'service media' });
    const created = await api('POST', '/v1/calls', { joinWebUrl: meeting.joinWebUrl, media: 'service' });
    expect(created.status).toBe(201);
    expect(created.json.media).toBe('service');
    const id = created.json.id as string;
    await established(id);
    const played = await api('POST', `/v1/calls/${id}/play`, { text: 'Welcome to the meeting.' });
    expect(played.status).toBe(200);
    expect(played.json.via).toBe('graph');
    // The emulator reads the WAV mediabot serves to time the prompt: it took about as long as the speech.
    expect(played.json.durationMs).toBeGreaterThan(800);
    const ops = ((bot.emulator!.callDetails(id) as any).operations as any[]).filter((o) => o.type === 'playPromptOperation');
    expect(ops.map((o) => o.status)).toEqual(['completed']);
    expect((await api('DELETE', `/v1/calls/${id}`)).status).toBe(202);
    const art = await bot.calls.whenFinalized(id);
    expect(art.recordings).toEqual([]);
  });
});
