/**
 * Deleting a call's data end to end: a real mediabot (fastify on 127.0.0.1, media threads,
 * pocketsphinx, the recorder, SQLite) joins a meeting of the embedded Graph emulator, whose people
 * speak over RTP/Opus, with a per-call webhook URL and metadata; a real webhook receiver verifies
 * every signature; the call's artifacts are also copied to an object store over a real folder.
 * DELETE /v1/calls/:id/data is refused while the call is live, then removes the files, the
 * recordings, the rows (checked in the SQLite file through its own connection), the objects and
 * the call itself; the transcript text and metadata are no longer in the database file; the log,
 * the live event and the data.deleted webhook carry counts only. Then MEDIABOT_RETENTION_DAYS'
 * sweep, run with a clock days ahead, deletes a second call.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import WebSocket from 'ws';
import { createMediabot, startMediabot, type ComposedMediabot } from '../../../src/app/mediabot.js';
import { silentLogger } from '../../../src/logger.js';
import { until } from '../../helpers/redis.js';
import { FolderObjectStore } from '../retention/folder-store.js';
import { newSecret, startReceiver, type Receiver } from '../webhooks/receiver.js';
import { testConfig } from './helpers.js';

const TOKEN = 'retention-test-token-0123456789';
const DAY = 24 * 60 * 60 * 1000;
let bot: ComposedMediabot;
let receiver: Receiver;
let remote: FolderObjectStore;
let outside: string;
const liveEvents: any[] = [];
let ws: WebSocket;

const api = async (method: string, path: string, token: string | null = TOKEN): Promise<{ status: number; json: any }> => {
  const res = await fetch(`${bot.url}${path}`, { method, headers: token !== null ? { authorization: `Bearer ${token}` } : {} });
  const text = await res.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = null;
  }
  return { status: res.status, json };
};

/** The database file and its write-ahead log, as bytes. */
const dbBytes = (): Buffer => {
  const file = join(bot.config.dataDir, 'mediabot.db');
  return Buffer.concat([readFileSync(file), existsSync(`${file}-wal`) ? readFileSync(`${file}-wal`) : Buffer.alloc(0)]);
};

/** Rows of a call per table, counted through a connection of the test's own to the SQLite file. */
const rowsInFile = (callId: string): Record<string, number> => {
  const db = new Database(join(bot.config.dataDir, 'mediabot.db'), { readonly: true });
  try {
    const out: Record<string, number> = {};
    for (const t of ['calls', 'participants', 'talk_segments', 'transcript_lines', 'recordings', 'analytics', 'call_settings', 'call_requests']) {
      out[t] = (db.prepare(`SELECT count(*) AS n FROM ${t} WHERE call_id = ? COLLATE NOCASE`).get(callId) as { n: number }).n;
    }
    out['webhook_outbox'] = (db.prepare(`SELECT count(*) AS n FROM webhook_outbox WHERE call_id = ? COLLATE NOCASE AND type != 'data.deleted'`).get(callId) as { n: number }).n;
    return out;
  } finally {
    db.close();
  }
};

/** Joins a meeting, lets its people talk until `ready`, hangs up and waits for the artifacts. */
async function runCall(body: Record<string, unknown>, ready: (id: string) => Promise<boolean>): Promise<{ id: string; dir: string }> {
  const meeting = bot.emulator!.createMeeting({ subject: 'retention test', people: 2 });
  const res = await fetch(`${bot.url}/v1/calls`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ joinWebUrl: meeting.joinWebUrl, ...body }) });
  const created = (await res.json()) as any;
  expect(res.status, JSON.stringify(created)).toBe(201);
  const id: string = created.id;
  await until('established', async () => ((await api('GET', `/v1/calls/${id}`)).json.state === 'established' ? true : undefined), 30_000);
  await until('the call to have something to delete', async () => ((await ready(id)) ? true : undefined), 60_000, 500);
  expect((await api('DELETE', `/v1/calls/${id}`)).status).toBe(202);
  const artifacts = await bot.calls.whenFinalized(id, 60_000);
  return { id, dir: artifacts.dir };
}

