/**
 * The durable upload queue (object storage): one row per local file of a call to upload, written
 * when the call's artifacts are, so a restart or a crash loses nothing. Rows left `uploading` by a
 * process that died are put back to `pending` on start (`resumeInterrupted`); the upload is redone
 * (an object put twice with the same key and content is the same object).
 * `storage_calls` notes when a call's `recording.ready` was published, so it is published once.
 */
import type { Database } from './db.js';

export type UploadStatus = 'pending' | 'uploading' | 'done' | 'failed';
export type UploadKind = 'artifact' | 'recording';

export interface UploadRow {
  id: number;
  callId: string;
  kind: UploadKind;
  /** The file's name (a recording's name as listed by the recordings API). */
  file: string;
  localPath: string;
  key: string;
  contentType: string;
  /** The recording entry (sourceId, speaker, format…) for recordings, else null. */
  meta: Record<string, unknown> | null;
  status: UploadStatus;
  attempts: number;
  nextAttemptAt: number;
  lastError: string | null;
  bytes: number | null;
  md5: string | null;
  createdAt: number;
  uploadedAt: number | null;
  localRemoved: boolean;
}

interface RawRow {
  id: number;
  call_id: string;
  kind: UploadKind;
  file: string;
  local_path: string;
  key: string;
  content_type: string;
  meta: string | null;
  status: UploadStatus;
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
  bytes: number | null;
  md5: string | null;
  created_at: number;
  uploaded_at: number | null;
  local_removed: number;
}

const fromRaw = (r: RawRow): UploadRow => ({
  id: r.id,
  callId: r.call_id,
  kind: r.kind,
  file: r.file,
  localPath: r.local_path,
  key: r.key,
  contentType: r.content_type,
  meta: r.meta === null ? null : (JSON.parse(r.meta) as Record<string, unknown>),
  status: r.status,
  attempts: r.attempts,
  nextAttemptAt: r.next_attempt_at,
  lastError: r.last_error,
  bytes: r.bytes,
  md5: r.md5,
  createdAt: r.created_at,
  uploadedAt: r.uploaded_at,
  localRemoved: r.local_removed === 1,
});

/** What a new upload is given; the rest of its row is the queue's. */
export type NewUpload = Pick<UploadRow, 'callId' | 'kind' | 'file' | 'localPath' | 'key' | 'contentType' | 'meta'>;

export interface UploadFilter {
  callId?: string;
  status?: UploadStatus;
  limit?: number;
}

