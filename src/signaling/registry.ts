import { createHash } from 'node:crypto';
import type { EventBus, SignalingEvent } from '../events/bus.js';
import type { Logger } from '../logger.js';
import { silentLogger } from '../logger.js';
import { explainEndCode, explainTerminationReason } from './end-codes.js';
import type { CallNotification, IncomingCallInfo, ParticipantRef, ResultInfo, TransferPhase } from './notifications.js';
import { isActive, transition, type CallState } from './state-machine.js';

export interface ParticipantView {
  id: string;
  identityKind: string | null;
  identityId: string | null;
  displayName: string | null;
  muted: boolean;
  inLobby: boolean;
  mediaTypes: string[];
}

export interface TerminationView {
  code: number | null;
  subcode: number | null;
  message: string | null;
  terminationReason: string | null;
  explanation: string;
  hint: string;
  /** Set when mediabot ended the call by one of its own rules (a MEDIABOT_* code such as MEDIABOT_LEFT_ALONE), else null. */
  reasonCode: string | null;
}

/** Why mediabot itself is ending a call (a leave rule): the end reason it gives. */
export interface OwnEndReason {
  reasonCode: string;
  explanation: string;
  hint: string;
}

export interface CallView {
  id: string;
  state: CallState;
  previousState: CallState | null;
  direction: string | null;
  createdAt: string;
  updatedAt: string;
  participants: ParticipantView[];
  termination: TerminationView | null;
  /** The last non-terminal resultInfo (e.g. a failed transfer). */
  lastResult: ResultInfo | null;
  transfer: TransferPhase | null;
  /** True for a policy-based (compliance) recording call. */
  compliance: boolean;
  contentSharingSessions: string[];
  incoming: IncomingCallInfo | null;
}

/** `changed` is false for replays and out-of-order items the registry ignored. */
export type CallItemHandler = (item: CallNotification, call: CallView | undefined, changed: boolean) => void | Promise<void>;
export type StateListener = (call: CallView, previous: CallState | null) => void;

export interface CallRegistryOptions {
  bus?: EventBus;
  logger?: Logger;
  now?: () => Date;
  /** Identical call-state/tone/incoming items seen within this window are replays (default 10 min). */
  replayWindowMs?: number;
  /** How many terminated calls stay listed (default 500); older ones leave only a tombstone. */
  keepTerminated?: number;
}

interface CallEntry {
  view: CallView;
  roster: Map<string, ParticipantView>;
  seen: Map<string, number>;
  /** Created by a notification that has not yet set a valid state. */
  fresh: boolean;
  /** Set while mediabot is ending the call by its own rule: the end reason the call ends with. */
  ownEnd?: OwnEndReason;
}

const MAX_SEEN_PER_CALL = 256;
const MAX_TOMBSTONES = 50_000;

/** A stable key for call ids: docs show the same GUID upper-case without dashes and lower-case with. */
export function callKey(callId: string): string {
  return callId.toLowerCase();
}

function participantKey(p: ParticipantRef): string | null {
  if (p.id !== null) return p.id;
  if (p.identity?.id) return `${p.identity.kind}:${p.identity.id}`;
  return null;
}

function toView(key: string, p: ParticipantRef): ParticipantView {
  return {
    id: key,
    identityKind: p.identity?.kind ?? null,
    identityId: p.identity?.id ?? null,
    displayName: p.identity?.displayName ?? null,
    muted: p.isMuted,
    inLobby: p.isInLobby,
    mediaTypes: p.mediaStreams.map((s) => s.mediaType),
  };
}

function sameParticipant(a: ParticipantView, b: ParticipantView): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Calls by id. Notifications are queued per call and applied in arrival order;
 * different calls proceed independently. Replays and out-of-order states change
 * nothing; a terminated call is never revived.
 */
export class CallRegistry {
  private readonly calls = new Map<string, CallEntry>();
  private readonly queues = new Map<string, Promise<void>>();
  private readonly tombstones = new Set<string>();
  private readonly handlers: CallItemHandler[] = [];
  private readonly stateListeners = new Set<StateListener>();
  private readonly bus: EventBus | undefined;
  private readonly log: Logger;
  private readonly now: () => Date;
  private readonly replayWindowMs: number;
  private readonly keepTerminated: number;
  /** Count of accepted state changes, for tests and metrics. */
  stateChanges = 0;

  constructor(opts: CallRegistryOptions = {}) {
    this.bus = opts.bus;
    this.log = opts.logger ?? silentLogger;
    this.now = opts.now ?? (() => new Date());
    this.replayWindowMs = opts.replayWindowMs ?? 10 * 60_000;
    this.keepTerminated = opts.keepTerminated ?? 500;
  }

