/**
 * The consent announcement (docs/consent.md): played into a call that records or transcribes when
 * its media starts, and again when people join, so everyone whose voice is kept has heard it.
 *
 * - The first one plays once the roster settled (`settleMs` after the last join, at most
 *   `maxSettleMs` after media start), so the people already there hear one announcement, not one each.
 * - A human who joins later (not the bot, not another application, not waiting in the lobby) asks
 *   for another: it plays `settleMs` after the last of a burst of joins, and never sooner than
 *   `repeatMs` after the previous one started (debounced: ten joins in a minute make two, not ten).
 * - Held while a policy-based recording call waits for Graph's recording status (nothing is kept
 *   then); played as soon as it is confirmed.
 */
import type { ConsentAnnouncement } from '../../config/consent-settings.js';
import type { WorkerEvent } from '../../events/live.js';
import type { Logger } from '../../logger.js';
import { isActive, type CallView, type ParticipantView } from '../../signaling/registry.js';

export interface ConsentAnnouncerOptions {
  /** The worker's announcement (MEDIABOT_CONSENT_ANNOUNCEMENT). */
  announcement: ConsentAnnouncement;
  /** Least time between two announcements of one call (MEDIABOT_CONSENT_REPEAT_S), ms. */
  repeatMs: number;
  /** Quiet time after the last join before announcing. Default 1000 ms. */
  settleMs?: number;
  /** The first announcement waits at most this long after media start for the roster to settle. Default 5000 ms. */
  maxSettleMs?: number;
  /** True for the bot's own roster entry. */
  isSelf: (kind: string | null, id: string | null) => boolean;
  /** Whether announcing is due for this call: app-hosted media that records or transcribes. */
  keepsMedia: (callId: string) => boolean;
  /** True while the call's recording waits for (or was refused) its policy-based status. */
  held: (callId: string) => boolean;
  /** Plays the announcement into the call's media (`started` with its source id first); resolves once it finished. */
  play: (callId: string, announcement: Exclude<ConsentAnnouncement, { kind: 'off' }>, started: (sourceId: string) => void) => Promise<void>;
  /** The registry's view of a call. */
  view: (callId: string) => CallView | undefined;
  emit: (e: WorkerEvent) => void;
  logger: Logger;
  now?: () => number;
}

interface Announced {
  callId: string;
  /** The call's own announcement (its settings' `consent`), else the worker's. */
  override: ConsentAnnouncement | null;
  mediaStarted: boolean;
  mediaStartedAt: number;
  /** Humans seen in the roster, so a roster update tells who is new. */
  seen: Set<string>;
  /** Why the next announcement is due, or null when none is. */
  due: 'media-start' | 'joined' | null;
  lastJoinAt: number;
  lastStartedAt: number;
  playing: boolean;
  timer: NodeJS.Timeout | null;
}

const APP_KINDS = new Set(['application', 'applicationInstance']);

export class ConsentAnnouncer {
  private readonly calls = new Map<string, Announced>();
  private readonly now: () => number;
  private readonly settleMs: number;
  private readonly maxSettleMs: number;
  private closed = false;

  constructor(private readonly o: ConsentAnnouncerOptions) {
    this.now = o.now ?? Date.now;
    this.settleMs = o.settleMs ?? 1000;
    this.maxSettleMs = o.maxSettleMs ?? 5000;
  }

  /** The call's own announcement (POST /v1/calls settings `consent.announcement`). */
  configure(callId: string, override: ConsentAnnouncement | null): void {
    this.entry(callId).override = override;
  }

  /** The call is established with media flowing: the first announcement is due. */
  mediaStarted(callId: string): void {
    const a = this.entry(callId);
    if (a.mediaStarted) return;
    a.mediaStarted = true;
    a.mediaStartedAt = this.now();
    const view = this.o.view(callId);
    if (view) for (const p of this.humans(view)) a.seen.add(p.id);
    a.due = 'media-start';
    this.schedule(a);
  }

