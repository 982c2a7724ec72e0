/**
 * Leave rules against the embedded Graph emulator: each rule ends a real call (hung up through
 * Graph, artifacts written) with its own reason code, in GET /v1/calls/:id and the call.state
 * event; a bot held in a lobby meeting is `inLobby`, leaves after the lobby timeout, or joins when
 * admitted through the emulator's control API. Per-call timeouts are short so this runs fast.
 */
import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMediabot, type ComposedMediabot } from '../../../src/app/mediabot.js';
import type { LiveEventOf } from '../../../src/index.js';
import { identitySet, invitationParticipant } from '../../../src/graph/identities.js';
import { silentLogger } from '../../../src/logger.js';
import { testConfig, until } from './helpers.js';

let bot: ComposedMediabot;
const ONE_SENTENCE = [{ name: 'Alice Moreno', voice: 'en-us+f3', sentences: ['Good morning everyone, thanks for joining the weekly planning call.'] }];

beforeAll(async () => {
  bot = await startMediabot(testConfig({ MEDIABOT_TRANSCRIBER: 'none', MEDIABOT_RECORD: 'on' }), {
    logger: silentLogger,
    // People leave soon after their last sentence, so a call empties quickly.
    emulatorOptions: { timing: { stayAfterScriptMs: 600, joinStaggerMs: 100 } },
  });
});
afterAll(async () => {
  await bot?.close();
});

async function getCall(id: string): Promise<any> {
  const res = await fetch(`${bot.url}/v1/calls/${id}`);
  return res.json();
}

/** Joins a fresh emulator meeting with the given leave rules and waits for the call to end; returns what was seen. */
async function joinUntilEnd(meeting: Parameters<NonNullable<ComposedMediabot['emulator']>['createMeeting']>[0], leave: Record<string, number>, during?: (callId: string) => Promise<void>) {
  const m = bot.emulator!.createMeeting({ endWhenEmpty: false, ...meeting });
  const states: string[] = [];
  let callId = '';
  const talks: string[] = [];
  const offState = bot.events.on('call.state', (e) => {
    if (e.callId.toLowerCase() === callId.toLowerCase()) states.push(e.state);
  });
  const offTalk = bot.events.on('talk.start', (e) => {
    if (e.callId.toLowerCase() === callId.toLowerCase()) talks.push(e.sourceId);
  });
  const ended = bot.events.next('call.state', (e) => e.state === 'terminated' && e.callId.toLowerCase() === callId.toLowerCase(), 60_000);
  const t0 = Date.now();
  const res = await fetch(`${bot.url}/v1/calls`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ joinWebUrl: m.joinWebUrl, leave }) });
  const created = (await res.json()) as { id: string; leave: Record<string, number> };
  expect(res.status).toBe(201);
  callId = created.id;
  await during?.(callId);
  const end: LiveEventOf<'call.state'> = await ended;
  offState();
  offTalk();
  return { callId, created, end, states, talks, ms: Date.now() - t0 };
}

