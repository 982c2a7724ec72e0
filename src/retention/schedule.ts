/**
 * MEDIABOT_RETENTION_DAYS: a sweep at start and then every hour (an unref'd timer: it never keeps
 * the process alive) deletes the data of calls that ended more than that many days ago, with
 * reason `retention`. Sweeps never overlap; a call that cannot be deleted now (it is live again,
 * a step failed) is logged and tried again at the next sweep.
 */
import { isMediabotError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { CallDataDeleter } from './call-data.js';
import type { DeletionRecord } from './deletion-log.js';

export const RETENTION_SWEEP_INTERVAL_MS = 60 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

export interface RetentionSweeperOptions {
  /** Days calls are kept after they ended; 0 turns the sweep off. */
  days: number;
  deleter: Pick<CallDataDeleter, 'delete' | 'staleCalls'>;
  /** The clock (tests pass a fake one). */
  now?: () => Date;
  intervalMs?: number;
  logger: Logger;
}

export class RetentionSweeper {
  private timer: NodeJS.Timeout | null = null;
  private sweeping: Promise<DeletionRecord[]> | null = null;
  private readonly now: () => Date;

  constructor(private readonly o: RetentionSweeperOptions) {
    this.now = o.now ?? (() => new Date());
  }

  get enabled(): boolean {
    return this.o.days > 0;
  }

  /** Sweeps now, then every interval. Nothing when retention is off. */
  start(): void {
    if (!this.enabled || this.timer !== null) return;
    void this.sweep();
    this.timer = setInterval(() => void this.sweep(), this.o.intervalMs ?? RETENTION_SWEEP_INTERVAL_MS);
    this.timer.unref();
  }

  /** Stops the timer and waits for a sweep in progress. */
  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.sweeping?.catch(() => undefined);
  }

  /**
   * Deletes the data of every call that ended more than `days` before `at` (default: the clock's
   * now); resolves with the deletions made. A sweep already running is joined, not repeated.
   */
  sweep(at: Date = this.now()): Promise<DeletionRecord[]> {
    if (!this.enabled) return Promise.resolve([]);
    this.sweeping ??= this.run(at).finally(() => {
      this.sweeping = null;
    });
    return this.sweeping;
  }

  private async run(at: Date): Promise<DeletionRecord[]> {
    const cutoff = new Date(at.getTime() - this.o.days * DAY_MS);
    const done: DeletionRecord[] = [];
    let ids: string[];
    try {
      ids = await this.o.deleter.staleCalls(cutoff);
    } catch (err) {
      this.o.logger.error({ err }, 'retention sweep: listing old calls failed');
      return done;
    }
    for (const id of ids) {
      try {
        const r = await this.o.deleter.delete(id, 'retention');
        if (!r.alreadyDeleted) done.push(r);
      } catch (err) {
        // Live again, being written, or a failed step: the next sweep tries again.
        this.o.logger.warn({ callId: id, code: isMediabotError(err) ? err.code : undefined, err: isMediabotError(err) ? undefined : err }, 'retention sweep: a call\'s data was not deleted');
      }
    }
    if (ids.length > 0) this.o.logger.info({ deleted: done.length, candidates: ids.length, cutoff: cutoff.toISOString() }, 'retention sweep done');
    return done;
  }
}