  /** The roster changed: humans not seen before ask for an announcement. */
  rosterChanged(view: CallView): void {
    if (this.closed) return;
    const a = this.calls.get(view.id.toLowerCase());
    if (!a) return;
    let joined = false;
    for (const p of this.humans(view)) {
      if (a.seen.has(p.id)) continue;
      a.seen.add(p.id);
      joined = true;
    }
    if (!joined) return;
    a.lastJoinAt = this.now();
    if (!a.mediaStarted) return;
    // Joins before the first announcement are covered by it.
    a.due ??= 'joined';
    this.schedule(a);
  }

  /** The call's recording status was confirmed: an announcement held for it may play now. */
  released(callId: string): void {
    const a = this.calls.get(callId.toLowerCase());
    if (a) this.schedule(a);
  }

  forget(callId: string): void {
    const a = this.calls.get(callId.toLowerCase());
    if (a?.timer) clearTimeout(a.timer);
    this.calls.delete(callId.toLowerCase());
  }

  close(): void {
    this.closed = true;
    for (const a of this.calls.values()) if (a.timer) clearTimeout(a.timer);
    this.calls.clear();
  }

  private entry(callId: string): Announced {
    const k = callId.toLowerCase();
    let a = this.calls.get(k);
    if (!a) {
      a = { callId, override: null, mediaStarted: false, mediaStartedAt: 0, seen: new Set(), due: null, lastJoinAt: -Infinity, lastStartedAt: -Infinity, playing: false, timer: null };
      this.calls.set(k, a);
    }
    return a;
  }

  private humans(view: CallView): ParticipantView[] {
    return view.participants.filter((p) => !p.inLobby && !this.o.isSelf(p.identityKind, p.identityId) && !APP_KINDS.has(p.identityKind ?? ''));
  }

  private announcementOf(a: Announced): ConsentAnnouncement {
    return a.override ?? this.o.announcement;
  }

  private schedule(a: Announced): void {
    if (this.closed || a.due === null || a.playing) return;
    if (a.timer) clearTimeout(a.timer);
    a.timer = null;
    const settled = a.due === 'media-start' ? Math.min(a.lastJoinAt + this.settleMs, a.mediaStartedAt + this.maxSettleMs) : a.lastJoinAt + this.settleMs;
    const at = Math.max(settled, a.mediaStartedAt + (a.due === 'media-start' ? this.settleMs : 0), a.lastStartedAt + this.o.repeatMs);
    a.timer = setTimeout(() => void this.fire(a), Math.max(0, at - this.now()));
    a.timer.unref();
  }

  private async fire(a: Announced): Promise<void> {
    a.timer = null;
    if (this.closed || this.calls.get(a.callId.toLowerCase()) !== a || a.due === null) return;
    const view = this.o.view(a.callId);
    if (!view || !isActive(view.state)) return;
    const announcement = this.announcementOf(a);
    // Nothing kept (recording off, service-hosted media), or announcing turned off: nothing to say.
    if (announcement.kind === 'off' || !this.o.keepsMedia(a.callId)) {
      a.due = null;
      return;
    }
    // Held until Graph accepts the recording status; `released` schedules it again.
    if (this.o.held(a.callId)) return;
    const reason = a.due;
    a.due = null;
    a.playing = true;
    a.lastStartedAt = this.now();
    // Whoever is in the call now hears this one.
    for (const p of this.humans(view)) a.seen.add(p.id);
    try {
      await this.o.play(a.callId, announcement, (sourceId) => this.o.emit({ type: 'call.consent', callId: a.callId, reason, announcement: announcement.kind, sourceId, at: new Date().toISOString() }));
    } catch (err) {
      this.o.logger.warn({ err, callId: a.callId }, 'the consent announcement could not be played');
    } finally {
      a.playing = false;
    }
    // People who joined while it played hear the next one.
    this.schedule(a);
  }
}
