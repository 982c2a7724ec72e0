/**
 * The webhook outbox: one row per message and target, written before the first HTTP attempt, so a
 * restart or a crash loses nothing (pending rows are picked up again on start). Rows of one lane
 * (one call and one target URL) are delivered in `seq` order: a lane's next row waits until the
 * one before it was delivered or given up.
 */
import type { Database } from './db.js';

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface OutboxRow {
  seq: number;
  /** The webhook-id: the same on every attempt and replay. */
  id: string;
  callId: string | null;
  lane: string;
  url: string;
  type: string;
  /** The exact JSON body signed and sent. */
  body: string;
  status: DeliveryStatus;
  attempts: number;
  createdAt: number;
  /** When the retry window (24 h) started: creation, or the last replay. */
  windowStart: number;
  nextAttemptAt: number;
  lastAttemptAt: number | null;
  lastStatus: number | null;
  lastError: string | null;
  deliveredAt: number | null;
}

interface RawRow {
  seq: number;
  id: string;
  call_id: string | null;
  lane: string;
  url: string;
  type: string;
  body: string;
  status: DeliveryStatus;
  attempts: number;
  created_at: number;
  window_start: number;
  next_attempt_at: number;
  last_attempt_at: number | null;
  last_status: number | null;
  last_error: string | null;
  delivered_at: number | null;
}

const fromRaw = (r: RawRow): OutboxRow => ({
  seq: r.seq,
  id: r.id,
  callId: r.call_id,
  lane: r.lane,
  url: r.url,
  type: r.type,
  body: r.body,
  status: r.status,
  attempts: r.attempts,
  createdAt: r.created_at,
  windowStart: r.window_start,
  nextAttemptAt: r.next_attempt_at,
  lastAttemptAt: r.last_attempt_at,
  lastStatus: r.last_status,
  lastError: r.last_error,
  deliveredAt: r.delivered_at,
});

export interface NewOutboxRow {
  id: string;
  callId: string | null;
  url: string;
  type: string;
  body: string;
  createdAt: number;
}

export interface DeliveryFilter {
  callId?: string;
  status?: DeliveryStatus;
  limit?: number;
  /** Rows with seq below this (paging backwards, newest first). */
  before?: number;
}