  /** Handlers run after the registry applied an item, in the call's queue (incoming policy, operations …). */
  use(handler: CallItemHandler): void {
    this.handlers.push(handler);
  }

  onStateChange(listener: StateListener): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  get(callId: string): CallView | undefined {
    const e = this.calls.get(callKey(callId));
    return e ? snapshot(e) : undefined;
  }

  list(): CallView[] {
    return [...this.calls.values()].map(snapshot);
  }

  /** True when the call ended (listed or only remembered as a tombstone). */
  isTerminated(callId: string): boolean {
    const k = callKey(callId);
    return this.tombstones.has(k) || this.calls.get(k)?.view.state === 'terminated';
  }

  /**
   * Ends calls that never got past incoming/establishing within `maxAgeMs` of their
   * last update (their end notification was lost, or Graph gave up on them), so they
   * do not linger in listings. Returns the ids it ended.
   */
  expireUnestablished(maxAgeMs: number): string[] {
    const cutoff = this.now().getTime() - maxAgeMs;
    const ended: string[] = [];
    for (const e of this.calls.values()) {
      const s = e.view.state;
      if ((s === 'incoming' || s === 'ringing' || s === 'establishing' || s === 'redirecting') && Date.parse(e.view.updatedAt) < cutoff) ended.push(e.view.id);
    }
    if (ended.length > 0) {
      void this.enqueue(
        ended.map((callId) => ({ kind: 'callState', callId, changeType: 'deleted', state: 'terminated', resultInfo: null, terminationReason: 'NeverEstablished', transfer: null, etag: null })),
      );
    }
    return ended;
  }

  /** Forgets an ended call (its data was deleted): no longer listed, and remembered as ended. False for a live or unknown call. */
  forget(callId: string): boolean {
    const k = callKey(callId);
    const e = this.calls.get(k);
    if (!e || e.view.state !== 'terminated') return false;
    this.calls.delete(k);
    this.tombstones.add(k);
    return true;
  }

  /** Registers a call mediabot placed itself (POST /communications/calls) before its first notification. */
  track(callId: string, init: { direction?: string; state?: CallState } = {}): CallView {
    const k = callKey(callId);
    const existing = this.calls.get(k);
    if (existing) return snapshot(existing);
    const entry = this.create(callId, init.state ?? 'establishing', init.direction ?? 'outgoing');
    return snapshot(entry);
  }

  /** Marks a call as policy-based recording (set by the incoming-call handler). */
  markCompliance(callId: string): void {
    const e = this.calls.get(callKey(callId));
    if (e) e.view.compliance = true;
  }

  /**
   * The bot's own participant is waiting in the meeting's lobby (true) or was admitted (false):
   * a call still connecting becomes `inLobby`, and goes back to `establishing` when admitted
   * (Graph then reports `established`). Returns true when the state changed.
   */
  setLobby(callId: string, inLobby: boolean): boolean {
    const e = this.calls.get(callKey(callId));
    if (!e || e.fresh) return false;
    if (inLobby && (e.view.state === 'establishing' || e.view.state === 'incoming' || e.view.state === 'ringing')) return this.applyState(e, 'inLobby', null);
    if (!inLobby && e.view.state === 'inLobby') return this.applyState(e, 'establishing', null);
    return false;
  }

  /**
   * mediabot is ending the call by its own rule: when it ends, its end reason carries this code,
   * explanation and hint (null clears it, when hanging up failed).
   */
  setOwnEndReason(callId: string, reason: OwnEndReason | null): void {
    const e = this.calls.get(callKey(callId));
    if (!e || e.view.state === 'terminated') return;
    if (reason === null) delete e.ownEnd;
    else e.ownEnd = { ...reason };
  }

  /**
   * Queues items for processing, ordered per call. Resolves once every queued
   * item of these calls (and those before them) was applied and handled.
   */
  enqueue(items: readonly CallNotification[]): Promise<void> {
    const byCall = new Map<string, CallNotification[]>();
    for (const item of items) {
      const k = item.callId === null ? '' : callKey(item.callId);
      const list = byCall.get(k) ?? [];
      list.push(item);
      byCall.set(k, list);
    }
    const done: Promise<void>[] = [];
    for (const [k, list] of byCall) {
      const prev = this.queues.get(k) ?? Promise.resolve();
      const next = prev.then(async () => {
        for (const item of list) await this.process(item);
      });
      this.queues.set(k, next);
      // Drop the chain when it is the tail, so idle calls keep no promise.
      void next.then(() => {
        if (this.queues.get(k) === next) this.queues.delete(k);
      });
      done.push(next);
    }
    return Promise.all(done).then(() => undefined);
  }

  /** Resolves when every queue is drained. */
  async idle(): Promise<void> {
    while (this.queues.size > 0) await Promise.all([...this.queues.values()]);
  }