export class StorageUploadStore {
  constructor(private readonly db: Database) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS storage_uploads (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        call_id TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('artifact', 'recording')),
        file TEXT NOT NULL,
        local_path TEXT NOT NULL,
        key TEXT NOT NULL UNIQUE,
        content_type TEXT NOT NULL,
        meta TEXT,
        status TEXT NOT NULL CHECK (status IN ('pending', 'uploading', 'done', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        last_error TEXT,
        bytes INTEGER,
        md5 TEXT,
        created_at INTEGER NOT NULL,
        uploaded_at INTEGER,
        local_removed INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX IF NOT EXISTS storage_uploads_due ON storage_uploads (status, next_attempt_at);
      CREATE INDEX IF NOT EXISTS storage_uploads_call ON storage_uploads (call_id, id);
      CREATE TABLE IF NOT EXISTS storage_calls (
        call_id TEXT PRIMARY KEY,
        announced_at INTEGER
      );
    `);
  }

  /** Adds a call's files in one transaction; a key already queued is queued again (new content). */
  add(rows: readonly NewUpload[], at: number): UploadRow[] {
    const insert = this.db.prepare(`
      INSERT INTO storage_uploads (call_id, kind, file, local_path, key, content_type, meta, status, next_attempt_at, created_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)
      ON CONFLICT (key) DO UPDATE SET call_id = excluded.call_id, kind = excluded.kind, file = excluded.file, local_path = excluded.local_path,
        content_type = excluded.content_type, meta = excluded.meta, status = 'pending', attempts = 0, next_attempt_at = excluded.next_attempt_at,
        last_error = NULL, bytes = NULL, md5 = NULL, created_at = excluded.created_at, uploaded_at = NULL, local_removed = 0
      RETURNING *`);
    const callRow = this.db.prepare('INSERT INTO storage_calls (call_id, announced_at) VALUES (?, NULL) ON CONFLICT (call_id) DO UPDATE SET announced_at = NULL');
    return this.db.transaction(() => {
      for (const callId of new Set(rows.map((r) => r.callId))) callRow.run(callId);
      return rows.map((r) => fromRaw(insert.get(r.callId, r.kind, r.file, r.localPath, r.key, r.contentType, r.meta === null ? null : JSON.stringify(r.meta), at, at) as RawRow));
    })();
  }

  /** Rows a dead process left in flight go back to pending, due now; returns how many. */
  resumeInterrupted(at: number): number {
    return this.db.prepare(`UPDATE storage_uploads SET status = 'pending', next_attempt_at = ? WHERE status = 'uploading'`).run(at).changes;
  }

  /** Pending rows due at `at`, oldest first. */
  due(at: number, limit: number): UploadRow[] {
    return (this.db.prepare(`SELECT * FROM storage_uploads WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?`).all(at, limit) as RawRow[]).map(fromRaw);
  }

  /** When the next pending row is due, or null when none is pending. */
  nextDueAt(): number | null {
    return (this.db.prepare(`SELECT MIN(next_attempt_at) AS t FROM storage_uploads WHERE status = 'pending'`).get() as { t: number | null }).t;
  }

  /** Claims a pending row for an attempt; false when another worker took it or it changed. */
  claim(id: number): boolean {
    return this.db.prepare(`UPDATE storage_uploads SET status = 'uploading' WHERE id = ? AND status = 'pending'`).run(id).changes === 1;
  }

  markDone(id: number, at: number, bytes: number, md5: string): void {
    this.db.prepare(`UPDATE storage_uploads SET status = 'done', attempts = attempts + 1, uploaded_at = ?, bytes = ?, md5 = ?, last_error = NULL WHERE id = ?`).run(at, bytes, md5, id);
  }

  /** A failed attempt: retried at `nextAttemptAt`, or given up (`failed`) when null. */
  markAttemptFailed(id: number, error: string, nextAttemptAt: number | null, at: number): void {
    this.db
      .prepare(`UPDATE storage_uploads SET status = ?, attempts = attempts + 1, last_error = ?, next_attempt_at = ? WHERE id = ?`)
      .run(nextAttemptAt === null ? 'failed' : 'pending', error.slice(0, 500), nextAttemptAt ?? at, id);
  }

  markLocalRemoved(id: number): void {
    this.db.prepare('UPDATE storage_uploads SET local_removed = 1 WHERE id = ?').run(id);
  }

  /** Uploaded rows whose local copy was not removed yet (a crash between the two). */
  doneWithLocalCopy(): UploadRow[] {
    return (this.db.prepare(`SELECT * FROM storage_uploads WHERE status = 'done' AND local_removed = 0`).all() as RawRow[]).map(fromRaw);
  }

  get(id: number): UploadRow | undefined {
    const r = this.db.prepare('SELECT * FROM storage_uploads WHERE id = ?').get(id) as RawRow | undefined;
    return r === undefined ? undefined : fromRaw(r);
  }

  ofCall(callId: string): UploadRow[] {
    return (this.db.prepare('SELECT * FROM storage_uploads WHERE call_id = ? COLLATE NOCASE ORDER BY id').all(callId) as RawRow[]).map(fromRaw);
  }

  list(f: UploadFilter = {}): UploadRow[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (f.callId !== undefined) (where.push('call_id = ? COLLATE NOCASE'), args.push(f.callId));
    if (f.status !== undefined) (where.push('status = ?'), args.push(f.status));
    const sql = `SELECT * FROM storage_uploads ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
    return (this.db.prepare(sql).all(...args, Math.min(Math.max(f.limit ?? 100, 1), 1000)) as RawRow[]).map(fromRaw);
  }

  count(status: UploadStatus): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM storage_uploads WHERE status = ?').get(status) as { n: number }).n;
  }

  /** Calls whose every row is settled (done or failed) and whose recording.ready was not published. */
  settledUnannounced(): string[] {
    return (
      this.db
        .prepare(
          `SELECT c.call_id FROM storage_calls c WHERE c.announced_at IS NULL
             AND NOT EXISTS (SELECT 1 FROM storage_uploads u WHERE u.call_id = c.call_id AND u.status IN ('pending', 'uploading'))`,
        )
        .all() as Array<{ call_id: string }>
    ).map((r) => r.call_id);
  }

  /** Notes the call's recording.ready as published; false when it already was. */
  markAnnounced(callId: string, at: number): boolean {
    return this.db.prepare('UPDATE storage_calls SET announced_at = ? WHERE call_id = ? AND announced_at IS NULL').run(at, callId).changes === 1;
  }

  /** Forgets a call's rows (its objects were deleted). */
  forgetCall(callId: string): number {
    return this.db.transaction(() => {
      this.db.prepare('DELETE FROM storage_calls WHERE call_id = ? COLLATE NOCASE').run(callId);
      return this.db.prepare('DELETE FROM storage_uploads WHERE call_id = ? COLLATE NOCASE').run(callId).changes;
    })();
  }
}