export class WebhookOutbox {
  constructor(private readonly db: Database) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS webhook_outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        call_id TEXT,
        lane TEXT NOT NULL,
        url TEXT NOT NULL,
        type TEXT NOT NULL,
        body TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL,
        window_start INTEGER NOT NULL,
        next_attempt_at INTEGER NOT NULL,
        last_attempt_at INTEGER,
        last_status INTEGER,
        last_error TEXT,
        delivered_at INTEGER
      );
      CREATE INDEX IF NOT EXISTS webhook_outbox_pending ON webhook_outbox (status, lane, seq);
      CREATE INDEX IF NOT EXISTS webhook_outbox_call ON webhook_outbox (call_id, seq);
    `);
  }

  /** Adds rows in one transaction (one event to several targets); returns them. */
  add(rows: readonly NewOutboxRow[]): OutboxRow[] {
    const insert = this.db.prepare(
      `INSERT INTO webhook_outbox (id, call_id, lane, url, type, body, status, created_at, window_start, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?) RETURNING *`,
    );
    return this.db.transaction(() => rows.map((r) => fromRaw(insert.get(r.id, r.callId, `${r.callId ?? ''}|${r.url}`, r.url, r.type, r.body, r.createdAt, r.createdAt, r.createdAt) as RawRow)))();
  }

  /** The first pending row of every lane (what may be attempted, once due). */
  heads(): OutboxRow[] {
    const rows = this.db
      .prepare(`SELECT o.* FROM webhook_outbox o JOIN (SELECT MIN(seq) AS seq FROM webhook_outbox WHERE status = 'pending' GROUP BY lane) h ON o.seq = h.seq ORDER BY o.seq`)
      .all() as RawRow[];
    return rows.map(fromRaw);
  }

  get(id: string): OutboxRow | undefined {
    const r = this.db.prepare('SELECT * FROM webhook_outbox WHERE id = ?').get(id) as RawRow | undefined;
    return r === undefined ? undefined : fromRaw(r);
  }

  list(f: DeliveryFilter = {}): OutboxRow[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (f.callId !== undefined) (where.push('call_id = ?'), args.push(f.callId));
    if (f.status !== undefined) (where.push('status = ?'), args.push(f.status));
    if (f.before !== undefined) (where.push('seq < ?'), args.push(f.before));
    const sql = `SELECT * FROM webhook_outbox ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT ?`;
    return (this.db.prepare(sql).all(...args, Math.min(Math.max(f.limit ?? 100, 1), 1000)) as RawRow[]).map(fromRaw);
  }

  count(status: DeliveryStatus, callId?: string): number {
    if (callId !== undefined) return (this.db.prepare('SELECT COUNT(*) AS n FROM webhook_outbox WHERE status = ? AND call_id = ?').get(status, callId) as { n: number }).n;
    return (this.db.prepare('SELECT COUNT(*) AS n FROM webhook_outbox WHERE status = ?').get(status) as { n: number }).n;
  }

  markDelivered(seq: number, at: number, httpStatus: number): void {
    this.db.prepare(`UPDATE webhook_outbox SET status = 'delivered', attempts = attempts + 1, last_attempt_at = ?, last_status = ?, last_error = NULL, delivered_at = ? WHERE seq = ?`).run(at, httpStatus, at, seq);
  }

  /** A failed attempt: retried at `nextAttemptAt`, or given up (`failed`) when null. */
  markAttemptFailed(seq: number, at: number, httpStatus: number | null, error: string, nextAttemptAt: number | null): void {
    this.db
      .prepare(`UPDATE webhook_outbox SET status = ?, attempts = attempts + 1, last_attempt_at = ?, last_status = ?, last_error = ?, next_attempt_at = ? WHERE seq = ?`)
      .run(nextAttemptAt === null ? 'failed' : 'pending', at, httpStatus, error.slice(0, 500), nextAttemptAt ?? at, seq);
  }

  /** Deletes delivered and failed rows older than `before` (pending ones are kept whatever their age); returns how many. */
  prune(before: number): number {
    return this.db.prepare(`DELETE FROM webhook_outbox WHERE status != 'pending' AND COALESCE(delivered_at, last_attempt_at, created_at) < ?`).run(before).changes;
  }

  /**
   * Deletes a call's messages (their bodies carry transcript text and metadata), pending or not,
   * except the `data.deleted` notices themselves (counts only); returns how many.
   */
  deleteCall(callId: string): number {
    return this.db.prepare(`DELETE FROM webhook_outbox WHERE call_id = ? COLLATE NOCASE AND type != 'data.deleted'`).run(callId).changes;
  }

  /** Calls whose newest message (other than `data.deleted`) was created before `beforeMs`. */
  callsIdleBefore(beforeMs: number): Array<{ callId: string; lastAt: number }> {
    return (
      this.db
        .prepare(`SELECT call_id, MAX(created_at) AS last_at FROM webhook_outbox WHERE call_id IS NOT NULL AND type != 'data.deleted' GROUP BY call_id HAVING MAX(created_at) < ? ORDER BY last_at`)
        .all(beforeMs) as Array<{ call_id: string; last_at: number }>
    ).map((r) => ({ callId: r.call_id, lastAt: r.last_at }));
  }

  /** When the call's newest message (other than `data.deleted`) was created, or null. */
  callLastAt(callId: string): number | null {
    return (this.db.prepare(`SELECT MAX(created_at) AS at FROM webhook_outbox WHERE call_id = ? COLLATE NOCASE AND type != 'data.deleted'`).get(callId) as { at: number | null }).at;
  }

  /** Puts a row back in its lane to be sent again now, with the same webhook-id; false when unknown. */
  requeue(id: string, at: number): OutboxRow | undefined {
    const r = this.db.prepare(`UPDATE webhook_outbox SET status = 'pending', next_attempt_at = ?, created_at = created_at WHERE id = ? RETURNING *`).get(at, id) as RawRow | undefined;
    return r === undefined ? undefined : fromRaw(r);
  }
}
