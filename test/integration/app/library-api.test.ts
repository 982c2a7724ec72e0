/**
 * What a user does over HTTP, a developer does in code: one call driven only through the public
 * `Mediabot` (calls.*, events.*), checked against what the operator API answers for the same call.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMediabot, MediabotError, type LiveEventOf, type Mediabot } from '../../../src/index.js';
import { silentLogger } from '../../../src/logger.js';
import { testConfig, until } from './helpers.js';

let bot: Mediabot;

async function http(method: string, path: string): Promise<{ status: number; body: any; text: string }> {
  const res = await fetch(`${bot.url}${path}`, { method });
  const text = await res.text();
  let body: unknown = null;
  try {
    body = JSON.parse(text);
  } catch {
    // WebVTT and other text bodies
  }
  return { status: res.status, body, text };
}

beforeAll(async () => {
  bot = await createMediabot(testConfig({ MEDIABOT_TRANSCRIBER: 'none', MEDIABOT_RECORD: 'on' }), { logger: silentLogger });
  await bot.listen();
});
afterAll(async () => {
  await bot?.close();
});

describe('the library API mirrors the operator API', () => {
  it('rejects bad input with the same MEDIABOT_* codes, and changes nothing', async () => {
    await expect(bot.calls.join({ joinWebUrl: 'https://example.com/not-a-meeting' })).rejects.toMatchObject({ code: 'MEDIABOT_JOIN_URL_INVALID' });
    await expect(bot.calls.place({ targets: [] })).rejects.toBeInstanceOf(MediabotError);
    await expect(bot.calls.hangUp('no-such-call')).rejects.toMatchObject({ code: 'MEDIABOT_CALL_NOT_FOUND' });
    expect((await http('GET', '/v1/calls/no-such-call')).body.error.code).toBe('MEDIABOT_CALL_NOT_FOUND');
    expect(bot.calls.list()).toEqual([]);
  });

  it('joins, plays, mutes, lists, hangs up and finalizes a call in code', async () => {
    const states: string[] = [];
    const offState = bot.events.on('call.state', (e) => states.push(e.state));
    const talks: Array<LiveEventOf<'talk.start'>> = [];
    const offTalk = bot.events.on('talk.start', (e) => talks.push(e));

    const meeting = bot.emulator!.createMeeting({ subject: 'library api', people: 2 });
    const established = bot.events.next('call.state', (e) => e.state === 'established', 30_000);
    const call = await bot.calls.join({ joinWebUrl: meeting.joinWebUrl });
    expect(call.media).toBe('app');
    expect((await established).callId.toLowerCase()).toBe(call.id.toLowerCase());

    // list/get are GET /v1/calls and GET /v1/calls/:id, field for field.
    const viaHttp = (await http('GET', `/v1/calls/${call.id}`)).body;
    expect({ ...bot.calls.get(call.id), media: undefined }).toEqual({ ...viaHttp, media: undefined });
    expect(bot.calls.list({ state: 'active' }).map((c) => c.id)).toEqual([call.id]);
    expect(bot.calls.list({ state: 'terminated' })).toEqual([]);

    const people = await until('two people talking', () => {
      const list = bot.calls.participants(call.id).filter((p) => !p.isBot && p.sourceIds.length > 0 && (p.talkMs > 0 || p.talking));
      return list.length >= 2 ? list : undefined;
    }, 30_000, 250);
    expect(people.map((p) => p.displayName)).toEqual(expect.arrayContaining(bot.emulator!.script.slice(0, 2).map((s) => s.name)));
    expect(talks.length).toBeGreaterThan(0);
    expect(bot.calls.speakers(call.id).filter((s) => s.displayName !== null).length).toBeGreaterThanOrEqual(2);

    const played = await bot.calls.play(call.id, { text: 'Hello from the library.' });
    expect(played.via).toBe('media');
    expect(played.durationMs).toBeGreaterThan(500);

    expect(await bot.calls.mute(call.id)).toMatchObject({ muted: true });
    expect(((bot.emulator!.callDetails(call.id) as any).participants as any[]).find((p) => p.kind === 'bot').isMuted).toBe(true);
    expect(await bot.calls.unmute(call.id)).toMatchObject({ muted: false });

    expect(bot.calls.analytics(call.id)).toMatchObject({ final: false });
    await bot.calls.hangUp(call.id);
    const artifacts = await bot.calls.whenFinalized(call.id, 60_000);
    expect(artifacts.recordings.length).toBeGreaterThan(0);
    expect(states).toContain('terminated');
    expect(bot.calls.get(call.id).state).toBe('terminated');
    await expect(bot.calls.hangUp(call.id)).rejects.toMatchObject({ code: 'MEDIABOT_CALL_TERMINATED' });

    // After the call: the same transcript, recordings and analytics as the HTTP routes.
    expect(bot.calls.transcript(call.id)).toEqual((await http('GET', `/v1/calls/${call.id}/transcript`)).body);
    expect(bot.calls.transcriptVtt(call.id)).toBe((await http('GET', `/v1/calls/${call.id}/transcript?format=vtt`)).text);
    const recordings = await bot.calls.recordings(call.id);
    expect(recordings.map((r) => r.file)).toEqual((await http('GET', `/v1/calls/${call.id}/recordings`)).body.recordings.map((r: any) => r.file));
    const path = await bot.calls.recordingPath(call.id, recordings[0]!.file);
    expect(path.endsWith(recordings[0]!.file)).toBe(true);
    await expect(bot.calls.recordingPath(call.id, '../etc/passwd')).rejects.toMatchObject({ code: 'MEDIABOT_NOT_FOUND' });
    expect(bot.calls.analytics(call.id)).toEqual((await http('GET', `/v1/calls/${call.id}/analytics`)).body);
    offState();
    offTalk();
  });

  it('times out a wait for an event that never comes', async () => {
    await expect(bot.events.next('call.state', (e) => e.callId === 'never', 200)).rejects.toMatchObject({ code: 'MEDIABOT_OPERATION_TIMEOUT' });
  });
});