beforeAll(async () => {
  const secret = newSecret();
  receiver = await startReceiver(secret);
  outside = mkdtempSync(join(tmpdir(), 'mediabot-retention-outside-'));
  remote = new FolderObjectStore(join(outside, 'object-store'));
  bot = await startMediabot(
    testConfig({
      MEDIABOT_API_TOKEN: TOKEN,
      MEDIABOT_TRANSCRIBER: 'pocketsphinx',
      MEDIABOT_RECORD: 'on',
      MEDIABOT_WEBHOOK_URL: `${receiver.url}/global`,
      MEDIABOT_WEBHOOK_SECRET: secret,
      MEDIABOT_FETCH_ALLOWLIST: '127.0.0.1',
      MEDIABOT_RETENTION_DAYS: '7',
    }),
    { logger: silentLogger, remoteCallData: remote },
  );
  // What an uploader would do: copy each call's artifacts into object storage once written.
  bot.events.on('call.artifacts', (e) => {
    void Promise.all(e.files.map(async (f) => remote.put(e.callId, basename(f), readFileSync(f)))).catch(() => undefined);
  });
  ws = new WebSocket(`${bot.url.replace('http', 'ws')}/v1/events?token=${TOKEN}`);
  ws.on('message', (m) => liveEvents.push(JSON.parse(String(m))));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
}, 60_000);

