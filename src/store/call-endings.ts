import type BetterSqlite3 from 'better-sqlite3';
import type { SpeakerRef } from '../events/live.js';

type Db = BetterSqlite3.Database;

/** The explained end reason as the registry gives it (its TerminationView). */
export interface StoredEndReason {
  code: number | null;
  subcode: number | null;
  message: string | null;
  terminationReason: string | null;
  explanation: string;
  hint: string;
  reasonCode: string | null;
}

/** How a call ended, kept once its artifacts are written, so the history outlives the in-memory registry. */
export interface CallEnding {
  callId: string;
  mediaMode: string | null;
  /** When the call was created (the registry's createdAt). */
  createdAt: string | null;
  endedAt: string;
  /** The explained end reason (code, subcode, explanation, hint, reasonCode), or null when none was given. */
  termination: StoredEndReason | null;
  /** Who is behind each media source (for labels after a restart). */
  speakers: SpeakerRef[];
}

// Rows hang off the speech store's `calls` table: deleting a call's rows removes its ending too.
const SCHEMA = `
CREATE TABLE IF NOT EXISTS call_endings (
  call_id TEXT PRIMARY KEY REFERENCES calls(call_id) ON DELETE CASCADE,
  media_mode TEXT,
  created_at TEXT,
  ended_at TEXT NOT NULL,
  termination TEXT,
  speakers TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS call_endings_ended ON call_endings(ended_at);
`;

interface Row {
  call_id: string;
  media_mode: string | null;
  created_at: string | null;
  ended_at: string;
  termination: string | null;
  speakers: string;
}

function parse<T>(json: string | null, fallback: T): T {
  if (json === null) return fallback;
  try {
    return JSON.parse(json) as T;
  } catch {
    return fallback;
  }
}

export function endingFromRow(r: Row): CallEnding {
  return { callId: r.call_id, mediaMode: r.media_mode, createdAt: r.created_at, endedAt: r.ended_at, termination: parse<StoredEndReason | null>(r.termination, null), speakers: parse<SpeakerRef[]>(r.speakers, []) };
}

/** The `call_endings` table (needs the speech store's tables: create the SpeechStore on the same database first). */
export class CallEndingStore {
  private readonly upsert: BetterSqlite3.Statement;
  private readonly touchCall: BetterSqlite3.Statement;
  private readonly one: BetterSqlite3.Statement;

  constructor(private readonly db: Db) {
    db.exec(SCHEMA);
    this.touchCall = db.prepare('INSERT INTO calls (call_id, created_at, updated_at) VALUES (@callId, @at, @at) ON CONFLICT(call_id) DO NOTHING');
    this.upsert = db.prepare(`INSERT INTO call_endings (call_id, media_mode, created_at, ended_at, termination, speakers)
      VALUES (@callId, @mediaMode, @createdAt, @endedAt, @termination, @speakers)
      ON CONFLICT(call_id) DO UPDATE SET media_mode = excluded.media_mode, created_at = excluded.created_at, ended_at = excluded.ended_at,
        termination = excluded.termination, speakers = excluded.speakers`);
    this.one = db.prepare('SELECT * FROM call_endings WHERE call_id = ?');
  }

  record(e: CallEnding): void {
    this.db.transaction(() => {
      this.touchCall.run({ callId: e.callId, at: e.endedAt });
      this.upsert.run({ callId: e.callId, mediaMode: e.mediaMode, createdAt: e.createdAt, endedAt: e.endedAt, termination: e.termination === null ? null : JSON.stringify(e.termination), speakers: JSON.stringify(e.speakers) });
    })();
  }

  get(callId: string): CallEnding | null {
    const r = this.one.get(callId) as Row | undefined;
    return r === undefined ? null : endingFromRow(r);
  }
}
