/**
 * Deleting calls' data over real parts: a SQLite file with the real stores, real folders and files
 * (call folders, recordings, symlinks planted to lead out), and an object store over a real
 * folder. The live side of the call service is the one thing given as plain data here (the
 * emulator test in test/integration/app/call-data-deletion.test.ts runs it for real).
 * Covers: what is deleted and what is kept, the log without content, the retention sweep with a
 * fake clock (at start and periodically), refusals, bad ids, symlinks, a failed step and its retry.
 */
import { existsSync, lstatSync, mkdirSync, readdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isMediabotError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/logger.js';
import { CallDataDeleter, type LiveCallsPort } from '../../../src/retention/call-data.js';
import { DeletionLog } from '../../../src/retention/deletion-log.js';
import { RetentionSweeper } from '../../../src/retention/schedule.js';
import { CallSettingsStore } from '../../../src/store/call-settings.js';
import { openDatabase, type Database } from '../../../src/store/db.js';
import { SpeechStore } from '../../../src/store/speech-store.js';
import { WebhookOutbox } from '../../../src/store/webhook-outbox.js';
import { until } from '../../helpers/redis.js';
import { FolderObjectStore } from './folder-store.js';

const DAY = 24 * 60 * 60 * 1000;
const T0 = Date.parse('2026-01-10T12:00:00.000Z');

let dir: string;
let outside: string;
let db: Database;
let clock: number;
let speech: SpeechStore;
let settings: CallSettingsStore;
let outbox: WebhookOutbox;
let log: DeletionLog;
let remote: FolderObjectStore;
let live: Map<string, 'live' | 'writing'>;
let inMemory: Set<string>;
let deleter: CallDataDeleter;
const deletedEvents: Array<{ callId: string; webhookUrl: string | null }> = [];

const calls: LiveCallsPort = {
  activity: (id) => live.get(id.toLowerCase()) ?? null,
  mediaIds: () => [],
  forget: async (id) => inMemory.delete(id.toLowerCase()),
};

function makeDeleter(): CallDataDeleter {
  return new CallDataDeleter({
    dataDir: dir,
    db,
    speech,
    settings,
    outbox,
    log,
    calls,
    remote,
    now: () => new Date(clock),
    onDeleted: (r, c) => deletedEvents.push({ callId: r.callId, webhookUrl: c.webhookUrl }),
    logger: silentLogger,
  });
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mediabot-retention-'));
  outside = mkdtempSync(join(tmpdir(), 'mediabot-retention-outside-'));
  db = openDatabase(dir);
  clock = T0;
  speech = new SpeechStore(db, { now: () => new Date(clock), flushIntervalMs: 10 });
  settings = new CallSettingsStore(db);
  outbox = new WebhookOutbox(db);
  log = new DeletionLog(db);
  remote = new FolderObjectStore(join(dir, 'remote'));
  live = new Map();
  inMemory = new Set();
  deletedEvents.length = 0;
  deleter = makeDeleter();
});