afterAll(async () => {
  ws?.close();
  await bot?.close();
  await receiver?.close();
  if (bot) rmSync(bot.config.dataDir, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

describe('DELETE /v1/calls/:id/data', () => {
  it('answers bad and unknown ids with 400 and 404, and needs the token', async () => {
    for (const path of ['/v1/calls/a%0Ab/data', '/v1/calls/%09/data']) {
      const r = await api('DELETE', path);
      expect(r.status, path).toBe(400);
      expect(r.json.error.code, path).toBe('MEDIABOT_BAD_REQUEST');
    }
    const unknown = await api('DELETE', '/v1/calls/00000000-0000-4000-8000-000000000000/data');
    expect(unknown.status).toBe(404);
    expect(unknown.json.error.code).toBe('MEDIABOT_CALL_NOT_FOUND');
    expect((await api('DELETE', '/v1/calls/00000000-0000-4000-8000-000000000000/data', null)).status).toBe(401);
    expect((await api('GET', '/v1/deletions')).json).toEqual({ deletions: [] });
    expect((await api('GET', '/v1/deletions?reason=sometimes')).status).toBe(400);
  });

  it('is refused while the call is live, then deletes everything of the call and keeps counts only', async () => {
    let refusedWhileLive: any = null;
    let lines: Array<{ text: string }> = [];
    const { id, dir } = await runCall({ webhookUrl: `${receiver.url}/call`, metadata: { ticket: 'ticket-7731-confidential' } }, async (callId) => {
      if (refusedWhileLive === null) refusedWhileLive = await api('DELETE', `/v1/calls/${callId}/data`);
      lines = (await api('GET', `/v1/calls/${callId}/transcript`)).json.lines;
      return lines.some((l) => l.text.length >= 10);
    });
    expect(refusedWhileLive.status).toBe(409);
    expect(refusedWhileLive.json.error.code).toBe('MEDIABOT_CALL_ACTIVE');
    expect(bot.calls.deletions()).toEqual([]);

    // What there is to delete: files, recordings, rows, delivered webhooks with the transcript, objects.
    const texts = (await api('GET', `/v1/calls/${id}/transcript`)).json.lines.map((l: any) => l.text as string).filter((t: string) => t.length >= 10);
    expect(texts.length).toBeGreaterThan(0);
    const recordings = (await api('GET', `/v1/calls/${id}/recordings`)).json.recordings as any[];
    expect(recordings.length).toBeGreaterThanOrEqual(2);
    const recordingsDir = dirname(await bot.calls.recordingPath(id, recordings[0].file));
    expect(existsSync(join(dir, 'transcript.json'))).toBe(true);
    await until('the artifacts in object storage', async () => ((await remote.keys(id)).some((k) => k.endsWith('call.json')) ? true : undefined), 10_000);
    const objectsBefore = (await remote.keys(id)).length;
    expect(await bot.webhooks.whenIdle(20_000, id)).toBe(0);
    const before = rowsInFile(id);
    expect(before).toMatchObject({ calls: 1, call_settings: 1, analytics: 1 });
    expect(before['transcript_lines']).toBeGreaterThan(0);
    expect(before['recordings']).toBeGreaterThan(0);
    expect(before['webhook_outbox']).toBeGreaterThan(0);
    const bytesBefore = dbBytes();
    for (const t of texts) expect(bytesBefore.includes(t), t).toBe(true);
    expect(bytesBefore.includes('ticket-7731-confidential')).toBe(true);
    // A symlink planted in the call's folder leads out of the data folder: it must not be followed.
    writeFileSync(join(outside, 'sentinel.txt'), 'not the call\'s');
    symlinkSync(join(outside, 'sentinel.txt'), join(dir, 'planted'));
    const deletedEvent = bot.events.next('data.deleted', (e) => e.callId === id, 30_000);

    const res = await api('DELETE', `/v1/calls/${id}/data`);
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    const record = res.json;
    expect(record).toMatchObject({ callId: id, reason: 'request', complete: true, failed: [], alreadyDeleted: false });
    expect(record.id).toMatch(/^del_/);
    expect(record.deleted.fileKinds).toMatchObject({ call: 1, transcript: 2, analytics: 1 });
    expect(record.deleted.fileKinds.recording).toBe(recordings.length);
    expect(record.deleted.bytes).toBeGreaterThan(recordings.reduce((a, r) => a + r.bytes, 0));
    expect(record.deleted.rows).toMatchObject({ calls: 1, call_settings: 1, analytics: 1, transcript_lines: before['transcript_lines'], webhook_outbox: before['webhook_outbox'] });
    expect(record.deleted.objects).toBe(objectsBefore);
    expect(record.deleted.inMemory).toBe(true);

    // Gone from disk, from object storage and from the database file; the planted link's target is kept.
    expect(existsSync(dir)).toBe(false);
    expect(existsSync(recordingsDir)).toBe(false);
    expect(await remote.keys(id)).toEqual([]);
    expect(readFileSync(join(outside, 'sentinel.txt'), 'utf8')).toBe('not the call\'s');
    expect(Object.entries(rowsInFile(id)).filter(([, n]) => n !== 0)).toEqual([]);
    const bytesAfter = dbBytes();
    for (const t of texts) expect(bytesAfter.includes(t), t).toBe(false);
    expect(bytesAfter.includes('ticket-7731-confidential')).toBe(false);

    // The call is unknown now: every route of it answers 404.
    for (const path of ['', '/transcript', '/transcript?format=vtt', '/recordings', '/analytics', '/participants']) {
      const r = await api('GET', `/v1/calls/${id}${path}`);
      expect(r.status, path).toBe(404);
      expect(r.json.error.code, path).toBe('MEDIABOT_CALL_NOT_FOUND');
    }
    expect((await api('GET', '/v1/calls')).json.calls.map((c: any) => c.id)).not.toContain(id);

    // The log: over HTTP and in code, with counts and no content.
    const { alreadyDeleted: _repeat, ...logged } = record;
    const listed = (await api('GET', `/v1/deletions?callId=${id}`)).json.deletions;
    expect(listed).toEqual([logged]);
    expect(bot.calls.deletions({ callId: id })).toEqual(listed);
    expect(JSON.stringify(listed)).not.toContain('ticket-7731');
    for (const t of texts) expect(JSON.stringify(listed)).not.toContain(t);

    // data.deleted: the live event (in code and on /v1/events) and the webhook to both URLs, without metadata.
    const ev = await deletedEvent;
    expect(ev).toMatchObject({ type: 'data.deleted', callId: id, deletionId: record.id, reason: 'request', deleted: record.deleted, at: record.at });
    await until('data.deleted on /v1/events', () => (liveEvents.some((e) => e.type === 'data.deleted' && e.callId === id) ? true : undefined), 10_000);
    const hooks = await until(
      'data.deleted webhooks to both URLs',
      () => {
        const got = receiver.accepted().filter((a) => a.payload.type === 'data.deleted' && a.payload.data['callId'] === id);
        return got.length === 2 ? got : undefined;
      },
      20_000,
    );
    expect(hooks.map((h) => h.path).sort()).toEqual(['/call', '/global']);
    for (const h of hooks) expect(h.payload.data).toEqual({ callId: id, deletionId: record.id, reason: 'request', deleted: record.deleted, at: record.at, metadata: null });
    expect(receiver.bad).toEqual([]);

    // Again: nothing left, the same record.
    const again = await api('DELETE', `/v1/calls/${id}/data`);
    expect(again.status).toBe(200);
    expect(again.json).toEqual({ ...record, alreadyDeleted: true });
    expect((await bot.calls.deleteData(id)).id).toBe(record.id);
    expect(bot.calls.deletions()).toHaveLength(1);
  }, 240_000);

  it('deletes a call that ended more than MEDIABOT_RETENTION_DAYS ago on the sweep (clock days ahead)', async () => {
    const { id, dir } = await runCall({}, async (callId) => bot.calls.participants(callId).some((p) => p.talkMs > 0));
    expect(existsSync(join(dir, 'call.json'))).toBe(true);
    expect(await bot.retention.sweeper.sweep(new Date(Date.now() + 6 * DAY))).toEqual([]);
    expect(existsSync(join(dir, 'call.json'))).toBe(true);
    const swept = await bot.retention.sweeper.sweep(new Date(Date.now() + 7 * DAY + 60_000));
    expect(swept.map((r) => [r.callId, r.reason, r.complete])).toEqual([[id, 'retention', true]]);
    expect(existsSync(dir)).toBe(false);
    expect(Object.entries(rowsInFile(id)).filter(([, n]) => n !== 0)).toEqual([]);
    expect((await api('GET', `/v1/calls/${id}`)).status).toBe(404);
    expect((await api('GET', '/v1/deletions?reason=retention')).json.deletions.map((d: any) => d.callId)).toEqual([id]);
    const hook = await until('the retention data.deleted webhook', () => receiver.accepted().find((a) => a.payload.type === 'data.deleted' && a.payload.data['callId'] === id), 20_000);
    expect(hook.payload.data['reason']).toBe('retention');
    expect(hook.path).toBe('/global');
  }, 180_000);

  it('is in the OpenAPI document', async () => {
    const spec = (await (await fetch(`${bot.url}/docs/json`)).json()) as any;
    expect(Object.keys(spec.paths['/v1/calls/{id}/data'] ?? {})).toContain('delete');
    expect(Object.keys(spec.paths['/v1/deletions'] ?? {})).toContain('get');
  });
});

describe('deleting the data of a call whose Teams artifacts are still being fetched', () => {
  it('stops the fetch first, so nothing is written into the deleted folder', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    // Graph (the emulator) has the meeting's artifacts only 3 s after the call ends.
    const slow = await createMediabot(testConfig({ MEDIABOT_TRANSCRIBER: 'none', MEDIABOT_FETCH_MEETING_ARTIFACTS: 'on' }), {
      logger,
      emulatorOptions: { timing: { establishMs: 30, callRecordDelayMs: 3000 } },
      meetingArtifacts: { pollMs: 100, waitMs: 60_000 },
    });
    try {
      await slow.listen();
      const meeting = slow.emulator!.createMeeting({ people: 0, endWhenEmpty: false });
      const established = slow.events.next('call.state', (e) => e.state === 'established', 30_000);
      const call = await slow.calls.join({ joinWebUrl: meeting.joinWebUrl, media: 'service' });
      await established;
      await slow.calls.hangUp(call.id);
      const { dir } = await slow.calls.whenFinalized(call.id, 30_000);
      await expect(slow.calls.meetingArtifacts(call.id)).rejects.toMatchObject({ code: 'MEDIABOT_NOT_FOUND', message: expect.stringContaining('being fetched') });
      const stored: unknown[] = [];
      slow.events.on('call.meetingArtifacts', (e) => stored.push(e));

      const started = Date.now();
      const record = await slow.calls.deleteData(call.id);
      expect(Date.now() - started).toBeLessThan(2500);
      expect(record).toMatchObject({ complete: true, deleted: { inMemory: true, fileKinds: { call: 1 } } });
      // Past the moment Graph has the artifacts: the fetch was stopped, not left to write or fail.
      await new Promise((r) => setTimeout(r, 4000));
      expect(existsSync(dir)).toBe(false);
      expect(stored).toEqual([]);
      const fetchLog = lines.filter((l) => l['component'] === 'meeting-artifacts');
      expect(fetchLog).toEqual([expect.objectContaining({ callId: call.id, aborted: true, attendance: false, transcript: false })]);
    } finally {
      await slow.close();
      rmSync(slow.config.dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});
