import type BetterSqlite3 from 'better-sqlite3';
import { MediabotError } from '../errors.js';
import type { MediabotEvent } from '../events/bus.js';
import type { Logger } from '../logger.js';
import { silentLogger } from '../logger.js';
import { openDatabase } from './db.js';

type Db = BetterSqlite3.Database;

export interface StoredTranscriptLine {
  sourceId: string;
  startMs: number;
  endMs: number;
  text: string;
  confidence?: number;
}

export interface StoredRecording {
  callId: string;
  sourceId: string | null;
  path: string;
  format: 'ogg' | 'wav';
  startMediaTimeMs: number;
  durationMs: number | null;
  bytes: number | null;
  createdAt: string;
}

export interface StoredTalkSegment {
  sourceId: string;
  startMs: number;
  endMs: number;
}

export interface StoredParticipant {
  sourceId: string;
  displayName: string | null;
  firstMediaMs: number | null;
  lastMediaMs: number | null;
  talkMs: number;
}

export interface CallSummary {
  callId: string;
  state: string | null;
  createdAt: string;
  updatedAt: string;
  participants: number;
  transcriptLines: number;
  recordings: number;
}

export interface RecordingInput {
  callId: string;
  sourceId: string | null;
  path: string;
  format: 'ogg' | 'wav';
  startMediaTimeMs?: number;
  durationMs?: number;
  bytes?: number;
}