afterEach(() => {
  speech.close();
  db.close();
  rmSync(dir, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

/** Stores a whole call as mediabot would: rows, settings, webhook messages, folders and files, objects. */
async function seedCall(callId: string, endedAt: number, text: string): Promise<{ callDir: string; recDir: string }> {
  clock = endedAt - 60_000;
  const mediaId = `media-${callId.toLowerCase()}`;
  const recDir = join(dir, 'recordings', mediaId);
  mkdirSync(recDir, { recursive: true });
  writeFileSync(join(recDir, 'mix.wav'), Buffer.alloc(4000, 1));
  writeFileSync(join(recDir, 'ssrc-1.opus'), Buffer.alloc(1000, 2));
  speech.recordEvent({ type: 'call.state', callId, state: 'established', previous: null, at: new Date(clock).toISOString() } as never);
  speech.recordEvent({ type: 'talk.stop', callId, sourceId: 'ssrc-1', mediaTimeMs: 3000, durationMs: 2000 } as never);
  speech.recordEvent({ type: 'transcript.final', callId, sourceId: 'ssrc-1', startMs: 1000, endMs: 3000, text } as never);
  speech.addRecording({ callId, sourceId: null, path: join(recDir, 'mix.wav'), format: 'wav', bytes: 4000 });
  clock = endedAt;
  speech.saveAnalytics(callId, { participants: [{ sourceId: 'ssrc-1', talkMs: 2000 }] });
  settings.saveSettings({ callId, webhookUrl: 'http://127.0.0.1:9/call-hook', metadata: { ticket: `ticket-of-${callId}` }, partialTranscripts: false }, endedAt - 120_000);
  outbox.add([{ id: `msg_${callId}`, callId, url: 'http://127.0.0.1:9/hook', type: 'transcript.final', body: JSON.stringify({ type: 'transcript.final', data: { text } }), createdAt: endedAt - 30_000 }]);
  const callDir = join(dir, 'calls', callId);
  mkdirSync(callDir, { recursive: true });
  writeFileSync(join(callDir, 'call.json'), JSON.stringify({ callId, endedAt: new Date(endedAt).toISOString(), recordings: [{ file: 'ssrc-1.opus', path: join(recDir, 'ssrc-1.opus') }] }));
  writeFileSync(join(callDir, 'transcript.json'), JSON.stringify({ lines: [{ text }] }));
  writeFileSync(join(callDir, 'transcript.vtt'), `WEBVTT\n\n00:00:01.000 --> 00:00:03.000\n${text}\n`);
  writeFileSync(join(callDir, 'analytics.json'), '{}');
  await remote.put(callId, 'mix.wav', Buffer.alloc(100));
  await remote.put(callId, 'transcript.json', text);
  speech.flush();
  return { callDir, recDir };
}

function rowsOf(callId: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of ['calls', 'participants', 'talk_segments', 'transcript_lines', 'recordings', 'analytics', 'call_settings']) {
    out[t] = (db.prepare(`SELECT count(*) AS n FROM ${t} WHERE call_id = ? COLLATE NOCASE`).get(callId) as { n: number }).n;
  }
  out['webhook_outbox'] = (db.prepare(`SELECT count(*) AS n FROM webhook_outbox WHERE call_id = ? AND type != 'data.deleted'`).get(callId) as { n: number }).n;
  return out;
}

async function codeOf(p: Promise<unknown>): Promise<string | null> {
  try {
    await p;
    return null;
  } catch (e) {
    return isMediabotError(e) ? e.code : `untyped: ${String(e)}`;
  }
}

/** Total size of the regular files directly in a folder (symlinks not counted). */
function regularBytes(folder: string): number {
  return readdirSync(folder)
    .map((n) => lstatSync(join(folder, n)))
    .filter((st) => st.isFile())
    .reduce((a, st) => a + st.size, 0);
}

/** The database file and its write-ahead log, as bytes. */
function dbBytes(): Buffer {
  return Buffer.concat([readFileSync(join(dir, 'mediabot.db')), existsSync(join(dir, 'mediabot.db-wal')) ? readFileSync(join(dir, 'mediabot.db-wal')) : Buffer.alloc(0)]);
}

describe('deleting one call\'s data', () => {
  it('removes files, recordings, rows, webhook bodies and objects; logs counts without content; keeps other calls', async () => {
    const text = 'purple elephants negotiate quarterly budgets';
    const a = await seedCall('call-a', T0, text);
    const b = await seedCall('call-b', T0, 'another call entirely');
    inMemory.add('call-a');
    // A symlink in the call's folder to a file outside the data folder: removed as a link, its target kept.
    writeFileSync(join(outside, 'sentinel.txt'), 'keep me');
    symlinkSync(join(outside, 'sentinel.txt'), join(a.callDir, 'planted-link'));
    symlinkSync(outside, join(a.recDir, 'planted-dir-link'));
    expect(dbBytes().includes(text)).toBe(true);
    const expectedBytes = regularBytes(a.callDir) + regularBytes(a.recDir);

    const r = await deleter.delete('call-a', 'request');
    expect(r.alreadyDeleted).toBe(false);
    expect(r.reason).toBe('request');
    expect(r.complete).toBe(true);
    expect(r.deleted.inMemory).toBe(true);
    expect(r.deleted.files).toBe(6);
    expect(r.deleted.bytes).toBe(expectedBytes);
    expect(expectedBytes).toBeGreaterThan(5000);
    expect(r.deleted.fileKinds).toEqual({ call: 1, transcript: 2, analytics: 1, recording: 2 } as Record<string, number>);
    expect(r.deleted.rows).toMatchObject({ calls: 1, participants: 1, talk_segments: 1, transcript_lines: 1, recordings: 1, analytics: 1, call_settings: 1, call_requests: 0, webhook_outbox: 1 });
    expect(r.deleted.objects).toBe(2);

    expect(existsSync(a.callDir)).toBe(false);
    expect(existsSync(a.recDir)).toBe(false);
    expect(await remote.keys('call-a')).toEqual([]);
    expect(readFileSync(join(outside, 'sentinel.txt'), 'utf8')).toBe('keep me');
    expect(existsSync(outside)).toBe(true);
    expect(Object.values(rowsOf('call-a')).every((n) => n === 0)).toBe(true);
    // The other call is untouched.
    expect(existsSync(b.callDir) && existsSync(b.recDir)).toBe(true);
    expect(rowsOf('call-b')).toMatchObject({ calls: 1, transcript_lines: 1, call_settings: 1, webhook_outbox: 1 });
    expect(await remote.keys('call-b')).toHaveLength(2);

    // The content is gone from the database file and its log (secure_delete, checkpoint), the log keeps counts.
    const bytes = dbBytes();
    expect(bytes.includes(text)).toBe(false);
    expect(bytes.includes('ticket-of-call-a')).toBe(false);
    expect(bytes.includes('another call entirely')).toBe(true);
    const logged = log.list({ callId: 'call-a' });
    expect(logged).toEqual([{ id: r.id, callId: 'call-a', reason: 'request', at: new Date(clock).toISOString(), complete: true, failed: [], deleted: r.deleted }]);
    expect(JSON.stringify(logged)).not.toContain('elephants');
    expect(deletedEvents).toEqual([{ callId: 'call-a', webhookUrl: 'http://127.0.0.1:9/call-hook' }]);

    // Idempotent: nothing left answers the earlier record; a call never stored is not found.
    const again = await deleter.delete('CALL-A', 'request');
    expect(again).toEqual({ ...r, alreadyDeleted: true });
    expect(log.list()).toHaveLength(1);
    expect(await codeOf(deleter.delete('never-seen', 'request'))).toBe('MEDIABOT_CALL_NOT_FOUND');
  });

  it('refuses a live call or one being written (MEDIABOT_CALL_ACTIVE) and changes nothing', async () => {
    const a = await seedCall('call-live', T0, 'still talking here');
    for (const state of ['live', 'writing'] as const) {
      live.set('call-live', state);
      expect(await codeOf(deleter.delete('call-live', 'request'))).toBe('MEDIABOT_CALL_ACTIVE');
      expect(existsSync(join(a.callDir, 'transcript.json'))).toBe(true);
      expect(rowsOf('call-live')).toMatchObject({ calls: 1, transcript_lines: 1, call_settings: 1, webhook_outbox: 1 });
      expect(await remote.keys('call-live')).toHaveLength(2);
    }
    expect(log.list()).toEqual([]);
    live.delete('call-live');
    expect((await deleter.delete('call-live', 'request')).complete).toBe(true);
  });

  it('refuses bad ids with MEDIABOT_BAD_REQUEST', async () => {
    for (const id of ['', '.', '..', 'a\nb', 'x'.repeat(201)]) expect(await codeOf(deleter.delete(id, 'request')), JSON.stringify(id)).toBe('MEDIABOT_BAD_REQUEST');
    expect(await codeOf(deleter.delete(42 as unknown as string, 'request'))).toBe('MEDIABOT_BAD_REQUEST');
  });

  it('never follows a call folder that is a symlink out of the data folder', async () => {
    mkdirSync(join(dir, 'calls'), { recursive: true });
    writeFileSync(join(outside, 'precious.json'), '{"keep":true}');
    symlinkSync(outside, join(dir, 'calls', 'call-link'));
    const r = await deleter.delete('call-link', 'request');
    expect(r.deleted.files).toBe(0);
    expect(existsSync(join(dir, 'calls', 'call-link'))).toBe(false);
    expect(readFileSync(join(outside, 'precious.json'), 'utf8')).toBe('{"keep":true}');
  });

  it('finds a call folder whose id is spelt in another case', async () => {
    await seedCall('AbC-Case', T0, 'mixed case call');
    const r = await deleter.delete('abc-case', 'request');
    expect(existsSync(join(dir, 'calls', 'AbC-Case'))).toBe(false);
    expect(r.deleted.fileKinds['transcript']).toBe(2);
    expect(rowsOf('AbC-Case').calls).toBe(0);
  });

  it('logs a failed step as incomplete (MEDIABOT_DELETION_INCOMPLETE) and a repeat removes the rest', async () => {
    const a = await seedCall('call-fail', T0, 'storage is down today');
    remote.failNext = true;
    let thrown: unknown;
    try {
      await deleter.delete('call-fail', 'request');
    } catch (err) {
      thrown = err;
    }
    expect(isMediabotError(thrown) && thrown.code).toBe('MEDIABOT_DELETION_INCOMPLETE');
    expect(existsSync(a.callDir)).toBe(false);
    expect(await remote.keys('call-fail')).toHaveLength(2);
    const [first] = log.list({ callId: 'call-fail' });
    expect(first).toMatchObject({ complete: false, failed: ['objects'] });
    expect(deletedEvents.map((e) => e.callId)).toEqual(['call-fail']);
    const retry = await deleter.delete('call-fail', 'request');
    expect(retry).toMatchObject({ complete: true, alreadyDeleted: false, deleted: { objects: 2, files: 0 } });
    expect(await remote.keys('call-fail')).toEqual([]);
    expect(log.list({ callId: 'call-fail' }).map((x) => x.complete)).toEqual([true, false]);
  });

  it('deletes the rows of other features\' tables given as moreRows', async () => {
    db.exec('CREATE TABLE feature_notes (call_id TEXT NOT NULL, note TEXT NOT NULL)');
    db.prepare('INSERT INTO feature_notes VALUES (?, ?), (?, ?), (?, ?)').run('call-x', 'one', 'call-x', 'two', 'call-y', 'three');
    const withMore = new CallDataDeleter({
      dataDir: dir,
      db,
      speech,
      settings,
      outbox,
      log,
      calls,
      moreRows: [{ deleteCall: (id) => ({ feature_notes: db.prepare('DELETE FROM feature_notes WHERE call_id = ?').run(id).changes }) }],
      logger: silentLogger,
    });
    const r = await withMore.delete('call-x', 'request');
    expect(r.deleted.rows['feature_notes']).toBe(2);
    expect((db.prepare('SELECT call_id FROM feature_notes').all() as Array<{ call_id: string }>).map((x) => x.call_id)).toEqual(['call-y']);
  });

  it('runs one deletion of a call at a time', async () => {
    await seedCall('call-twice', T0, 'two requests at once');
    const [x, y] = await Promise.all([deleter.delete('call-twice', 'request'), deleter.delete('call-twice', 'request')]);
    expect(x.alreadyDeleted).toBe(false);
    expect(y).toEqual({ ...x, alreadyDeleted: true });
  });
});

describe('the retention sweep (MEDIABOT_RETENTION_DAYS)', () => {
  it('deletes calls that ended more than N days before its clock, and no others', async () => {
    await seedCall('old-call', T0, 'old words');
    await seedCall('newer-call', T0 + 6 * DAY, 'newer words');
    await seedCall('live-old-call', T0, 'live words');
    live.set('live-old-call', 'live');
    const sweeper = new RetentionSweeper({ days: 7, deleter, now: () => new Date(clock), logger: silentLogger });

    expect(await sweeper.sweep(new Date(T0 + 7 * DAY - 60_000))).toEqual([]);
    const first = await sweeper.sweep(new Date(T0 + 7 * DAY + 60_000));
    expect(first.map((r) => [r.callId, r.reason])).toEqual([['old-call', 'retention']]);
    expect(existsSync(join(dir, 'calls', 'old-call'))).toBe(false);
    expect(existsSync(join(dir, 'calls', 'newer-call'))).toBe(true);
    expect(existsSync(join(dir, 'calls', 'live-old-call'))).toBe(true);

    const second = await sweeper.sweep(new Date(T0 + 14 * DAY));
    expect(second.map((r) => r.callId)).toEqual(['newer-call']);
    expect(rowsOf('live-old-call').transcript_lines).toBe(1);
    // Nothing is deleted twice: the notices and the log are not data of a call to sweep.
    expect(await sweeper.sweep(new Date(T0 + 30 * DAY))).toEqual([]);
    expect(log.list({ reason: 'retention' }).map((r) => r.callId)).toEqual(['newer-call', 'old-call']);
  });

  it('is off with 0 days', async () => {
    await seedCall('kept-call', T0, 'kept forever');
    const sweeper = new RetentionSweeper({ days: 0, deleter, logger: silentLogger });
    sweeper.start();
    expect(await sweeper.sweep(new Date(T0 + 10_000 * DAY))).toEqual([]);
    await sweeper.stop();
    expect(existsSync(join(dir, 'calls', 'kept-call'))).toBe(true);
  });

  it('sweeps at start and then periodically', async () => {
    await seedCall('first-call', T0, 'first');
    clock = T0 + 8 * DAY;
    const sweeper = new RetentionSweeper({ days: 7, deleter, now: () => new Date(clock), intervalMs: 50, logger: silentLogger });
    sweeper.start();
    await until('the sweep at start', () => (log.list({ callId: 'first-call' }).length === 1 ? true : undefined), 5000, 20);
    await seedCall('second-call', T0 + 8 * DAY, 'second');
    clock = T0 + 16 * DAY;
    await until('a periodic sweep', () => (log.list({ callId: 'second-call' }).length === 1 ? true : undefined), 5000, 20);
    await sweeper.stop();
    expect(log.list().map((r) => r.reason)).toEqual(['retention', 'retention']);
  });
});
