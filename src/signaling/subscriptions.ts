import { randomBytes } from 'node:crypto';
import type { EventBus } from '../events/bus.js';
import { MediabotError } from '../errors.js';
import type { Logger } from '../logger.js';
import { silentLogger } from '../logger.js';
import type { CallRecordStore } from '../store/call-records.js';
import type { ChangeNotification } from './notifications.js';
import type { CallRecordsPort, SubscriptionInfo, SubscriptionsPort } from './ports.js';
import { secretsEqual } from './secrets.js';

/** callRecords subscriptions may live at most 4230 minutes; stay a little under. */
export const CALL_RECORDS_MAX_LIFETIME_MS = 4230 * 60_000;

export interface SubscriptionManagerOptions {
  port: SubscriptionsPort;
  /** Where Graph posts change notifications (…/api/notifications). */
  notificationUrl: string;
  /** Where Graph posts lifecycle events; defaults to notificationUrl. */
  lifecycleNotificationUrl?: string;
  resource?: string;
  changeType?: string;
  clientState: string;
  /** Requested lifetime (default 4200 min for callRecords). */
  lifetimeMs?: number;
  /** Renew this long before expiry (default a quarter of the lifetime, at most 1 h). */
  renewBeforeMs?: number;
  /** Retry delay after a failed create/renew (default 60 s). */
  retryMs?: number;
  logger?: Logger;
  /** Called on a `missed` lifecycle event: resynchronise what may have been lost. */
  onMissed?: (since: Date) => Promise<void>;
}

/**
 * Keeps one webhook subscription alive: creates it, renews it before it expires,
 * and reacts to lifecycle events (reauthorizationRequired → renew,
 * subscriptionRemoved → recreate, missed → resync).
 */
export class SubscriptionManager {
  private current: SubscriptionInfo | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = true;
  private lastHealthy = new Date();
  private readonly log: Logger;
  readonly resource: string;
  private readonly lifetimeMs: number;
  private readonly renewBeforeMs: number;
  private readonly retryMs: number;
  /** Counters for metrics and tests. */
  readonly counts = { created: 0, renewed: 0, recreated: 0, missed: 0, failures: 0 };

  constructor(private readonly o: SubscriptionManagerOptions) {
    this.log = o.logger ?? silentLogger;
    this.resource = o.resource ?? '/communications/callRecords';
    this.lifetimeMs = Math.min(o.lifetimeMs ?? 4200 * 60_000, CALL_RECORDS_MAX_LIFETIME_MS);
    this.renewBeforeMs = o.renewBeforeMs ?? Math.min(3600_000, Math.floor(this.lifetimeMs / 4));
    this.retryMs = o.retryMs ?? 60_000;
    if (!(this.renewBeforeMs > 0 && this.renewBeforeMs < this.lifetimeMs)) {
      throw new MediabotError('MEDIABOT_CONFIG_INVALID', 'subscription renewBeforeMs must be between 0 and the lifetime');
    }
  }

  get subscription(): SubscriptionInfo | null {
    return this.current;
  }

  owns(subscriptionId: string | null): boolean {
    return subscriptionId !== null && this.current !== null && this.current.id.toLowerCase() === subscriptionId.toLowerCase();
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.create();
  }

