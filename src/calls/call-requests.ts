/**
 * Call requests with a `dedupKey` or a `joinAt`: a second request with the same key gets the same
 * call (or the same scheduled request); a request with a future `joinAt` is stored in SQLite and
 * joined when due, by this process or, after a restart, the next one (picked up on start).
 * A request that was being created when the process died is marked failed on start rather than
 * joined twice.
 */
import { randomUUID } from 'node:crypto';
import { MediabotError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { CallRegistry, CallView } from '../signaling/registry.js';
import type { CallRequestRow, CallSettingsStore } from '../store/call-settings.js';
import { badRequest } from './call-table.js';
import type { CallSettings } from './call-settings.js';
import type { LeaveOverride } from './leave/input.js';
import type { JoinCallInput, MediaMode, PlaceCallInput, TargetInput } from './types.js';

/** How far ahead a join may be scheduled. */
export const JOIN_AT_MAX_AHEAD_MS = 7 * 24 * 60 * 60 * 1000;
/** A joinAt at most this far in the past joins at once; older is refused. */
export const JOIN_AT_PAST_TOLERANCE_MS = 60_000;

export interface CallRequestInput {
  joinWebUrl?: string;
  targets?: TargetInput[];
  media?: MediaMode;
  subject?: string;
  tenantId?: string;
  settings?: CallSettings;
  leave?: LeaveOverride;
  /** A second request with the same key returns the same call (1-200 characters). */
  dedupKey?: string;
  /** ISO 8601 time to join at (up to 7 days ahead). */
  joinAt?: string;
}

export interface ScheduledCallJson {
  id: string;
  state: CallRequestRow['state'];
  joinAt: string | null;
  dedupKey: string | null;
  callId: string | null;
  error: string | null;
  createdAt: string;
  metadata: Record<string, unknown> | null;
}

export type CallRequestResult = { kind: 'call'; call: CallView; existing: boolean } | { kind: 'scheduled'; scheduled: ScheduledCallJson; existing: boolean };

export interface CallRequestsOptions {
  join: (input: JoinCallInput) => Promise<CallView>;
  place: (input: PlaceCallInput) => Promise<CallView>;
  /** Checks a request without creating anything (settings, join URL): throws MEDIABOT_BAD_REQUEST. */
  check: (input: CallRequestInput) => void;
  store: CallSettingsStore;
  registry: CallRegistry;
  logger: Logger;
  /** A scheduled join failed (for webhooks): the request and the error. */
  onScheduledFailed?: (row: ScheduledCallJson) => void;
  now?: () => number;
}

export function scheduledJson(r: CallRequestRow): ScheduledCallJson {
  const settings = r.request['settings'] as CallSettings | undefined;
  return {
    id: r.id,
    state: r.state,
    joinAt: r.joinAt === null ? null : new Date(r.joinAt).toISOString(),
    dedupKey: r.dedupKey,
    callId: r.callId,
    error: r.error,
    createdAt: new Date(r.createdAt).toISOString(),
    metadata: settings?.metadata ?? null,
  };
}

export class CallRequests {
  private readonly now: () => number;
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** Requests being created in this process, by id (a concurrent duplicate waits for the first). */
  private readonly creating = new Map<string, Promise<CallView>>();
  private started = false;

  constructor(private readonly o: CallRequestsOptions) {
    this.now = o.now ?? Date.now;
  }

  /** Joins or places now, schedules, or returns what an earlier request with the same dedupKey got. */
  async create(input: CallRequestInput): Promise<CallRequestResult> {
    if ((input.joinWebUrl === undefined) === (input.targets === undefined)) throw badRequest('give exactly one of joinWebUrl or targets');
    if (input.dedupKey !== undefined && (typeof input.dedupKey !== 'string' || input.dedupKey.length < 1 || input.dedupKey.length > 200)) throw badRequest('dedupKey must be 1-200 characters');
    let joinAt: number | null = null;
    if (input.joinAt !== undefined) {
      const t = Date.parse(input.joinAt);
      if (typeof input.joinAt !== 'string' || !Number.isFinite(t) || !/^\d{4}-\d\d-\d\dT/.test(input.joinAt)) throw badRequest('joinAt must be an ISO 8601 date-time, e.g. 2030-01-01T09:00:00Z');
      const now = this.now();
      if (t < now - JOIN_AT_PAST_TOLERANCE_MS) throw badRequest(`joinAt ${input.joinAt} is in the past`);
      if (t > now + JOIN_AT_MAX_AHEAD_MS) throw badRequest('joinAt is more than 7 days ahead');
      if (t > now) joinAt = t;
    }
    if (input.dedupKey === undefined && joinAt === null) return { kind: 'call', call: await this.send(input), existing: false };

    // Everything a later join would refuse is refused now, not when it is due.
    this.o.check(input);
    const { joinAt: _ignored, dedupKey, ...request } = input;
    const { row, existing } = this.o.store.addRequest({ id: randomUUID(), dedupKey: dedupKey ?? null, state: joinAt === null ? 'creating' : 'scheduled', request: request as Record<string, unknown>, joinAt, createdAt: this.now() });
    if (existing) return this.existing(row);
    if (joinAt !== null) {
      this.arm(row);
      return { kind: 'scheduled', scheduled: scheduledJson(row), existing: false };
    }
    return { kind: 'call', call: await this.createNow(row), existing: false };
  }

  /** Scheduled requests, earliest first. */
  list(): ScheduledCallJson[] {
    return this.o.store.scheduled().map(scheduledJson);
  }

  get(id: string): ScheduledCallJson {
    const r = this.o.store.request(id);
    if (!r) throw new MediabotError('MEDIABOT_NOT_FOUND', `no call request with id ${id}`);
    return scheduledJson(r);
  }

  /** Cancels a scheduled join; MEDIABOT_NOT_FOUND when there is none waiting with that id. */
  cancel(id: string): ScheduledCallJson {
    if (!this.o.store.transition(id, 'scheduled', 'failed', { error: 'cancelled' })) throw new MediabotError('MEDIABOT_NOT_FOUND', `no scheduled call with id ${id}`);
    const t = this.timers.get(id);
    if (t) clearTimeout(t);
    this.timers.delete(id);
    return this.get(id);
  }

  /** Picks up stored requests: scheduled ones are armed (or joined now when due); interrupted ones fail. */
  start(): void {
    if (this.started) return;
    this.started = true;
    for (const r of this.o.store.scheduled()) this.arm(r);
    for (const id of this.o.store.interrupted()) if (!this.creating.has(id)) this.o.store.transition(id, 'creating', 'failed', { error: 'interrupted by a restart while the call was being created' });
  }

  stop(): void {
    this.started = false;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  private send(input: CallRequestInput): Promise<CallView> {
    const common = { ...(input.media !== undefined ? { media: input.media } : {}), ...(input.subject !== undefined ? { subject: input.subject } : {}), ...(input.settings !== undefined ? { settings: input.settings } : {}), ...(input.leave !== undefined ? { leave: input.leave } : {}) };
    if (input.joinWebUrl !== undefined) return this.o.join({ joinWebUrl: input.joinWebUrl, ...(input.tenantId !== undefined ? { tenantId: input.tenantId } : {}), ...common });
    return this.o.place({ targets: input.targets!, ...common });
  }

  private async existing(row: CallRequestRow): Promise<CallRequestResult> {
    if (row.state === 'created' && row.callId !== null) {
      const call = this.o.registry.get(row.callId);
      if (!call) throw new MediabotError('MEDIABOT_CALL_NOT_FOUND', `the call of dedupKey ${JSON.stringify(row.dedupKey)} (${row.callId}) is no longer known`);
      return { kind: 'call', call, existing: true };
    }
    const pending = this.creating.get(row.id);
    if (row.state === 'creating' && pending) return { kind: 'call', call: await pending, existing: true };
    return { kind: 'scheduled', scheduled: scheduledJson(row), existing: true };
  }

  private createNow(row: CallRequestRow): Promise<CallView> {
    const p = (async () => {
      try {
        const call = await this.send(row.request as CallRequestInput);
        this.o.store.transition(row.id, 'creating', 'created', { callId: call.id });
        return call;
      } catch (err) {
        // Nothing was created: the key may be used again.
        this.o.store.deleteRequest(row.id);
        throw err;
      } finally {
        this.creating.delete(row.id);
      }
    })();
    this.creating.set(row.id, p);
    return p;
  }

  private arm(row: CallRequestRow): void {
    const old = this.timers.get(row.id);
    if (old) clearTimeout(old);
    const wait = Math.max(0, (row.joinAt ?? 0) - this.now());
    // setTimeout holds at most ~24.8 days; re-arm daily for anything later.
    const t = setTimeout(() => {
      this.timers.delete(row.id);
      if (wait > 86_400_000) return this.arm(row);
      void this.due(row.id);
    }, Math.min(wait, 86_400_000));
    t.unref();
    this.timers.set(row.id, t);
  }

  private async due(id: string): Promise<void> {
    if (!this.o.store.transition(id, 'scheduled', 'creating')) return;
    const row = this.o.store.request(id)!;
    try {
      const call = await this.send(row.request as CallRequestInput);
      this.o.store.transition(id, 'creating', 'created', { callId: call.id });
      this.o.logger.info({ requestId: id, callId: call.id }, 'scheduled call created');
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.o.store.transition(id, 'creating', 'failed', { error: message.slice(0, 500) });
      this.o.logger.warn({ requestId: id, err }, 'scheduled call failed');
      this.o.onScheduledFailed?.(this.get(id));
    }
  }
}
