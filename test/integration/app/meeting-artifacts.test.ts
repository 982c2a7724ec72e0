/**
 * Teams' meeting artifacts after a meeting the worker joined, against the embedded emulator: with
 * MEDIABOT_FETCH_MEETING_ARTIFACTS on, a short meeting ends, the worker fetches the attendance
 * report and Teams' transcript into the call's folder, announces them (events WebSocket, signed
 * webhook, `bot.events`) and serves them at GET /v1/calls/:id/meeting-artifacts and in code. A call
 * whose settings say `fetchMeetingArtifacts: false` gets none; settings it cannot honour are a 400.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import WebSocket from 'ws';
import { createMediabot, type LiveEventOf, type Mediabot } from '../../../src/index.js';
import { silentLogger } from '../../../src/logger.js';
import { newSecret, startReceiver, type Receiver } from '../webhooks/receiver.js';
import { testConfig, until } from './helpers.js';

const SAID = 'The lighthouse keeper counted seven green boats before noon.';
const PERSON = { name: 'Nadia Brooks', voice: 'en-us', sentences: [SAID] };

let bot: Mediabot;
let receiver: Receiver;
let ws: WebSocket;
const onSocket: any[] = [];

async function http(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${bot.url}${path}`, { method, ...(body !== undefined ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}) });
  return { status: res.status, body: await res.json() };
}

beforeAll(async () => {
  const secret = newSecret();
  receiver = await startReceiver(secret);
  const cfg = testConfig({
    MEDIABOT_TRANSCRIBER: 'none',
    MEDIABOT_FETCH_MEETING_ARTIFACTS: 'on',
    MEDIABOT_WEBHOOK_URL: `${receiver.url}/hooks`,
    MEDIABOT_WEBHOOK_SECRET: secret,
    MEDIABOT_FETCH_ALLOWLIST: '127.0.0.1',
  });
  bot = await createMediabot(cfg, {
    logger: silentLogger,
    emulatorOptions: { timing: { establishMs: 30, joinStaggerMs: 50, stayAfterScriptMs: 200, emptyGraceMs: 200, callRecordDelayMs: 400 } },
    meetingArtifacts: { pollMs: 100, waitMs: 20_000 },
  });
  await bot.listen();
  ws = new WebSocket(`${bot.url.replace('http', 'ws')}/v1/events`);
  ws.on('message', (m) => onSocket.push(JSON.parse(String(m))));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
});

afterAll(async () => {
  ws?.close();
  await bot?.close();
  await receiver?.close();
});

describe('Teams meeting artifacts after a meeting', () => {
  it('fetches the attendance report and transcript, announces them and serves them', async () => {
    const stored: Array<LiveEventOf<'call.meetingArtifacts'>> = [];
    const off = bot.events.on('call.meetingArtifacts', (e) => stored.push(e));
    const meeting = bot.emulator!.createMeeting({ subject: 'artifacts', people: [PERSON] });
    const created = await http('POST', '/v1/calls', { joinWebUrl: meeting.joinWebUrl });
    expect(created.status).toBe(201);
    const callId = created.body.id as string;
    // Before the meeting ended there is nothing to serve.
    const early = await http('GET', `/v1/calls/${callId}/meeting-artifacts`);
    expect(early.status).toBe(404);
    expect(early.body.error.code).toBe('MEDIABOT_NOT_FOUND');

    // The only person says their sentence and leaves; the meeting ends the bot's call.
    const artifacts = await bot.calls.whenFinalized(callId, 60_000);
    const event = await until('call.meetingArtifacts', () => stored.find((e) => e.callId === callId), 30_000);
    off();
    const dir = artifacts.dir;
    expect(event.files.sort()).toEqual([join(dir, 'teams-attendance.json'), join(dir, 'teams-transcript.vtt')]);
    expect(event.attendanceRecords).toBe(1);
    expect(event.meetingId).toBe(meeting.id);
    // mediabot's own files are untouched beside them.
    expect(existsSync(join(dir, 'call.json'))).toBe(true);

    const got = await http('GET', `/v1/calls/${callId}/meeting-artifacts`);
    expect(got.status).toBe(200);
    expect(got.body.attendance.attendanceRecords).toHaveLength(1);
    expect(got.body.attendance.attendanceRecords[0]).toMatchObject({ identity: { displayName: PERSON.name }, totalAttendanceInSeconds: expect.any(Number) });
    expect(got.body.attendance.totalParticipantCount).toBe(1);
    const vtt = got.body.transcriptVtt as string;
    expect(vtt.startsWith('WEBVTT')).toBe(true);
    expect(vtt).toContain(`<v ${PERSON.name}>`);
    expect(vtt).toContain(SAID);
    expect(vtt).toBe(readFileSync(join(dir, 'teams-transcript.vtt'), 'utf8'));
    // The code API answers the same; ids are case-insensitive.
    expect(await bot.calls.meetingArtifacts(callId.toUpperCase())).toEqual(got.body);

    // The events WebSocket and the signed webhook carried it.
    const fromSocket = await until('the event on /v1/events', () => onSocket.find((e) => e.type === 'call.meetingArtifacts' && e.callId === callId), 10_000);
    // Outside the worker, files are named, not given as paths.
    expect(fromSocket).toMatchObject({ attendanceRecords: 1, meetingId: meeting.id });
    expect(fromSocket.files.sort()).toEqual(['teams-attendance.json', 'teams-transcript.vtt']);
    const hook = await until('the webhook', () => receiver.accepted().find((r) => r.payload.type === 'meeting_artifacts.stored' && r.payload.data['callId'] === callId), 20_000);
    expect(hook.payload.data).toMatchObject({ attendanceRecords: 1, url: `/v1/calls/${encodeURIComponent(callId)}/meeting-artifacts`, meetingId: meeting.id, files: expect.arrayContaining(['teams-attendance.json', 'teams-transcript.vtt']) });
    expect(receiver.bad).toEqual([]);
  }, 120_000);

  it('fetches nothing for a call that says fetchMeetingArtifacts: false', async () => {
    const meeting = bot.emulator!.createMeeting({ people: [PERSON] });
    const created = await http('POST', '/v1/calls', { joinWebUrl: meeting.joinWebUrl, fetchMeetingArtifacts: false });
    expect(created.status).toBe(201);
    const callId = created.body.id as string;
    await bot.calls.whenFinalized(callId, 60_000);
    // Longer than the emulator takes to make them and several poll intervals.
    await new Promise((r) => setTimeout(r, 1500));
    const got = await http('GET', `/v1/calls/${callId}/meeting-artifacts`);
    expect(got.status).toBe(404);
    expect(got.body.error.code).toBe('MEDIABOT_NOT_FOUND');
    await expect(bot.calls.meetingArtifacts(callId)).rejects.toMatchObject({ code: 'MEDIABOT_NOT_FOUND' });
  }, 120_000);

  it('refuses the setting where it cannot be honoured, and unknown calls', async () => {
    const placed = await http('POST', '/v1/calls', { targets: [{ type: 'user', id: '7f0d3b8e-1c2a-4b5d-9e6f-0a1b2c3d4e5f' }], fetchMeetingArtifacts: true });
    expect(placed.status).toBe(400);
    expect(placed.body.error.message).toContain('fetchMeetingArtifacts');
    const short = await http('POST', '/v1/calls', { joinWebUrl: 'https://teams.microsoft.com/meet/123456789012?p=abc', tenantId: bot.config.tenantId, fetchMeetingArtifacts: true });
    expect(short.status).toBe(400);
    expect(short.body.error.message).toContain('long join URL');
    const notBool = await http('POST', '/v1/calls', { joinWebUrl: bot.emulator!.createMeeting({ people: 0 }).joinWebUrl, fetchMeetingArtifacts: 'yes' });
    expect(notBool.status).toBe(400);
    expect(bot.calls.list({ state: 'active' })).toEqual([]);
    const unknown = await http('GET', '/v1/calls/no-such-call/meeting-artifacts');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('MEDIABOT_CALL_NOT_FOUND');
    expect((await http('GET', '/v1/calls/..%2F..%2Fetc/meeting-artifacts')).status).toBe(404);
  });
});

describe('a fetch still waiting for Graph', () => {
  it('is aborted by a drain, which does not wait for it', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    // Graph (the emulator) makes the artifacts only after two minutes; the worker would ask for ten.
    const slow = await createMediabot(testConfig({ MEDIABOT_TRANSCRIBER: 'none', MEDIABOT_FETCH_MEETING_ARTIFACTS: 'on' }), {
      logger,
      emulatorOptions: { timing: { establishMs: 30, callRecordDelayMs: 120_000 } },
      meetingArtifacts: { pollMs: 100, waitMs: 600_000 },
    });
    try {
      await slow.listen();
      const meeting = slow.emulator!.createMeeting({ people: 0, endWhenEmpty: false });
      const established = slow.events.next('call.state', (e) => e.state === 'established', 30_000);
      const call = await slow.calls.join({ joinWebUrl: meeting.joinWebUrl, media: 'service' });
      await established;
      await slow.calls.hangUp(call.id);
      await slow.calls.whenFinalized(call.id, 30_000);
      await expect(slow.calls.meetingArtifacts(call.id)).rejects.toMatchObject({ code: 'MEDIABOT_NOT_FOUND', message: expect.stringContaining('being fetched') });
      const started = Date.now();
      await slow.drain({ timeoutMs: 0 });
      expect(Date.now() - started).toBeLessThan(10_000);
      // The fetch was stopped (not left to fail against a closed client) before the drain finished.
      const fetchLog = lines.filter((l) => l['component'] === 'meeting-artifacts');
      expect(fetchLog).toEqual([expect.objectContaining({ callId: call.id, aborted: true, attendance: false, transcript: false })]);
    } finally {
      await slow.close();
    }
  }, 60_000);
});
