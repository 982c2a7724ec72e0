/**
 * Teams' meeting artifacts end to end: a bot joins a simulated meeting whose people speak, leaves;
 * the emulator announces the transcript and recording to the subscriptions, and the client reads
 * the attendance report (and its records), the transcript (WebVTT made of what the people said),
 * the recording (a real MP4, checked with ffprobe) and getAllTranscripts / getAllRecordings.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifactSubscriptionResource, fetchMeetingArtifacts, serviceHostedMediaConfig } from '../../../src/graph/index.js';
import { loadConfig } from '../../../src/config/config.js';
import { readFileSync } from 'node:fs';
import { parseChangeNotifications } from '../../../src/signaling/notifications.js';
import { startRecorder, type RecorderServer } from './recorder.js';
import { emulatorWithClient, failure, untilEstablished } from './emulator-bundle.js';

let env: Awaited<ReturnType<typeof emulatorWithClient>>;
let hooks: RecorderServer;

beforeAll(async () => {
  env = await emulatorWithClient({ timing: { establishMs: 30, joinStaggerMs: 50, callRecordDelayMs: 100, stayAfterScriptMs: 500 } });
  // Answers Graph's subscription validation (echo the token), accepts everything else.
  hooks = await startRecorder((r) => {
    const t = r.query.get('validationToken');
    return t !== null ? { status: 200, raw: t, headers: { 'content-type': 'text/plain' } } : { status: 202 };
  });
});

afterAll(async () => {
  await env?.close();
  await hooks?.close();
});

async function until<T>(f: () => Promise<T | undefined> | T | undefined, what: string, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('meeting artifacts', () => {
  it('attendance, transcript (WebVTT), recording (MP4), getAll*, and the notifications that announce them', async () => {
    const { graph } = env.bundle;
    const meeting = env.emulator.createMeeting({ people: 2 });
    const organizer = (meeting as any).participants.organizer.identity.user.id as string;
    const expiry = new Date(Date.now() + 3600_000).toISOString();
    const subT = await graph.subscriptions.create({ changeType: 'created', notificationUrl: `${hooks.url}/artifacts`, resource: artifactSubscriptionResource.organizerTranscripts(organizer), expirationDateTime: expiry, clientState: 'ct' });
    const subR = await graph.subscriptions.create({ changeType: 'created', notificationUrl: `${hooks.url}/artifacts`, resource: artifactSubscriptionResource.allRecordings(), expirationDateTime: expiry, clientState: 'cr' });

    const call = await graph.calls.joinMeeting({ callbackUri: `${hooks.url}/api/calling`, joinWebUrl: meeting.joinWebUrl, mediaConfig: serviceHostedMediaConfig() });
    await untilEstablished(graph, call.id!);
    // Stay until someone has said something (the script says when).
    const script = await until(() => {
      const s = env.emulator.callDetails(call.id!)?.['script'] as Array<{ utterances: Array<{ text: string; endMs: number }> }> | undefined;
      return s && s.length > 0 ? s : undefined;
    }, 'the speech script');
    const firstEnd = Math.min(...script.flatMap((e) => e.utterances.map((u) => u.endMs)));
    await new Promise((r) => setTimeout(r, firstEnd + 200));
    await graph.calls.delete(call.id!);

    const announced = await until(() => {
      const items = hooks.requests.filter((r) => r.path === '/artifacts' && r.body !== undefined).flatMap((r) => parseChangeNotifications(r.body));
      const arts = items.filter((i) => i.kind === 'meetingArtifact');
      return arts.length >= 2 ? arts : undefined;
    }, 'artifact notifications');
    const byKind = Object.fromEntries(announced.map((a) => [a.kind === 'meetingArtifact' ? a.artifact : '', a]));
    expect(byKind['transcript']).toMatchObject({ meetingId: meeting.id, subscriptionId: subT.id, clientState: 'ct', changeType: 'created' });
    expect(byKind['recording']).toMatchObject({ meetingId: meeting.id, subscriptionId: subR.id, clientState: 'cr' });

    const owner = { userId: organizer };
    const reports = await graph.artifacts.attendanceReports.list(meeting.id, owner);
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ totalParticipantCount: 2, meetingStartDateTime: expect.any(String), meetingEndDateTime: expect.any(String) });
    const full = await graph.artifacts.attendanceReports.get(meeting.id, reports[0]!.id!, { ...owner, records: true });
    const records = await graph.artifacts.attendanceReports.records(meeting.id, reports[0]!.id!, owner);
    expect(full.attendanceRecords).toEqual(records);
    expect(records.map((r) => r.identity?.displayName).sort()).toEqual(env.emulator.script.slice(0, 2).map((s) => s.name).sort());
    for (const r of records) {
      expect(r.totalAttendanceInSeconds).toBeGreaterThanOrEqual(0);
      expect(r.attendanceIntervals?.[0]).toMatchObject({ joinDateTime: expect.any(String), leaveDateTime: expect.any(String) });
    }

    const transcripts = await graph.artifacts.transcripts.list(meeting.id, owner);
    expect(transcripts.map((t) => t.id)).toEqual([(byKind['transcript'] as { artifactId: string }).artifactId]);
    const t = await graph.artifacts.transcripts.get(meeting.id, transcripts[0]!.id!, owner);
    expect(t).toMatchObject({ meetingId: meeting.id, callId: call.id, meetingOrganizer: { user: { id: organizer } } });
    const vtt = await graph.artifacts.transcripts.content(meeting.id, t.id!, owner);
    expect(vtt.startsWith('WEBVTT\n')).toBe(true);
    const said = script.flatMap((e) => e.utterances).find((u) => u.endMs <= firstEnd)!.text;
    expect(vtt).toContain(said);
    expect(vtt).toMatch(/\d{2}:\d{2}:\d{2}\.\d{3} --> \d{2}:\d{2}:\d{2}\.\d{3}\n<v [^>]+>/);

    const recordings = await graph.artifacts.recordings.list(meeting.id, owner);
    expect(recordings).toHaveLength(1);
    const mp4 = await graph.artifacts.recordings.content(meeting.id, recordings[0]!.id!, owner);
    expect(mp4.subarray(4, 8).toString('latin1')).toBe('ftyp');
    const dir = mkdtempSync(join(tmpdir(), 'mediabot-artifacts-'));
    try {
      writeFileSync(join(dir, 'r.mp4'), mp4);
      const probe = execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name:format=duration', '-of', 'json', join(dir, 'r.mp4')], { encoding: 'utf8' });
      const info = JSON.parse(probe) as { streams: Array<{ codec_name: string }>; format: { duration: string } };
      expect(info.streams[0]?.codec_name).toBe('aac');
      expect(Number(info.format.duration)).toBeGreaterThan(0.5);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }

    expect((await graph.artifacts.getAllTranscripts(owner)).map((x) => x.id)).toEqual([t.id]);
    expect((await graph.artifacts.getAllRecordings({ ...owner, startDateTime: new Date(Date.now() - 600_000) })).map((x) => x.id)).toEqual([recordings[0]!.id]);
    expect(await graph.artifacts.getAllTranscripts({ ...owner, endDateTime: new Date(Date.now() - 600_000) })).toEqual([]);
  });

  it('needs the organizer (no /me) and the artifact permissions', async () => {
    const e = await failure(env.bundle.graph.artifacts.transcripts.list('m', undefined as never));
    expect(e).toMatchObject({ code: 'MEDIABOT_GRAPH_INVALID_ARGUMENT' });
    const lacking = await emulatorWithClient({ roles: ['Calls.JoinGroupCall.All'] });
    try {
      const m = lacking.emulator.createMeeting({ people: 0 });
      const organizer = (m as any).participants.organizer.identity.user.id as string;
      const denied = await failure(lacking.bundle.graph.artifacts.transcripts.list(m.id, { userId: organizer }));
      expect(denied).toMatchObject({ status: 403 });
      expect(denied.message).toContain('OnlineMeetingTranscript.Read.All');
      expect((await failure(lacking.bundle.graph.artifacts.getAllRecordings({ userId: organizer }))).status).toBe(403);
    } finally {
      await lacking.close();
    }
  });

  it('after the meeting: fetches the attendance report and the transcript of the bot\'s call into its folder', async () => {
    const { graph } = env.bundle;
    const meeting = env.emulator.createMeeting({ people: 1 });
    const call = await graph.calls.joinMeeting({ callbackUri: `${hooks.url}/api/calling`, joinWebUrl: meeting.joinWebUrl, mediaConfig: serviceHostedMediaConfig() });
    await untilEstablished(graph, call.id!);
    await new Promise((r) => setTimeout(r, 1500));
    await graph.calls.delete(call.id!);
    const dir = mkdtempSync(join(tmpdir(), 'mediabot-fetch-'));
    try {
      const got = await fetchMeetingArtifacts(graph, { joinWebUrl: meeting.joinWebUrl, callId: call.id!, dir, pollMs: 100, waitMs: 15_000 });
      expect(got.meetingId).toBe(meeting.id);
      expect(got.attendance).toMatchObject({ records: 1 });
      expect(JSON.parse(readFileSync(got.attendance!.path, 'utf8')).attendanceRecords).toHaveLength(1);
      expect(readFileSync(got.transcript!.path, 'utf8').startsWith('WEBVTT')).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(loadConfig({ MEDIABOT_FETCH_MEETING_ARTIFACTS: 'on' }).fetchMeetingArtifacts).toBe(true);
    expect(loadConfig({}).fetchMeetingArtifacts).toBe(false);
    expect(() => loadConfig({ MEDIABOT_FETCH_MEETING_ARTIFACTS: 'yes' })).toThrow(/MEDIABOT_FETCH_MEETING_ARTIFACTS/);
  });
});
