/**
 * The deletion log (`data_deletions` in SQLite): which call's data was deleted, when, why
 * (`request`: DELETE /v1/calls/:id/data or `calls.deleteData`; `retention`: MEDIABOT_RETENTION_DAYS)
 * and how much of each kind — counts only, never content, file names, metadata or settings.
 */
import { randomUUID } from 'node:crypto';
import type { DeletedCounts, DeletionReason } from '../events/live.js';
import type { Database } from '../store/db.js';

export type { DeletedCounts, DeletionReason } from '../events/live.js';

export interface DeletionRecord {
  id: string;
  callId: string;
  reason: DeletionReason;
  /** When it was deleted (ISO 8601). */
  at: string;
  /** False when a step failed (the failure is in `failed`): repeating the deletion removes the rest. */
  complete: boolean;
  /** The steps that failed: `files`, `rows`, `objects`. */
  failed: string[];
  deleted: DeletedCounts;
}

export interface DeletionFilter {
  callId?: string;
  reason?: DeletionReason;
  /** At most this many (1-1000, default 100), newest first. */
  limit?: number;
  /** Only records older than the one with this id (paging). */
  before?: string;
}

interface Row {
  seq: number;
  id: string;
  call_id: string;
  reason: DeletionReason;
  at: string;
  complete: number;
  failed: string;
  deleted: string;
}

const fromRow = (r: Row): DeletionRecord => ({
  id: r.id,
  callId: r.call_id,
  reason: r.reason,
  at: r.at,
  complete: r.complete === 1,
  failed: JSON.parse(r.failed) as string[],
  deleted: JSON.parse(r.deleted) as DeletedCounts,
});

export class DeletionLog {
  constructor(private readonly db: Database) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS data_deletions (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        call_id TEXT NOT NULL COLLATE NOCASE,
        reason TEXT NOT NULL CHECK (reason IN ('request', 'retention')),
        at TEXT NOT NULL,
        complete INTEGER NOT NULL,
        failed TEXT NOT NULL,
        deleted TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS data_deletions_call ON data_deletions (call_id, seq);
    `);
  }

  add(r: Omit<DeletionRecord, 'id'>): DeletionRecord {
    const record: DeletionRecord = { id: `del_${randomUUID().replace(/-/g, '')}`, ...r };
    this.db
      .prepare('INSERT INTO data_deletions (id, call_id, reason, at, complete, failed, deleted) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(record.id, record.callId, record.reason, record.at, record.complete ? 1 : 0, JSON.stringify(record.failed), JSON.stringify(record.deleted));
    return record;
  }

  get(id: string): DeletionRecord | undefined {
    const r = this.db.prepare('SELECT * FROM data_deletions WHERE id = ?').get(id) as Row | undefined;
    return r === undefined ? undefined : fromRow(r);
  }

  /** The newest record of a call, if any. */
  latest(callId: string): DeletionRecord | undefined {
    const r = this.db.prepare('SELECT * FROM data_deletions WHERE call_id = ? ORDER BY seq DESC LIMIT 1').get(callId) as Row | undefined;
    return r === undefined ? undefined : fromRow(r);
  }

  /** Newest first. An unknown `before` id gives an empty page. */
  list(f: DeletionFilter = {}): DeletionRecord[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (f.callId !== undefined) (where.push('call_id = ?'), args.push(f.callId));
    if (f.reason !== undefined) (where.push('reason = ?'), args.push(f.reason));
    if (f.before !== undefined) (where.push('seq < coalesce((SELECT seq FROM data_deletions WHERE id = ?), 0)'), args.push(f.before));
    const limit = Math.min(Math.max(Math.trunc(f.limit ?? 100), 1), 1000);
    const sql = `SELECT * FROM data_deletions ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT ?`;
    return (this.db.prepare(sql).all(...args, limit) as Row[]).map(fromRow);
  }
}