export interface SpeechStoreOptions {
  /** Pending events are written at most this long after they arrive. Default 200 ms. */
  flushIntervalMs?: number;
  /** Or as soon as this many are pending. Default 500. */
  maxBatch?: number;
  /** Wall clock for created/updated stamps. */
  now?: () => Date;
  logger?: Logger;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS calls (
  call_id TEXT PRIMARY KEY,
  state TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS participants (
  call_id TEXT NOT NULL REFERENCES calls(call_id) ON DELETE CASCADE,
  source_id TEXT NOT NULL,
  display_name TEXT,
  first_media_ms INTEGER,
  last_media_ms INTEGER,
  talk_ms INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (call_id, source_id)
);
CREATE TABLE IF NOT EXISTS talk_segments (
  id INTEGER PRIMARY KEY,
  call_id TEXT NOT NULL REFERENCES calls(call_id) ON DELETE CASCADE,
  source_id TEXT NOT NULL,
  start_ms INTEGER NOT NULL,
  end_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS talk_segments_call ON talk_segments(call_id, start_ms);
CREATE TABLE IF NOT EXISTS transcript_lines (
  id INTEGER PRIMARY KEY,
  call_id TEXT NOT NULL REFERENCES calls(call_id) ON DELETE CASCADE,
  source_id TEXT NOT NULL,
  start_ms INTEGER NOT NULL,
  end_ms INTEGER NOT NULL,
  text TEXT NOT NULL,
  confidence REAL
);
CREATE INDEX IF NOT EXISTS transcript_lines_call ON transcript_lines(call_id, start_ms);
CREATE TABLE IF NOT EXISTS recordings (
  path TEXT PRIMARY KEY,
  call_id TEXT NOT NULL REFERENCES calls(call_id) ON DELETE CASCADE,
  source_id TEXT,
  format TEXT NOT NULL CHECK (format IN ('ogg', 'wav')),
  start_media_ms INTEGER NOT NULL DEFAULT 0,
  duration_ms INTEGER,
  bytes INTEGER,
  created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS recordings_call ON recordings(call_id);
CREATE TABLE IF NOT EXISTS analytics (
  call_id TEXT PRIMARY KEY REFERENCES calls(call_id) ON DELETE CASCADE,
  json TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
`;

/** The speech store's tables, in the order a call's rows are deleted (the calls row last). */
export const SPEECH_TABLES = ['participants', 'talk_segments', 'transcript_lines', 'recordings', 'analytics', 'calls'] as const;
export type SpeechTable = (typeof SPEECH_TABLES)[number];

const STORED_TYPES = new Set<string>(['source.added', 'source.removed', 'talk.start', 'talk.stop', 'transcript.final', 'recording.file', 'analytics.snapshot', 'call.state', 'call.roster']);
type StoredEvent = Extract<MediabotEvent, { type: 'source.added' | 'source.removed' | 'talk.start' | 'talk.stop' | 'transcript.partial' | 'transcript.final' | 'recording.file' | 'analytics.snapshot' | 'call.state' | 'call.roster' }>;

function bad(message: string): MediabotError {
  return new MediabotError('MEDIABOT_STORE_BAD_EVENT', message);
}

const isStr = (x: unknown): x is string => typeof x === 'string' && x !== '';
const isMs = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x) && x >= 0;

/**
 * The speech store: calls, participants, talk segments, transcript lines,
 * recordings and analytics in SQLite.
 *
 * `recordEvent` is an event sink (subscribe it to the EventBus). It checks the
 * event synchronously (a malformed one throws MEDIABOT_STORE_BAD_EVENT and is
 * not queued), then queues it; queued events are written together in one
 * transaction every `flushIntervalMs` or `maxBatch` events, so a busy call costs
 * one commit per batch, not one per event. Reads flush first, so they always
 * see what was recorded before them.
 */
export class SpeechStore {
  private readonly pending: StoredEvent[] = [];
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly flushIntervalMs: number;
  private readonly maxBatch: number;
  private readonly now: () => Date;
  private readonly logger: Logger;
  private readonly st: ReturnType<SpeechStore['prepare']>;
  private readonly writeBatch: (events: StoredEvent[]) => void;
  /** Batches written (for tests and metrics). */
  batches = 0;

  /** Opens `<dataDir>/mediabot.db` (or ':memory:') and owns it: close() closes the database. */
  static open(dataDir: string, opts: SpeechStoreOptions = {}): SpeechStore {
    return new SpeechStore(openDatabase(dataDir), opts, true);
  }

  constructor(
    private readonly db: Db,
    opts: SpeechStoreOptions = {},
    private readonly ownsDb = false,
  ) {
    this.flushIntervalMs = opts.flushIntervalMs ?? 200;
    this.maxBatch = opts.maxBatch ?? 500;
    this.now = opts.now ?? (() => new Date());
    this.logger = opts.logger ?? silentLogger;
    db.exec(SCHEMA);
    this.st = this.prepare();
    this.writeBatch = db.transaction((events: StoredEvent[]) => {
      const at = this.now().toISOString();
      for (const e of events) this.apply(e, at);
    });
  }

  /** Event sink. Throws MEDIABOT_STORE_BAD_EVENT for a malformed event (nothing is stored). */
  recordEvent(e: MediabotEvent): void {
    this.assertOpen();
    if (e === null || typeof e !== 'object') throw bad('an event must be an object');
    // Partials, levels, dominant speaker, hook errors, operations, tones...: not stored.
    if (!STORED_TYPES.has((e as { type?: unknown }).type as string)) return;
    validate(e);
    this.pending.push(e);
    if (this.pending.length >= this.maxBatch) this.flush();
    else if (this.timer === null) {
      this.timer = setTimeout(() => this.flush(), this.flushIntervalMs);
      this.timer.unref?.();
    }
  }

  /** Writes what is pending now, in one transaction. */
  flush(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.pending.length === 0) return;
    const batch = this.pending.splice(0);
    try {
      this.writeBatch(batch);
      this.batches++;
    } catch (err) {
      this.logger.error({ err, events: batch.length }, 'speech store: batch write failed');
      throw new MediabotError('MEDIABOT_STORE_FAILED', `writing ${batch.length} events failed: ${(err as Error).message}`);
    }
  }

  addRecording(r: RecordingInput): void {
    this.assertOpen();
    if (r === null || typeof r !== 'object' || !isStr(r.callId) || !isStr(r.path) || (r.format !== 'ogg' && r.format !== 'wav') || (r.sourceId !== null && !isStr(r.sourceId))) {
      throw bad('a recording needs callId, path, format ogg|wav and a sourceId (or null for the mix)');
    }
    for (const k of ['startMediaTimeMs', 'durationMs', 'bytes'] as const) if (r[k] !== undefined && !isMs(r[k])) throw bad(`recording ${k} must be a number >= 0`);
    this.flush();
    const at = this.now().toISOString();
    this.db.transaction(() => {
      this.touchCall(r.callId, at);
      this.st.upsertRecording.run({ path: r.path, callId: r.callId, sourceId: r.sourceId, format: r.format, start: r.startMediaTimeMs ?? 0, duration: r.durationMs ?? null, bytes: r.bytes ?? null, at });
    })();
  }

  saveAnalytics(callId: string, analytics: object): void {
    this.assertOpen();
    if (!isStr(callId) || analytics === null || typeof analytics !== 'object') throw bad('analytics need a callId and an object');
    let json: string;
    try {
      json = JSON.stringify(analytics);
    } catch (err) {
      throw bad(`analytics are not serialisable: ${(err as Error).message}`);
    }
    this.flush();
    const at = this.now().toISOString();
    this.db.transaction(() => {
      this.touchCall(callId, at);
      this.st.upsertAnalytics.run({ callId, json, at });
    })();
  }

  getTranscript(callId: string): StoredTranscriptLine[] {
    this.flush();
    const rows = this.st.transcript.all(callId) as Array<{ source_id: string; start_ms: number; end_ms: number; text: string; confidence: number | null }>;
    return rows.map((r) => {
      const l: StoredTranscriptLine = { sourceId: r.source_id, startMs: r.start_ms, endMs: r.end_ms, text: r.text };
      if (r.confidence !== null) l.confidence = r.confidence;
      return l;
    });
  }

  getRecordings(callId: string): StoredRecording[] {
    this.flush();
    const rows = this.st.recordings.all(callId) as Array<{ call_id: string; source_id: string | null; path: string; format: 'ogg' | 'wav'; start_media_ms: number; duration_ms: number | null; bytes: number | null; created_at: string }>;
    return rows.map((r) => ({ callId: r.call_id, sourceId: r.source_id, path: r.path, format: r.format, startMediaTimeMs: r.start_media_ms, durationMs: r.duration_ms, bytes: r.bytes, createdAt: r.created_at }));
  }

  getAnalytics(callId: string): Record<string, unknown> | null {
    this.flush();
    const row = this.st.analytics.get(callId) as { json: string } | undefined;
    return row === undefined ? null : (JSON.parse(row.json) as Record<string, unknown>);
  }

  getTalkSegments(callId: string): StoredTalkSegment[] {
    this.flush();
    return (this.st.segments.all(callId) as Array<{ source_id: string; start_ms: number; end_ms: number }>).map((r) => ({ sourceId: r.source_id, startMs: r.start_ms, endMs: r.end_ms }));
  }

  getParticipants(callId: string): StoredParticipant[] {
    this.flush();
    return (this.st.participants.all(callId) as Array<{ source_id: string; display_name: string | null; first_media_ms: number | null; last_media_ms: number | null; talk_ms: number }>).map((r) => ({
      sourceId: r.source_id,
      displayName: r.display_name,
      firstMediaMs: r.first_media_ms,
      lastMediaMs: r.last_media_ms,
      talkMs: r.talk_ms,
    }));
  }

  /** Calls, most recently updated first. */
  listCalls(): CallSummary[] {
    this.flush();
    return (this.st.calls.all() as Array<{ call_id: string; state: string | null; created_at: string; updated_at: string; participants: number; lines: number; recordings: number }>).map((r) => ({
      callId: r.call_id,
      state: r.state,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
      participants: r.participants,
      transcriptLines: r.lines,
      recordings: r.recordings,
    }));
  }

  /**
   * Deletes every row of one call (ids compare case-insensitively, as Graph's do), after writing
   * what was pending; returns how many rows each table lost. The recordings' paths are returned
   * too, so the caller can delete the files they name.
   */
  deleteCall(callId: string): { rows: Record<SpeechTable, number>; recordingPaths: string[] } {
    this.assertOpen();
    this.flush();
    return this.db.transaction(() => {
      const recordingPaths = (this.db.prepare('SELECT path FROM recordings WHERE call_id = ? COLLATE NOCASE').all(callId) as Array<{ path: string }>).map((r) => r.path);
      const rows = {} as Record<SpeechTable, number>;
      // Children before the call row (the foreign keys would cascade, but counts are wanted per table).
      for (const table of SPEECH_TABLES) rows[table] = this.db.prepare(`DELETE FROM ${table} WHERE call_id = ? COLLATE NOCASE`).run(callId).changes;
      return { rows, recordingPaths };
    })();
  }

  /** Calls whose last stored change is older than `beforeIso` (the retention sweep's candidates). */
  callsUpdatedBefore(beforeIso: string): Array<{ callId: string; updatedAt: string }> {
    this.flush();
    return (this.db.prepare('SELECT call_id, updated_at FROM calls WHERE updated_at < ? ORDER BY updated_at').all(beforeIso) as Array<{ call_id: string; updated_at: string }>).map((r) => ({ callId: r.call_id, updatedAt: r.updated_at }));
  }

  /** When the call's rows last changed (ISO), or null when none is stored. */
  callUpdatedAt(callId: string): string | null {
    this.flush();
    return (this.db.prepare('SELECT max(updated_at) AS at FROM calls WHERE call_id = ? COLLATE NOCASE').get(callId) as { at: string | null }).at;
  }

  /** Flushes; closes the database if the store opened it. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    if (this.ownsDb) this.db.close();
  }

  private assertOpen(): void {
    if (this.closed) throw new MediabotError('MEDIABOT_STORE_FAILED', 'the speech store is closed');
  }

  private touchCall(callId: string, at: string): void {
    this.st.touchCall.run({ callId, at });
  }

  private apply(e: StoredEvent, at: string): void {
    this.touchCall(e.callId, at);
    switch (e.type) {
      case 'source.added':
      case 'talk.start':
      case 'source.removed':
        this.st.seenParticipant.run({ callId: e.callId, sourceId: e.sourceId, ms: e.mediaTimeMs, talk: 0 });
        break;
      case 'talk.stop':
        this.st.seenParticipant.run({ callId: e.callId, sourceId: e.sourceId, ms: e.mediaTimeMs, talk: e.durationMs });
        this.st.insertSegment.run({ callId: e.callId, sourceId: e.sourceId, start: Math.max(0, e.mediaTimeMs - e.durationMs), end: e.mediaTimeMs });
        break;
      case 'transcript.final':
        this.st.seenParticipant.run({ callId: e.callId, sourceId: e.sourceId, ms: e.endMs, talk: 0 });
        this.st.insertLine.run({ callId: e.callId, sourceId: e.sourceId, start: e.startMs, end: e.endMs, text: e.text, confidence: e.confidence ?? null });
        break;
      case 'recording.file':
        this.st.upsertRecording.run({ path: e.path, callId: e.callId, sourceId: e.sourceId, format: e.format, start: e.mediaTimeMs, duration: null, bytes: null, at });
        break;
      case 'analytics.snapshot':
        this.st.upsertAnalytics.run({ callId: e.callId, json: JSON.stringify(e.analytics), at });
        break;
      case 'call.state':
        this.st.callState.run({ callId: e.callId, state: e.state });
        break;
      case 'call.roster':
        for (const p of e.participants) this.st.rosterParticipant.run({ callId: e.callId, sourceId: p.id, name: p.displayName });
        break;
    }
  }

  private prepare() {
    const db = this.db;
    return {
      touchCall: db.prepare(`INSERT INTO calls (call_id, created_at, updated_at) VALUES (@callId, @at, @at)
        ON CONFLICT(call_id) DO UPDATE SET updated_at = excluded.updated_at`),
      callState: db.prepare('UPDATE calls SET state = @state WHERE call_id = @callId'),
      seenParticipant: db.prepare(`INSERT INTO participants (call_id, source_id, first_media_ms, last_media_ms, talk_ms) VALUES (@callId, @sourceId, @ms, @ms, @talk)
        ON CONFLICT(call_id, source_id) DO UPDATE SET
          first_media_ms = min(coalesce(first_media_ms, excluded.first_media_ms), excluded.first_media_ms),
          last_media_ms = max(coalesce(last_media_ms, excluded.last_media_ms), excluded.last_media_ms),
          talk_ms = talk_ms + excluded.talk_ms`),
      rosterParticipant: db.prepare(`INSERT INTO participants (call_id, source_id, display_name) VALUES (@callId, @sourceId, @name)
        ON CONFLICT(call_id, source_id) DO UPDATE SET display_name = coalesce(excluded.display_name, display_name)`),
      insertSegment: db.prepare('INSERT INTO talk_segments (call_id, source_id, start_ms, end_ms) VALUES (@callId, @sourceId, @start, @end)'),
      insertLine: db.prepare('INSERT INTO transcript_lines (call_id, source_id, start_ms, end_ms, text, confidence) VALUES (@callId, @sourceId, @start, @end, @text, @confidence)'),
      upsertRecording: db.prepare(`INSERT INTO recordings (path, call_id, source_id, format, start_media_ms, duration_ms, bytes, created_at)
        VALUES (@path, @callId, @sourceId, @format, @start, @duration, @bytes, @at)
        ON CONFLICT(path) DO UPDATE SET duration_ms = coalesce(excluded.duration_ms, duration_ms), bytes = coalesce(excluded.bytes, bytes)`),
      upsertAnalytics: db.prepare(`INSERT INTO analytics (call_id, json, updated_at) VALUES (@callId, @json, @at)
        ON CONFLICT(call_id) DO UPDATE SET json = excluded.json, updated_at = excluded.updated_at`),
      transcript: db.prepare('SELECT source_id, start_ms, end_ms, text, confidence FROM transcript_lines WHERE call_id = ? ORDER BY start_ms, end_ms, id'),
      recordings: db.prepare('SELECT * FROM recordings WHERE call_id = ? ORDER BY created_at, path'),
      analytics: db.prepare('SELECT json FROM analytics WHERE call_id = ?'),
      segments: db.prepare('SELECT source_id, start_ms, end_ms FROM talk_segments WHERE call_id = ? ORDER BY start_ms, id'),
      participants: db.prepare('SELECT * FROM participants WHERE call_id = ? ORDER BY first_media_ms, source_id'),
      calls: db.prepare(`SELECT c.call_id, c.state, c.created_at, c.updated_at,
          (SELECT count(*) FROM participants p WHERE p.call_id = c.call_id) AS participants,
          (SELECT count(*) FROM transcript_lines t WHERE t.call_id = c.call_id) AS lines,
          (SELECT count(*) FROM recordings r WHERE r.call_id = c.call_id) AS recordings
        FROM calls c ORDER BY c.updated_at DESC, c.call_id`),
    };
  }
}

/** Checks the fields the store uses; throws MEDIABOT_STORE_BAD_EVENT. */
function validate(e: unknown): asserts e is StoredEvent {
  if (e === null || typeof e !== 'object') throw bad('an event must be an object');
  const ev = e as Record<string, unknown>;
  if (!isStr(ev.type)) throw bad('an event needs a type');
  if (!isStr(ev.callId)) throw bad(`${ev.type}: callId must be a non-empty string`);
  switch (ev.type) {
    case 'source.added':
    case 'source.removed':
    case 'talk.start':
      if (!isStr(ev.sourceId) || !isMs(ev.mediaTimeMs)) throw bad(`${ev.type}: needs sourceId and mediaTimeMs >= 0`);
      break;
    case 'talk.stop':
      if (!isStr(ev.sourceId) || !isMs(ev.mediaTimeMs) || !isMs(ev.durationMs)) throw bad('talk.stop: needs sourceId, mediaTimeMs and durationMs >= 0');
      break;
    case 'transcript.final':
      if (!isStr(ev.sourceId) || typeof ev.text !== 'string' || !isMs(ev.startMs) || !isMs(ev.endMs) || (ev.endMs as number) < (ev.startMs as number)) {
        throw bad('transcript.final: needs sourceId, text and 0 <= startMs <= endMs');
      }
      if (ev.confidence !== undefined && (typeof ev.confidence !== 'number' || !Number.isFinite(ev.confidence))) throw bad('transcript.final: confidence must be a number');
      break;
    case 'recording.file':
      if (!isStr(ev.path) || (ev.format !== 'ogg' && ev.format !== 'wav') || (ev.sourceId !== null && !isStr(ev.sourceId)) || !isMs(ev.mediaTimeMs)) throw bad('recording.file: needs path, format ogg|wav, sourceId and mediaTimeMs');
      break;
    case 'analytics.snapshot':
      if (ev.analytics === null || typeof ev.analytics !== 'object') throw bad('analytics.snapshot: analytics must be an object');
      break;
    case 'call.state':
      if (!isStr(ev.state)) throw bad('call.state: needs a state');
      break;
    case 'call.roster':
      if (!Array.isArray(ev.participants) || !ev.participants.every((p: unknown) => p !== null && typeof p === 'object' && isStr((p as { id?: unknown }).id))) throw bad('call.roster: participants need ids');
      break;
    default:
      break;
  }
}
