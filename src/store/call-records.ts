import type Database from 'better-sqlite3';
import { MediabotError } from '../errors.js';

/** One stored call record (Graph callRecords.callRecord, fetched with sessions and segments). */
export interface StoredCallRecord {
  id: string;
  version: number | null;
  type: string | null;
  modalities: string[];
  start: string | null;
  end: string | null;
  /** Organizer display name or id, when present. */
  organizer: string | null;
  json: unknown;
}

interface Row {
  id: string;
  version: number | null;
  type: string | null;
  modalities: string;
  start: string | null;
  end: string | null;
  organizer: string | null;
  json: string;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

function organizerOf(rec: Obj): string | null {
  // v1.0 has organizer_v2 (an organizer) and the older organizer (an identitySet).
  for (const key of ['organizer_v2', 'organizer']) {
    const o = rec[key];
    if (!isObj(o)) continue;
    const identity = isObj(o['identity']) ? o['identity'] : o;
    for (const v of Object.values(identity)) {
      if (isObj(v)) {
        const name = str(v['displayName']) ?? str(v['id']);
        if (name) return name;
      }
    }
    const id = str(o['id']);
    if (id) return id;
  }
  return null;
}

/** Reads the fields the table indexes from a Graph callRecord; throws on something that is not one. */
export function toStoredCallRecord(record: unknown): StoredCallRecord {
  if (!isObj(record) || typeof record['id'] !== 'string' || record['id'] === '') {
    throw new MediabotError('MEDIABOT_BAD_REQUEST', 'a call record must be an object with a string id');
  }
  const version = typeof record['version'] === 'number' && Number.isFinite(record['version']) ? record['version'] : null;
  const modalities = Array.isArray(record['modalities']) ? record['modalities'].filter((m): m is string => typeof m === 'string') : [];
  return {
    id: record['id'],
    version,
    type: str(record['type']),
    modalities,
    start: str(record['startDateTime']),
    end: str(record['endDateTime']),
    organizer: organizerOf(record),
    json: record,
  };
}

/** call_records table: one row per call record, newest version wins. */
export class CallRecordStore {
  private readonly upsertStmt: Database.Statement;
  private readonly getStmt: Database.Statement;
  private readonly listStmt: Database.Statement;

  constructor(private readonly db: Database.Database) {
    db.exec(`CREATE TABLE IF NOT EXISTS call_records (
      id TEXT PRIMARY KEY,
      version INTEGER,
      type TEXT,
      modalities TEXT NOT NULL DEFAULT '[]',
      start TEXT,
      "end" TEXT,
      organizer TEXT,
      json TEXT NOT NULL,
      stored_at TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS call_records_start ON call_records(start);`);
    // A record is replaced only by the same or a newer version (Graph bumps version on updates).
    this.upsertStmt = db.prepare(`INSERT INTO call_records (id, version, type, modalities, start, "end", organizer, json, stored_at)
      VALUES (@id, @version, @type, @modalities, @start, @end, @organizer, @json, @storedAt)
      ON CONFLICT(id) DO UPDATE SET version = excluded.version, type = excluded.type, modalities = excluded.modalities,
        start = excluded.start, "end" = excluded."end", organizer = excluded.organizer, json = excluded.json, stored_at = excluded.stored_at
      WHERE call_records.version IS NULL OR excluded.version IS NULL OR excluded.version >= call_records.version`);
    this.getStmt = db.prepare(`SELECT id, version, type, modalities, start, "end", organizer, json FROM call_records WHERE id = ?`);
    this.listStmt = db.prepare(`SELECT id, version, type, modalities, start, "end", organizer, json FROM call_records ORDER BY start DESC LIMIT ? OFFSET ?`);
  }

  /** Stores a Graph callRecord object. Returns false when an equal-or-newer version was kept. */
  put(record: unknown): boolean {
    const r = toStoredCallRecord(record);
    try {
      const info = this.upsertStmt.run({
        id: r.id,
        version: r.version,
        type: r.type,
        modalities: JSON.stringify(r.modalities),
        start: r.start,
        end: r.end,
        organizer: r.organizer,
        json: JSON.stringify(r.json),
        storedAt: new Date().toISOString(),
      });
      return info.changes > 0;
    } catch (err) {
      throw new MediabotError('MEDIABOT_STORE_FAILED', `storing call record ${r.id} failed: ${(err as Error).message}`);
    }
  }

  get(id: string): StoredCallRecord | undefined {
    const row = this.getStmt.get(id) as Row | undefined;
    return row ? fromRow(row) : undefined;
  }

  list(limit = 50, offset = 0): StoredCallRecord[] {
    return (this.listStmt.all(Math.max(1, Math.min(limit, 1000)), Math.max(0, offset)) as Row[]).map(fromRow);
  }
}

function fromRow(row: Row): StoredCallRecord {
  return {
    id: row.id,
    version: row.version,
    type: row.type,
    modalities: JSON.parse(row.modalities) as string[],
    start: row.start,
    end: row.end,
    organizer: row.organizer,
    json: JSON.parse(row.json) as unknown,
  };
}