  /** Stops renewing; with `deleteRemote` also deletes the subscription in Graph. */
  async stop(deleteRemote = false): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const sub = this.current;
    this.current = null;
    if (deleteRemote && sub) {
      try {
        await this.o.port.delete(sub.id);
      } catch (err) {
        this.log.warn({ err, subscriptionId: sub.id }, 'deleting the subscription failed');
      }
    }
  }

  /** Last time the subscription was known good (created or renewed): where a resync starts. */
  get healthySince(): Date {
    return this.lastHealthy;
  }

  /**
   * Acts on a lifecycle event. Returns false when the event was not handled here
   * (not ours, unknown, or `missed` without an onMissed hook) so the caller may act.
   */
  async handleLifecycle(event: string, subscriptionId: string | null): Promise<boolean> {
    if (subscriptionId !== null && this.current !== null && !this.owns(subscriptionId)) {
      this.log.warn({ subscriptionId, event }, 'lifecycle event for a subscription this manager does not own');
      return false;
    }
    switch (event) {
      case 'reauthorizationRequired':
        await this.renew();
        return true;
      case 'subscriptionRemoved':
        this.counts.recreated++;
        this.current = null;
        await this.create();
        return true;
      case 'missed':
        this.counts.missed++;
        if (!this.o.onMissed) return false;
        await this.o.onMissed(this.lastHealthy);
        return true;
      default:
        this.log.warn({ event }, 'unknown lifecycle event');
        return false;
    }
  }

  async renew(): Promise<void> {
    const sub = this.current;
    if (!sub) {
      await this.create();
      return;
    }
    try {
      const renewed = await this.o.port.renew(sub.id, this.expiry());
      this.current = { ...sub, ...renewed };
      this.counts.renewed++;
      this.lastHealthy = new Date();
      this.schedule(this.renewDelay());
    } catch (err) {
      this.counts.failures++;
      this.log.warn({ err, subscriptionId: sub.id }, 'renewing the subscription failed; recreating it');
      this.current = null;
      await this.create();
    }
  }

  private async create(): Promise<void> {
    if (this.stopped) return;
    try {
      this.current = await this.o.port.create({
        changeType: this.o.changeType ?? 'created',
        notificationUrl: this.o.notificationUrl,
        lifecycleNotificationUrl: this.o.lifecycleNotificationUrl ?? this.o.notificationUrl,
        resource: this.resource,
        expirationDateTime: this.expiry(),
        clientState: this.o.clientState,
      });
      this.counts.created++;
      this.lastHealthy = new Date();
      this.schedule(this.renewDelay());
    } catch (err) {
      this.counts.failures++;
      this.log.warn({ err, resource: this.resource }, 'creating the subscription failed; will retry');
      this.schedule(this.retryMs);
    }
  }

  private expiry(): string {
    return new Date(Date.now() + this.lifetimeMs).toISOString();
  }

  /** Renew `renewBeforeMs` before the expiry Graph granted (which may be shorter than asked). */
  private renewDelay(): number {
    const exp = this.current ? Date.parse(this.current.expirationDateTime) : NaN;
    const until = Number.isFinite(exp) ? exp - Date.now() : this.lifetimeMs;
    return Math.max(1000, until - this.renewBeforeMs);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    // setTimeout caps at 2^31-1 ms; longer waits re-arm.
    const delay = Math.min(ms, 2 ** 31 - 1);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.renew();
    }, delay);
    this.timer.unref();
  }
}

export function newClientState(): string {
  return randomBytes(32).toString('base64url');
}

export interface ChangeNotificationProcessorOptions {
  clientState: string;
  managers?: SubscriptionManager[];
  callRecords?: CallRecordsPort;
  store?: CallRecordStore;
  bus?: EventBus;
  logger?: Logger;
  onPresence?: (item: Extract<ChangeNotification, { kind: 'presence' }>) => void;
  /** Teams announced a meeting transcript or recording. */
  onMeetingArtifact?: (item: Extract<ChangeNotification, { kind: 'meetingArtifact' }>) => void;
  onDiscard?: (reason: 'client_state' | 'unknown' | 'rich') => void;
  /**
   * Opens rich notifications (validation tokens, then decryption); items that fail are dropped.
   * Without it, encrypted items are passed on sealed (`rich` set, `data` absent).
   */
  rich?: { open(rich: { encryptedContent: unknown; validationTokens: readonly unknown[] }, tenantId: string | null): Promise<unknown> } | undefined;
}

/**
 * Handles change notifications: drops items whose clientState does not match,
 * routes lifecycle events to the owning subscription manager, and fetches and
 * stores call records.
 */
