/**
 * Durable, ordered, signed delivery of webhooks (Standard Webhooks: webhook-id, webhook-timestamp,
 * webhook-signature = `v1,` + base64 HMAC-SHA256 of `id.timestamp.body`, signed by the
 * `standardwebhooks` library). Every message is an outbox row before its first attempt; failed
 * attempts are retried with exponential backoff and jitter for up to 24 hours with the same
 * webhook-id; a lane (one call, one target) sends its next message only once the previous one was
 * delivered or given up.
 */
import { randomUUID } from 'node:crypto';
import { Counter, Gauge, type Registry } from 'prom-client';
import { Webhook } from 'standardwebhooks';
import { MediabotError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { DeliveryFilter, OutboxRow, WebhookOutbox } from '../store/webhook-outbox.js';
import { postWebhook, type PostResult } from './post.js';

export interface WebhookRetrySettings {
  baseDelayMs: number;
  maxDelayMs: number;
  windowMs: number;
  timeoutMs: number;
  concurrency: number;
  keepMs: number;
}

export const WEBHOOK_RETRY_DEFAULTS: Readonly<WebhookRetrySettings> = {
  /** First retry after about this (then doubling). */
  baseDelayMs: 500,
  /** Longest wait between two attempts. */
  maxDelayMs: 60 * 60 * 1000,
  /** How long a message is retried before it is given up (`failed`). */
  windowMs: 24 * 60 * 60 * 1000,
  /** One attempt's deadline. */
  timeoutMs: 10_000,
  /** Attempts in flight at once (each on its own lane). */
  concurrency: 8,
  /** Delivered and failed messages are kept this long for GET /v1/webhooks/deliveries and replay. */
  keepMs: 30 * 24 * 60 * 60 * 1000,
};

export interface WebhookDispatcherOptions {
  outbox: WebhookOutbox;
  /** `whsec_` + base64. */
  secret: string;
  /** MEDIABOT_FETCH_ALLOWLIST entries. */
  allowlist: readonly string[];
  logger: Logger;
  /** Registers mediabot_webhook_* metrics here when given. */
  registry?: Registry;
  ca?: string;
  retry?: Partial<WebhookRetrySettings>;
  now?: () => number;
}

/** One message as the API shows it: the outbox row without the internal lane key. */
export interface WebhookDelivery {
  /** The outbox sequence number (paging: `before`). */
  seq: number;
  id: string;
  callId: string | null;
  url: string;
  type: string;
  status: OutboxRow['status'];
  attempts: number;
  createdAt: string;
  nextAttemptAt: string | null;
  lastAttemptAt: string | null;
  lastStatus: number | null;
  lastError: string | null;
  deliveredAt: string | null;
  /** The JSON body sent ({type, timestamp, data}). */
  payload: unknown;
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function deliveryJson(r: OutboxRow): WebhookDelivery {
  return {
    seq: r.seq,
    id: r.id,
    callId: r.callId,
    url: r.url,
    type: r.type,
    status: r.status,
    attempts: r.attempts,
    createdAt: new Date(r.createdAt).toISOString(),
    nextAttemptAt: r.status === 'pending' ? iso(r.nextAttemptAt) : null,
    lastAttemptAt: iso(r.lastAttemptAt),
    lastStatus: r.lastStatus,
    lastError: r.lastError,
    deliveredAt: iso(r.deliveredAt),
    payload: JSON.parse(r.body) as unknown,
  };
}

/** Delay before attempt n+1 after n failed ones: doubling from the base, capped, with equal jitter. */
export function retryDelayMs(failedAttempts: number, base: number, max: number, random: () => number = Math.random): number {
  const full = Math.min(max, base * 2 ** Math.min(Math.max(failedAttempts - 1, 0), 40));
  return Math.round(full / 2 + random() * (full / 2));
}

export class WebhookDispatcher {
  private readonly signer: Webhook;
  private readonly retry: WebhookRetrySettings;
  private readonly now: () => number;
  private readonly inFlight = new Map<string, Promise<void>>();
  private timer: NodeJS.Timeout | null = null;
  private pruneTimer: NodeJS.Timeout | null = null;
  private kickQueued = false;
  private timerAt = Infinity;
  private stopped = true;
  private readonly idleWaiters = new Set<() => void>();
  private readonly metrics: { delivered: Counter<'type'>; failedAttempts: Counter<'type'>; givenUp: Counter<'type'> } | null;

  constructor(private readonly o: WebhookDispatcherOptions) {
    this.signer = new Webhook(o.secret);
    this.retry = { ...WEBHOOK_RETRY_DEFAULTS, ...o.retry };
    this.now = o.now ?? Date.now;
    const registers = o.registry ? [o.registry] : [];
    this.metrics = o.registry
      ? {
          delivered: new Counter({ name: 'mediabot_webhook_delivered_total', help: 'Webhook messages delivered (2xx), by event type', labelNames: ['type'] as const, registers }),
          failedAttempts: new Counter({ name: 'mediabot_webhook_failed_attempts_total', help: 'Webhook delivery attempts that failed (non-2xx, refused address, error, timeout), by event type', labelNames: ['type'] as const, registers }),
          givenUp: new Counter({ name: 'mediabot_webhook_given_up_total', help: 'Webhook messages given up after the retry window, by event type', labelNames: ['type'] as const, registers }),
        }
      : null;
    if (o.registry) {
      const outbox = o.outbox;
      new Gauge({
        name: 'mediabot_webhook_pending',
        help: 'Webhook messages waiting for delivery (in the outbox, not yet delivered or given up)',
        registers,
        collect() {
          this.set(outbox.count('pending'));
        },
      });
    }
  }

  /** Starts sending: pending rows left by an earlier run (a restart, a crash) are resumed. */
  start(): void {
    this.stopped = false;
    this.kick();
    const prune = (): void => {
      try {
        this.o.outbox.prune(this.now() - this.retry.keepMs);
      } catch (err) {
        this.o.logger.warn({ err }, 'pruning the webhook outbox failed');
      }
    };
    prune();
    this.pruneTimer = setInterval(prune, 60 * 60 * 1000);
    this.pruneTimer.unref();
  }

  /** Stops scheduling attempts and waits for those in flight (their rows stay pending if unfinished). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    this.timer = null;
    this.pruneTimer = null;
    await Promise.allSettled([...this.inFlight.values()]);
  }

  /**
   * Writes one message per target URL to the outbox (before any attempt) and schedules them.
   * `data` is the event's payload; the body is `{type, timestamp, data}`.
   */
  enqueue(callId: string | null, urls: readonly string[], type: string, data: Record<string, unknown>, at: number = this.now()): OutboxRow[] {
    if (urls.length === 0) return [];
    const body = JSON.stringify({ type, timestamp: new Date(at).toISOString(), data });
    const rows = this.o.outbox.add([...new Set(urls)].map((url) => ({ id: `msg_${randomUUID().replace(/-/g, '')}`, callId, url, type, body, createdAt: at })));
    this.kickSoon();
    return rows;
  }

  deliveries(filter: DeliveryFilter = {}): WebhookDelivery[] {
    return this.o.outbox.list(filter).map(deliveryJson);
  }

  delivery(id: string): WebhookDelivery {
    const r = this.o.outbox.get(id);
    if (!r) throw new MediabotError('MEDIABOT_NOT_FOUND', `no webhook delivery with id ${id}`);
    return deliveryJson(r);
  }

  /** Sends a message again (same webhook-id, a fresh 24-hour window), in its lane's order. */
  replay(id: string): WebhookDelivery {
    const r = this.o.outbox.get(id);
    if (!r) throw new MediabotError('MEDIABOT_NOT_FOUND', `no webhook delivery with id ${id}`);
    if (r.status === 'pending') throw new MediabotError('MEDIABOT_WEBHOOK_PENDING', `webhook delivery ${id} is still pending`);
    const row = this.o.outbox.requeue(id, this.now())!;
    this.kick();
    return deliveryJson(row);
  }

  /** Messages not yet delivered nor given up (of one call when given). */
  pending(callId?: string): number {
    return this.o.outbox.count('pending', callId);
  }

  /** Resolves with the number still pending (of one call when given) once none is, or when `timeoutMs` has passed. */
  whenIdle(timeoutMs: number, callId?: string): Promise<number> {
    if (this.pending(callId) === 0) return Promise.resolve(0);
    return new Promise((resolve) => {
      const check = (): void => {
        if (this.pending(callId) > 0) return;
        finish();
      };
      const finish = (): void => {
        clearTimeout(t);
        this.idleWaiters.delete(check);
        resolve(this.pending(callId));
      };
      const t = setTimeout(finish, timeoutMs);
      this.idleWaiters.add(check);
    });
  }

  /** One kick for a burst of enqueues (each kick reads every lane's head). */
  private kickSoon(): void {
    if (this.kickQueued) return;
    this.kickQueued = true;
    setImmediate(() => {
      this.kickQueued = false;
      this.kick();
    });
  }

  /** Looks at the lanes' heads: attempts those due, and sets one timer for the earliest other. */
  private kick(): void {
    if (this.stopped) return;
    const now = this.now();
    let earliest = Infinity;
    for (const head of this.o.outbox.heads()) {
      if (this.inFlight.has(head.lane)) continue;
      if (head.nextAttemptAt > now) {
        earliest = Math.min(earliest, head.nextAttemptAt);
        continue;
      }
      if (this.inFlight.size >= this.retry.concurrency) {
        earliest = Math.min(earliest, now + 50);
        continue;
      }
      const p = this.attempt(head).finally(() => {
        this.inFlight.delete(head.lane);
        this.kick();
        for (const w of [...this.idleWaiters]) w();
      });
      this.inFlight.set(head.lane, p);
    }
    if (earliest < this.timerAt || this.timer === null) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      this.timerAt = Infinity;
      if (earliest !== Infinity) {
        this.timerAt = earliest;
        this.timer = setTimeout(() => {
          this.timer = null;
          this.timerAt = Infinity;
          this.kick();
        }, Math.max(0, earliest - now));
        this.timer.unref();
      }
    }
  }

  /** One attempt for one row; the row's new state is written before the lane moves on. */
  private async attempt(row: OutboxRow): Promise<void> {
    const sentAt = new Date(this.now());
    // A fresh timestamp each attempt (receivers refuse old ones); the webhook-id never changes.
    const signature = this.signer.sign(row.id, sentAt, row.body);
    const headers = { 'webhook-id': row.id, 'webhook-timestamp': String(Math.floor(sentAt.getTime() / 1000)), 'webhook-signature': signature };
    let result: PostResult;
    try {
      result = await postWebhook(row.url, headers, row.body, { allowlist: this.o.allowlist, timeoutMs: this.retry.timeoutMs, ...(this.o.ca !== undefined ? { ca: this.o.ca } : {}) });
    } catch (err) {
      result = { status: null, ok: false, error: String((err as Error)?.message ?? err) };
    }
    const at = this.now();
    if (result.ok) {
      this.o.outbox.markDelivered(row.seq, at, result.status!);
      this.metrics?.delivered.inc({ type: row.type });
      return;
    }
    this.metrics?.failedAttempts.inc({ type: row.type });
    const next = at + retryDelayMs(row.attempts + 1, this.retry.baseDelayMs, this.retry.maxDelayMs);
    const giveUp = next > row.windowStart + this.retry.windowMs;
    this.o.outbox.markAttemptFailed(row.seq, at, result.status, result.error ?? 'failed', giveUp ? null : next);
    if (giveUp) {
      this.metrics?.givenUp.inc({ type: row.type });
      this.o.logger.warn({ webhookId: row.id, url: row.url, attempts: row.attempts + 1, error: result.error }, 'webhook given up after its retry window');
    } else {
      this.o.logger.debug({ webhookId: row.id, attempts: row.attempts + 1, error: result.error }, 'webhook attempt failed; retrying');
    }
  }
}