  private async process(item: CallNotification): Promise<void> {
    let changed = false;
    try {
      changed = this.apply(item);
    } catch (err) {
      this.log.error({ err, callId: item.callId, kind: item.kind }, 'applying a call notification failed');
      return;
    }
    const view = item.callId === null ? undefined : this.get(item.callId);
    for (const h of this.handlers) {
      try {
        await h(item, view, changed);
      } catch (err) {
        this.log.error({ err, callId: item.callId, kind: item.kind }, 'call notification handler failed');
      }
    }
  }

  private isReplay(entry: CallEntry, item: CallNotification): boolean {
    const hash = createHash('sha256').update(JSON.stringify(item)).digest('base64');
    const t = this.now().getTime();
    const seenAt = entry.seen.get(hash);
    if (seenAt !== undefined && t - seenAt < this.replayWindowMs) return true;
    entry.seen.set(hash, t);
    if (entry.seen.size > MAX_SEEN_PER_CALL) {
      const oldest = entry.seen.keys().next().value;
      if (oldest !== undefined) entry.seen.delete(oldest);
    }
    return false;
  }

  /** Applies one item synchronously. Returns true when it changed anything. */
  apply(item: CallNotification): boolean {
    if (item.callId === null || item.kind === 'unknown' || item.kind === 'operation') return false;
    const k = callKey(item.callId);
    if (this.tombstones.has(k)) return false;
    let entry = this.calls.get(k);

    switch (item.kind) {
      case 'incomingCall': {
        // A replayed incoming notification changes nothing (a placeholder made by an earlier roster item does not count).
        if (entry && !entry.fresh) return false;
        if (entry) {
          entry.fresh = false;
          entry.view.state = 'incoming';
          entry.view.direction = item.call.direction ?? 'incoming';
        } else {
          entry = this.create(item.callId, 'incoming', item.call.direction ?? 'incoming');
        }
        entry.view.incoming = item.call;
        this.isReplay(entry, item);
        this.stateChanges++;
        this.emitState(entry, null);
        return true;
      }
      case 'callState': {
        if (!entry) entry = this.create(item.callId, null, null);
        if (this.isReplay(entry, item)) return false;
        const wasTerminated = !entry.fresh && entry.view.state === 'terminated';
        const changed = this.applyState(entry, item.state, item);
        if (wasTerminated) return false;
        // A failed transfer re-sends `established` (no state change) with an error result: still news.
        if (item.transfer !== null && entry.view.transfer !== item.transfer) {
          entry.view.transfer = item.transfer;
          entry.view.updatedAt = this.now().toISOString();
        }
        if (item.resultInfo && item.state !== 'terminated') entry.view.lastResult = item.resultInfo;
        return changed;
      }
      case 'tone': {
        if (!entry) entry = this.create(item.callId, null, null);
        if (entry.view.state === 'terminated' || this.isReplay(entry, item)) return false;
        if (item.state !== null) this.applyState(entry, item.state, null);
        this.emit({ type: 'call.tone', callId: entry.view.id, tone: item.tone, at: this.now().toISOString() });
        return true;
      }
      case 'roster': {
        if (!entry) entry = this.create(item.callId, null, null);
        if (entry.view.state === 'terminated') return false;
        return this.applyRoster(entry, item.changeType, item.participants);
      }
      case 'contentSharing': {
        if (!entry || entry.view.state === 'terminated' || this.isReplay(entry, item)) return false;
        const before = new Set(entry.view.contentSharingSessions);
        const after = new Set(before);
        for (const id of item.sessionIds) {
          if (item.changeType === 'deleted') after.delete(id);
          else after.add(id);
        }
        const changed = before.size !== after.size || [...after].some((id) => !before.has(id));
        if (!changed && item.changeType !== 'updated') return false;
        entry.view.contentSharingSessions = [...after];
        const change = item.changeType === 'created' ? 'started' : item.changeType === 'deleted' ? 'ended' : 'updated';
        this.emit({ type: 'call.contentSharing', callId: entry.view.id, change, sessionIds: item.sessionIds, at: this.now().toISOString() });
        return true;
      }
    }
  }

  private create(callId: string, state: CallState | null, direction: string | null): CallEntry {
    const at = this.now().toISOString();
    const entry: CallEntry = {
      view: {
        id: callId,
        // Placeholder for a call first seen mid-way; applyState sets the real state right after.
        state: state ?? 'establishing',
        previousState: null,
        direction,
        createdAt: at,
        updatedAt: at,
        participants: [],
        termination: null,
        lastResult: null,
        transfer: null,
        compliance: false,
        contentSharingSessions: [],
        incoming: null,
      },
      roster: new Map(),
      seen: new Map(),
      fresh: state === null,
    };
    this.calls.set(callKey(callId), entry);
    return entry;
  }

