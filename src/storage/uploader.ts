/**
 * Uploads the queued files of calls (src/store/storage-uploads.ts) to the object storage: a few at
 * a time, each checked after its upload (size and MD5), retried with exponential backoff, given up
 * after `maxAttempts`. On start, uploads a killed process left in flight are redone, and local
 * copies an earlier run uploaded but did not remove yet are removed. When a call's last file is
 * settled (uploaded or given up) `onCallSettled` runs once for it, even across restarts.
 */
import { rm, rmdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Counter, Gauge, type Registry } from 'prom-client';
import { MediabotError, isMediabotError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { NewUpload, StorageUploadStore, UploadRow } from '../store/storage-uploads.js';
import { Emitter } from '../util/emitter.js';
import type { ObjectStorage } from './object-storage.js';

export interface RetryPolicy {
  /** Delay before the 2nd attempt; doubled each time up to `maxMs`. */
  baseMs: number;
  maxMs: number;
  /** Attempts before an upload is given up (`failed`, local copy kept). */
  maxAttempts: number;
}

export const DEFAULT_RETRY: RetryPolicy = { baseMs: 2_000, maxMs: 5 * 60_000, maxAttempts: 12 };

export interface UploaderOptions {
  store: StorageUploadStore;
  storage: ObjectStorage;
  keepLocal: boolean;
  retry?: Partial<RetryPolicy>;
  /** Uploads at once. */
  concurrency?: number;
  /** Metrics go here (uploads done/retried/failed, pending). */
  registry?: Registry;
  /** A call's every file is settled; runs once per call (also for calls settled before a restart). */
  onCallSettled?: (callId: string, rows: UploadRow[]) => Promise<void> | void;
  logger: Logger;
  now?: () => number;
}

export class Uploader {
  private readonly retry: RetryPolicy;
  private readonly now: () => number;
  private readonly concurrency: number;
  private timer: NodeJS.Timeout | null = null;
  private pumping: Promise<void> | null = null;
  private again = false;
  private started = false;
  private stopped = false;
  private readonly inFlight = new Map<number, { callId: string; done: Promise<void> }>();
  private readonly changed = new Emitter<string>();
  private readonly counters: { uploads: Counter<'outcome'> } | null;

  constructor(private readonly o: UploaderOptions) {
    this.retry = { ...DEFAULT_RETRY, ...o.retry };
    this.now = o.now ?? Date.now;
    this.concurrency = Math.max(1, o.concurrency ?? 2);
    if (o.registry) {
      const registers = [o.registry];
      const store = o.store;
      this.counters = {
        uploads: new Counter({ name: 'mediabot_storage_uploads_total', help: 'Object storage upload attempts, by outcome: done (verified), retried, failed (given up)', labelNames: ['outcome'] as const, registers }),
      };
      new Gauge({
        name: 'mediabot_storage_uploads_pending',
        help: 'Files queued for object storage and not uploaded yet (pending or in flight)',
        registers,
        collect() {
          this.set(store.count('pending') + store.count('uploading'));
        },
      });
    } else this.counters = null;
  }

  /** Resumes what an earlier run left, then uploads as rows come due. */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    const resumed = this.o.store.resumeInterrupted(this.now());
    if (resumed > 0) this.o.logger.info({ resumed }, 'storage uploads interrupted by a stop are redone');
    void this.removeUploadedCopies();
    for (const callId of this.o.store.settledUnannounced()) void this.settle(callId);
    this.kick();
  }

  /**
   * Stops taking new uploads and waits for those in flight, at most `waitMs`: one still going then
   * stays `uploading` in the queue and is redone by the next start.
   */
  async stop(waitMs = 10_000): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((r) => (timer = setTimeout(r, waitMs)));
    await Promise.race([Promise.all([this.pumping, ...[...this.inFlight.values()].map((f) => f.done)]), deadline]);
    clearTimeout(timer);
  }

  /** Queues files (one call's, usually) and starts on them. */
  enqueue(rows: readonly NewUpload[]): UploadRow[] {
    if (rows.length === 0) return [];
    const added = this.o.store.add(rows, this.now());
    for (const callId of new Set(rows.map((r) => r.callId))) this.changed.emit(callId.toLowerCase());
    this.kick();
    return added;
  }

  /** Listens for changes to a call's rows (lower-cased call id). */
  onChange(listener: (callId: string) => void): () => void {
    return this.changed.on(listener);
  }

  /** Whether an upload of the call is in flight (its row may already say done while its local copy is being removed). */
  busy(callId: string): boolean {
    const k = callId.toLowerCase();
    return [...this.inFlight.values()].some((f) => f.callId.toLowerCase() === k);
  }

  /** Waits for the uploads of a call that are in flight now (before deleting its objects). */
  async settleInFlight(callId: string): Promise<void> {
    const k = callId.toLowerCase();
    await Promise.all([...this.inFlight.values()].filter((f) => f.callId.toLowerCase() === k).map((f) => f.done));
  }

  /** Pumps now if running (a new row, a test). */
  kick(): void {
    if (!this.started || this.stopped) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = this.pump().finally(() => {
      this.pumping = null;
      if (this.again) {
        this.again = false;
        this.kick();
      } else this.schedule();
    });
  }

  private schedule(): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const next = this.o.store.nextDueAt();
    if (next === null) return;
    this.timer = setTimeout(() => this.kick(), Math.min(Math.max(0, next - this.now()), 2 ** 31 - 1));
    this.timer.unref();
  }

  private async pump(): Promise<void> {
    while (!this.stopped) {
      const rows = this.o.store.due(this.now(), this.concurrency);
      if (rows.length === 0) return;
      // An attempt that outlives stop() may find the database closed: logged, never an unhandled rejection.
      await Promise.all(rows.map((r) => this.attempt(r).catch((err: unknown) => this.o.logger.warn({ err, callId: r.callId }, 'storage upload attempt failed'))));
    }
  }

  private async attempt(row: UploadRow): Promise<void> {
    if (!this.o.store.claim(row.id)) return;
    let finish!: () => void;
    const done = new Promise<void>((r) => (finish = r));
    this.inFlight.set(row.id, { callId: row.callId, done });
    try {
      await this.upload(row);
    } finally {
      this.inFlight.delete(row.id);
      finish();
      // The call's after-upload step (recording.ready) runs before waiters on the call hear of it.
      if (this.o.store.ofCall(row.callId).every((r) => r.status === 'done' || r.status === 'failed')) await this.settle(row.callId);
      this.changed.emit(row.callId.toLowerCase());
    }
  }

  private async upload(row: UploadRow): Promise<void> {
    const exists = await stat(row.localPath).then((s) => s.isFile(), () => false);
    if (!exists) {
      // Nothing to retry: the local file was removed (call data deleted) before it could be uploaded.
      this.o.store.markAttemptFailed(row.id, 'the local file is gone', null, this.now());
      this.counters?.uploads.inc({ outcome: 'failed' });
      this.o.logger.warn({ callId: row.callId, key: row.key }, 'storage upload given up: the local file is gone');
      return;
    }
    try {
      const put = await this.o.storage.put(row.key, row.localPath, row.contentType);
      if (this.o.store.get(row.id) === undefined) return; // the call's objects were deleted meanwhile
      this.o.store.markDone(row.id, this.now(), put.bytes, put.md5);
      this.counters?.uploads.inc({ outcome: 'done' });
      this.o.logger.debug({ callId: row.callId, key: row.key, bytes: put.bytes }, 'uploaded to storage');
      if (!this.o.keepLocal) await this.removeLocal(row);
    } catch (err) {
      const attempts = row.attempts + 1;
      const giveUp = attempts >= this.retry.maxAttempts;
      const next = giveUp ? null : this.now() + Math.min(this.retry.maxMs, this.retry.baseMs * 2 ** (attempts - 1));
      const message = isMediabotError(err) ? `${err.code}: ${err.message}` : err instanceof Error ? err.message : String(err);
      this.o.store.markAttemptFailed(row.id, message, next, this.now());
      this.counters?.uploads.inc({ outcome: giveUp ? 'failed' : 'retried' });
      this.o.logger.warn({ callId: row.callId, key: row.key, attempts, retryAt: next === null ? null : new Date(next).toISOString(), error: message }, giveUp ? 'storage upload given up' : 'storage upload failed, will retry');
    }
  }

  private async removeLocal(row: UploadRow): Promise<void> {
    try {
      await rm(row.localPath, { force: true });
      this.o.store.markLocalRemoved(row.id);
      // The call's folder goes once empty (rmdir refuses a folder that still holds something).
      await rmdir(dirname(row.localPath)).catch(() => undefined);
    } catch (err) {
      this.o.logger.warn({ err, callId: row.callId }, 'an uploaded local copy could not be removed');
    }
  }

  private async removeUploadedCopies(): Promise<void> {
    if (this.o.keepLocal) return;
    for (const row of this.o.store.doneWithLocalCopy()) await this.removeLocal(row);
  }

  private async settle(callId: string): Promise<void> {
    if (!this.o.store.markAnnounced(callId, this.now())) return;
    try {
      await this.o.onCallSettled?.(callId, this.o.store.ofCall(callId));
    } catch (err) {
      this.o.logger.warn({ err: isMediabotError(err) ? err.message : err, callId }, 'after-upload step of a call failed');
    }
  }
}

/** A promise that settles when `check` returns rows, re-checked on each change of the call. */
export function waitForCall<T>(uploader: Uploader, callId: string, check: () => T | undefined, timeoutMs: number): Promise<T> {
  const first = check();
  if (first !== undefined) return Promise.resolve(first);
  const k = callId.toLowerCase();
  return new Promise((resolve, reject) => {
    const off = uploader.onChange((id) => {
      if (id !== k) return;
      const v = check();
      if (v === undefined) return;
      off();
      clearTimeout(t);
      resolve(v);
    });
    const t = setTimeout(() => {
      off();
      reject(new MediabotError('MEDIABOT_OPERATION_TIMEOUT', `the uploads of call ${callId} did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    t.unref();
  });
}