describe('leave rules end calls with their own reason', () => {
  it('leaves when no human is left (an invited application does not count), and writes the artifacts', async () => {
    const { callId, created, end } = await joinUntilEnd({ people: ONE_SENTENCE }, { whenAloneS: 1, noOneJoinedS: 0, silenceS: 0 }, async (id) => {
      await until('established', () => (bot.calls.get(id).state === 'established' ? true : undefined));
      // Another bot in the meeting: an application identity.
      await bot.graph.graph.participants.invite(id, { participants: [invitationParticipant(identitySet('application', 'a0d5c8a1-0000-4000-8000-00000000beef', { displayName: 'Other notetaker' }))] });
      await until('the other bot in the roster', () => (bot.calls.participants(id).some((p) => p.displayName === 'Other notetaker') ? true : undefined));
    });
    expect(created.leave).toMatchObject({ whenAloneS: 1, noOneJoinedS: 0, silenceS: 0, maxDurationS: 14_400 });
    expect(end.reason?.reasonCode).toBe('MEDIABOT_LEFT_ALONE');
    expect(end.reason?.explanation).toContain('no human was left');
    const json = await getCall(callId);
    expect(json.termination.reasonCode).toBe('MEDIABOT_LEFT_ALONE');
    // mediabot hung up (the emulator ended the call on its DELETE); the other bot was still there.
    const emu = bot.emulator!.callDetails(callId) as { state: string; resultInfo: { subcode: number } | null; participants?: Array<{ displayName: string }> };
    expect(emu.state).toBe('terminated');
    expect(emu.resultInfo?.subcode).toBe(5001);
    const artifacts = await bot.calls.whenFinalized(callId, 30_000);
    expect(artifacts.recordings.length).toBeGreaterThan(0);
  }, 90_000);

  it('leaves when no one joined within the time', async () => {
    const { callId, end, ms } = await joinUntilEnd({ people: 0 }, { noOneJoinedS: 1 });
    expect(end.reason?.reasonCode).toBe('MEDIABOT_NO_ONE_JOINED');
    expect(ms).toBeGreaterThanOrEqual(1000);
    expect((await getCall(callId)).termination.reasonCode).toBe('MEDIABOT_NO_ONE_JOINED');
  }, 60_000);

  it('leaves after silence, counted from the last talk', async () => {
    const { callId, end, talks } = await joinUntilEnd({ people: ONE_SENTENCE, endWhenEmpty: false }, { silenceS: 1.2, silenceGraceS: 0, whenAloneS: 0, noOneJoinedS: 0 });
    expect(end.reason?.reasonCode).toBe('MEDIABOT_LEFT_SILENCE');
    // Someone talked first, so the rule waited for their talk to end.
    expect(talks.length).toBeGreaterThan(0);
    expect((await getCall(callId)).termination.reasonCode).toBe('MEDIABOT_LEFT_SILENCE');
  }, 60_000);

  it('leaves at the maximum duration while people are still there', async () => {
    const { callId, end } = await joinUntilEnd({ people: 2 }, { maxDurationS: 2, whenAloneS: 0, silenceS: 0 });
    expect(end.reason?.reasonCode).toBe('MEDIABOT_LEFT_MAX_DURATION');
    expect((await getCall(callId)).termination.reasonCode).toBe('MEDIABOT_LEFT_MAX_DURATION');
  }, 60_000);

  it('refuses a bad leave object with 400', async () => {
    const m = bot.emulator!.createMeeting({ people: 0 });
    for (const leave of [{ whenAloneS: -1 }, { nope: 3 }, 'soon']) {
      const res = await fetch(`${bot.url}/v1/calls`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ joinWebUrl: m.joinWebUrl, leave }) });
      expect(res.status).toBe(400);
      expect(((await res.json()) as any).error.code).toBe('MEDIABOT_BAD_REQUEST');
    }
    await expect(bot.calls.join({ joinWebUrl: m.joinWebUrl, leave: { silenceS: -5 } })).rejects.toMatchObject({ code: 'MEDIABOT_BAD_REQUEST' });
    expect(bot.calls.list({ state: 'active' })).toEqual([]);
  });

  it('describes leave in the OpenAPI document', async () => {
    const spec = (await (await fetch(`${bot.url}/docs/json`)).json()) as any;
    const body = spec.paths['/v1/calls'].post.requestBody.content['application/json'].schema;
    expect(Object.keys(body.properties.leave.properties).sort()).toEqual(['lobbyTimeoutS', 'maxDurationS', 'noOneJoinedS', 'silenceGraceS', 'silenceS', 'whenAloneS']);
    expect(body.properties.leave.properties.whenAloneS.description).toContain('MEDIABOT_LEAVE_WHEN_ALONE_S');
  });
});

/** POST to the emulator's control API (its own CA, its control token). */
function emulatorControl(path: string): Promise<number> {
  const emu = bot.emulator!;
  const url = new URL(path, emu.baseUrl);
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', ca: emu.caPem, headers: { authorization: `Bearer ${emu.controlToken}` } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the lobby', () => {
  it('shows a bot held in the lobby as inLobby, and leaves after the lobby timeout', async () => {
    const { callId, end, states } = await joinUntilEnd({ people: 1, lobby: true }, { lobbyTimeoutS: 1.5 }, async (id) => {
      await until('inLobby', () => (bot.calls.get(id).state === 'inLobby' ? true : undefined));
      const json = await getCall(id);
      expect(json.state).toBe('inLobby');
      expect(json.participants.find((p: any) => p.identity?.kind === 'application')?.inLobby).toBe(true);
      const listed = (await (await fetch(`${bot.url}/v1/calls?state=inLobby`)).json()) as { calls: Array<{ id: string }> };
      expect(listed.calls.map((c) => c.id)).toEqual([id]);
    });
    expect(states).toContain('inLobby');
    expect(states).not.toContain('established');
    expect(end.reason?.reasonCode).toBe('MEDIABOT_LOBBY_TIMEOUT');
    expect((await getCall(callId)).termination.reasonCode).toBe('MEDIABOT_LOBBY_TIMEOUT');
  }, 60_000);

  it('joins the meeting when admitted through the emulator control API', async () => {
    const { end, states } = await joinUntilEnd({ people: 1, lobby: true }, { lobbyTimeoutS: 30, maxDurationS: 1 }, async (id) => {
      await until('inLobby', () => (bot.calls.get(id).state === 'inLobby' ? true : undefined));
      expect(await emulatorControl(`/_emulator/calls/${id}/admit`)).toBe(204);
      await until('established', () => (bot.calls.get(id).state === 'established' ? true : undefined));
      expect(bot.calls.participants(id).find((p) => p.isBot)?.inLobby).toBe(false);
      // Admitting twice is refused.
      expect(await emulatorControl(`/_emulator/calls/${id}/admit`)).toBe(400);
    });
    expect(states.indexOf('inLobby')).toBeLessThan(states.indexOf('established'));
    expect(end.reason?.reasonCode).toBe('MEDIABOT_LEFT_MAX_DURATION');
  }, 60_000);
});
