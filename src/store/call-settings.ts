/**
 * Per-call settings that outlive the process: the webhook URL and metadata of each call (so
 * webhooks of a call carry them after a restart), and call requests (a `dedupKey` maps to its call;
 * a `joinAt` request waits here until it is due, and is picked up again on start).
 */
import type { Database } from './db.js';

export interface StoredCallSettings {
  callId: string;
  webhookUrl: string | null;
  metadata: Record<string, unknown> | null;
  partialTranscripts: boolean;
}

export type CallRequestState = 'scheduled' | 'creating' | 'created' | 'failed';

export interface CallRequestRow {
  id: string;
  dedupKey: string | null;
  state: CallRequestState;
  /** The request body as given (JSON), replayed when a scheduled join is due. */
  request: Record<string, unknown>;
  joinAt: number | null;
  callId: string | null;
  error: string | null;
  createdAt: number;
}

interface RawRequest {
  id: string;
  dedup_key: string | null;
  state: CallRequestState;
  request: string;
  join_at: number | null;
  call_id: string | null;
  error: string | null;
  created_at: number;
}

const requestFromRaw = (r: RawRequest): CallRequestRow => ({
  id: r.id,
  dedupKey: r.dedup_key,
  state: r.state,
  request: JSON.parse(r.request) as Record<string, unknown>,
  joinAt: r.join_at,
  callId: r.call_id,
  error: r.error,
  createdAt: r.created_at,
});

export class CallSettingsStore {
  constructor(private readonly db: Database) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS call_settings (
        call_id TEXT PRIMARY KEY COLLATE NOCASE,
        webhook_url TEXT,
        metadata TEXT,
        partial_transcripts INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL
      );
      CREATE TABLE IF NOT EXISTS call_requests (
        id TEXT PRIMARY KEY,
        dedup_key TEXT UNIQUE,
        state TEXT NOT NULL CHECK (state IN ('scheduled', 'creating', 'created', 'failed')),
        request TEXT NOT NULL,
        join_at INTEGER,
        call_id TEXT,
        error TEXT,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX IF NOT EXISTS call_requests_state ON call_requests (state, join_at);
    `);
  }

  saveSettings(s: StoredCallSettings, at = Date.now()): void {
    this.db
      .prepare(
        `INSERT INTO call_settings (call_id, webhook_url, metadata, partial_transcripts, created_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT(call_id) DO UPDATE SET webhook_url = excluded.webhook_url, metadata = excluded.metadata, partial_transcripts = excluded.partial_transcripts`,
      )
      .run(s.callId, s.webhookUrl, s.metadata === null ? null : JSON.stringify(s.metadata), s.partialTranscripts ? 1 : 0, at);
  }

  settings(callId: string): StoredCallSettings | undefined {
    const r = this.db.prepare('SELECT * FROM call_settings WHERE call_id = ?').get(callId) as
      | { call_id: string; webhook_url: string | null; metadata: string | null; partial_transcripts: number }
      | undefined;
    if (!r) return undefined;
    return { callId: r.call_id, webhookUrl: r.webhook_url, metadata: r.metadata === null ? null : (JSON.parse(r.metadata) as Record<string, unknown>), partialTranscripts: r.partial_transcripts === 1 };
  }

  /** Inserts a request; returns the existing one instead when its dedupKey is already taken. */
  addRequest(r: Omit<CallRequestRow, 'callId' | 'error'>): { row: CallRequestRow; existing: boolean } {
    return this.db.transaction(() => {
      if (r.dedupKey !== null) {
        const prior = this.byDedupKey(r.dedupKey);
        if (prior) return { row: prior, existing: true };
      }
      this.db
        .prepare('INSERT INTO call_requests (id, dedup_key, state, request, join_at, created_at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(r.id, r.dedupKey, r.state, JSON.stringify(r.request), r.joinAt, r.createdAt);
      return { row: { ...r, callId: null, error: null }, existing: false };
    })();
  }

  byDedupKey(key: string): CallRequestRow | undefined {
    const r = this.db.prepare('SELECT * FROM call_requests WHERE dedup_key = ?').get(key) as RawRequest | undefined;
    return r === undefined ? undefined : requestFromRaw(r);
  }

  request(id: string): CallRequestRow | undefined {
    const r = this.db.prepare('SELECT * FROM call_requests WHERE id = ?').get(id) as RawRequest | undefined;
    return r === undefined ? undefined : requestFromRaw(r);
  }

  /** Scheduled requests (to pick up on start), earliest first. */
  scheduled(): CallRequestRow[] {
    return (this.db.prepare(`SELECT * FROM call_requests WHERE state = 'scheduled' ORDER BY join_at`).all() as RawRequest[]).map(requestFromRaw);
  }

  /** Requests left `creating` by a process that stopped before it knew the outcome. */
  interrupted(): string[] {
    return (this.db.prepare(`SELECT id FROM call_requests WHERE state = 'creating'`).all() as Array<{ id: string }>).map((r) => r.id);
  }

  /** Moves a request on; `from` guards against two takers (returns false when it was not in `from`). */
  transition(id: string, from: CallRequestState, to: CallRequestState, fields: { callId?: string; error?: string } = {}): boolean {
    const r = this.db.prepare('UPDATE call_requests SET state = ?, call_id = COALESCE(?, call_id), error = ? WHERE id = ? AND state = ?').run(to, fields.callId ?? null, fields.error ?? null, id, from);
    return r.changes === 1;
  }

  /** Deletes a call's settings and the requests that created it; returns the rows removed per table. */
  deleteCall(callId: string): { call_settings: number; call_requests: number } {
    return this.db.transaction(() => ({
      call_settings: this.db.prepare('DELETE FROM call_settings WHERE call_id = ?').run(callId).changes,
      call_requests: this.db.prepare('DELETE FROM call_requests WHERE call_id = ? COLLATE NOCASE').run(callId).changes,
    }))();
  }

  /** Calls whose settings were stored before `beforeMs` (the retention sweep's candidates). */
  callsCreatedBefore(beforeMs: number): Array<{ callId: string; createdAt: number }> {
    return (this.db.prepare('SELECT call_id, created_at FROM call_settings WHERE created_at < ? ORDER BY created_at').all(beforeMs) as Array<{ call_id: string; created_at: number }>).map((r) => ({ callId: r.call_id, createdAt: r.created_at }));
  }

  /** Forgets a request whose call could not be created, so its dedupKey can be used again. */
  deleteRequest(id: string): void {
    this.db.prepare('DELETE FROM call_requests WHERE id = ?').run(id);
  }
}