export class ChangeNotificationProcessor {
  private readonly log: Logger;
  constructor(private readonly o: ChangeNotificationProcessorOptions) {
    this.log = o.logger ?? silentLogger;
  }

  /** Keeps only items carrying the expected clientState. */
  authentic(items: ChangeNotification[]): ChangeNotification[] {
    return items.filter((item) => {
      if (item.kind === 'unknown') {
        this.o.onDiscard?.('unknown');
        return false;
      }
      if (secretsEqual(this.o.clientState, item.clientState)) return true;
      this.o.onDiscard?.('client_state');
      this.log.warn({ kind: item.kind, subscriptionId: item.subscriptionId }, 'discarded a change notification with a wrong clientState');
      return false;
    });
  }

  /**
   * Opens the rich items: checks the body's validation tokens, decrypts, and sets `data`. An item
   * that fails either check is dropped (logged, onDiscard('rich')); nothing from it is used.
   */
  async openRich(items: ChangeNotification[]): Promise<ChangeNotification[]> {
    const out: ChangeNotification[] = [];
    for (const item of items) {
      if (item.kind === 'unknown' || item.kind === 'lifecycle' || item.kind === 'callRecord' || item.rich === undefined || !this.o.rich) {
        out.push(item);
        continue;
      }
      try {
        out.push({ ...item, data: await this.o.rich.open(item.rich, item.tenantId) });
      } catch (err) {
        this.o.onDiscard?.('rich');
        this.log.warn({ kind: item.kind, subscriptionId: item.subscriptionId, err: err instanceof Error ? err.message : String(err) }, 'discarded a rich notification');
      }
    }
    return out;
  }

  async process(items: ChangeNotification[]): Promise<void> {
    for (const item of await this.openRich(items)) {
      try {
        await this.processOne(item);
      } catch (err) {
        this.log.error({ err, kind: item.kind }, 'processing a change notification failed');
      }
    }
  }

  /** Fetches one call record with sessions and segments and stores it. */
  async fetchAndStore(callRecordId: string): Promise<void> {
    if (!this.o.callRecords || !this.o.store) return;
    const record = await this.o.callRecords.get(callRecordId, 'sessions($expand=segments)');
    this.o.store.put(record);
    const stored = this.o.store.get(callRecordId);
    this.o.bus?.emit({ type: 'callRecord.stored', callRecordId, version: stored?.version ?? null, at: new Date().toISOString() });
  }

  /** After a `missed` event: fetch every record listed since `since`. */
  async resync(since: Date): Promise<void> {
    if (!this.o.callRecords?.listSince) {
      this.log.warn('missed notifications, but the CallRecordsPort cannot list records; nothing to resync');
      return;
    }
    for (const r of await this.o.callRecords.listSince(since)) await this.fetchAndStore(r.id);
  }

  private async processOne(item: ChangeNotification): Promise<void> {
    switch (item.kind) {
      case 'lifecycle': {
        const managers = this.o.managers ?? [];
        const owner = managers.find((m) => m.owns(item.subscriptionId)) ?? (managers.length === 1 ? managers[0] : undefined);
        if (!owner) {
          this.log.warn({ subscriptionId: item.subscriptionId }, 'lifecycle event for an unknown subscription');
          return;
        }
        const handled = await owner.handleLifecycle(item.lifecycleEvent, item.subscriptionId);
        // Missed notifications with no hook on the manager: resync call records here.
        if (!handled && item.lifecycleEvent === 'missed' && owner.resource.toLowerCase().includes('callrecords')) await this.resync(owner.healthySince);
        return;
      }
      case 'callRecord':
        await this.fetchAndStore(item.callRecordId);
        return;
      case 'presence':
        this.o.onPresence?.(item);
        return;
      case 'meetingArtifact':
        this.o.onMeetingArtifact?.(item);
        return;
      default:
        return;
    }
  }
}
