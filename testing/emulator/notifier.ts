import type { Logger } from '../../src/logger.js';

export interface DeliveryStats {
  delivered: number;
  failed: number;
  retried: number;
}

export interface NotifierOptions {
  logger: Logger;
  /** Delays before each retry of a 5xx or network failure; its length is the retry count. */
  retryDelaysMs?: readonly number[];
  timeoutMs?: number;
}

export interface Delivery {
  url: string;
  body: unknown;
  /** Supplies the Authorization header value per attempt (tokens are minted fresh). */
  authorization?: () => Promise<string>;
}

/**
 * Posts notifications asynchronously, one queue per key (a call id, a subscription id), so one
 * call's notifications arrive in order while different calls proceed in parallel. 5xx answers and
 * network errors are retried; a failure after the last retry is logged and counted, and the queue
 * moves on.
 */
export class Notifier {
  readonly stats: DeliveryStats = { delivered: 0, failed: 0, retried: 0 };
  private readonly queues = new Map<string, Promise<void>>();
  private readonly retryDelaysMs: readonly number[];
  private readonly timeoutMs: number;
  private closed = false;

  constructor(private readonly opts: NotifierOptions) {
    this.retryDelaysMs = opts.retryDelaysMs ?? [200, 1000, 3000];
    this.timeoutMs = opts.timeoutMs ?? 10_000;
  }

  /** Queues a delivery behind earlier ones with the same key; resolves when it is done (or given up). */
  enqueue(key: string, delivery: Delivery): Promise<void> {
    const prev = this.queues.get(key) ?? Promise.resolve();
    const next = prev.then(() => this.deliver(delivery));
    this.queues.set(key, next);
    void next.then(() => {
      if (this.queues.get(key) === next) this.queues.delete(key);
    });
    return next;
  }

  /** Resolves once every queued delivery has finished. */
  async drain(): Promise<void> {
    while (this.queues.size > 0) await Promise.all([...this.queues.values()]);
  }

  close(): void {
    this.closed = true;
  }

  private async deliver(d: Delivery): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      if (this.closed) return;
      let outcome: string;
      try {
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (d.authorization) headers['authorization'] = await d.authorization();
        const res = await fetch(d.url, {
          method: 'POST',
          headers,
          body: JSON.stringify(d.body),
          signal: AbortSignal.timeout(this.timeoutMs),
        });
        await res.arrayBuffer().catch(() => undefined);
        if (res.status < 500) {
          if (res.status >= 400) {
            this.stats.failed += 1;
            this.opts.logger.warn({ url: d.url, status: res.status }, 'notification rejected by receiver');
          } else {
            this.stats.delivered += 1;
          }
          return;
        }
        outcome = `HTTP ${res.status}`;
      } catch (err) {
        outcome = err instanceof Error ? err.message : String(err);
      }
      const delay = this.retryDelaysMs[attempt];
      if (delay === undefined || this.closed) {
        this.stats.failed += 1;
        this.opts.logger.warn({ url: d.url, outcome, attempts: attempt + 1 }, 'notification delivery failed');
        return;
      }
      this.stats.retried += 1;
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