  private applyState(entry: CallEntry, proposed: string, item: Extract<CallNotification, { kind: 'callState' }> | null): boolean {
    const fresh = entry.fresh;
    const current = fresh ? null : entry.view.state;
    const r = transition(current, proposed);
    if (!r.accepted) {
      if (r.why === 'backwards' || r.why === 'terminated') this.log.debug({ callId: entry.view.id, current, proposed }, `ignored ${r.why} call state`);
      if (r.why === 'unknown-state') this.log.warn({ callId: entry.view.id, proposed }, 'unknown call state');
      if (fresh) {
        // A first notification with an unusable state: forget the placeholder.
        this.calls.delete(callKey(entry.view.id));
      }
      return false;
    }
    entry.fresh = false;
    entry.view.previousState = current;
    entry.view.state = r.next;
    entry.view.updatedAt = this.now().toISOString();
    if (r.next === 'terminated') {
      const ri = item?.resultInfo ?? null;
      const tr = item?.terminationReason ?? null;
      const byReason = tr !== null && ri === null ? explainTerminationReason(tr) : null;
      const ex = explainEndCode(ri?.code ?? null, ri?.subcode ?? null);
      const own = entry.ownEnd;
      entry.view.termination = {
        code: ri?.code ?? null,
        subcode: ri?.subcode ?? null,
        message: ri?.message ?? null,
        terminationReason: tr,
        explanation: own?.explanation ?? byReason?.explanation ?? ex.explanation,
        hint: own?.hint ?? byReason?.hint ?? ex.hint,
        reasonCode: own?.reasonCode ?? null,
      };
      this.retire();
    }
    this.stateChanges++;
    this.emitState(entry, current);
    return true;
  }

  private applyRoster(entry: CallEntry, changeType: 'created' | 'updated' | 'deleted', participants: ParticipantRef[]): boolean {
    const added: string[] = [];
    const removed: string[] = [];
    let updated = false;
    for (const p of participants) {
      const key = participantKey(p);
      if (key === null) continue;
      if (changeType === 'deleted') {
        if (entry.roster.delete(key)) removed.push(key);
        continue;
      }
      const next = toView(key, p);
      const prev = entry.roster.get(key);
      if (!prev) added.push(key);
      else if (!sameParticipant(prev, next)) updated = true;
      else continue;
      entry.roster.set(key, next);
    }
    if (added.length === 0 && removed.length === 0 && !updated) return false;
    entry.view.participants = [...entry.roster.values()];
    entry.view.updatedAt = this.now().toISOString();
    this.emit({
      type: 'call.roster',
      callId: entry.view.id,
      participants: entry.view.participants.map((p) => ({ id: p.id, displayName: p.displayName, muted: p.muted, inLobby: p.inLobby })),
      added,
      removed,
      at: entry.view.updatedAt,
    });
    return true;
  }

  /** Keeps at most `keepTerminated` ended calls listed; older ones become tombstones. */
  private retire(): void {
    const ended = [...this.calls.entries()].filter(([, e]) => e.view.state === 'terminated');
    for (let i = 0; i < ended.length - this.keepTerminated; i++) {
      const [k] = ended[i]!;
      this.calls.delete(k);
      this.tombstones.add(k);
    }
    while (this.tombstones.size > MAX_TOMBSTONES) {
      const oldest = this.tombstones.values().next().value;
      if (oldest === undefined) break;
      this.tombstones.delete(oldest);
    }
  }

  private emitState(entry: CallEntry, previous: CallState | null): void {
    const v = entry.view;
    const t = v.termination;
    const event: SignalingEvent = {
      type: 'call.state',
      callId: v.id,
      state: v.state,
      previous,
      at: v.updatedAt,
      ...(t ? { reason: { code: t.code, subcode: t.subcode, message: t.message ?? t.terminationReason ?? '', explanation: t.explanation, hint: t.hint, reasonCode: t.reasonCode } } : {}),
    };
    this.emit(event);
    const snap = snapshot(entry);
    for (const l of this.stateListeners) {
      try {
        l(snap, previous);
      } catch (err) {
        this.log.error({ err }, 'state listener failed');
      }
    }
  }

  private emit(event: SignalingEvent): void {
    this.bus?.emit(event);
  }
}

function snapshot(e: CallEntry): CallView {
  return {
    ...e.view,
    participants: e.view.participants.map((p) => ({ ...p, mediaTypes: [...p.mediaTypes] })),
    termination: e.view.termination ? { ...e.view.termination } : null,
    contentSharingSessions: [...e.view.contentSharingSessions],
  };
}

export { isActive };
