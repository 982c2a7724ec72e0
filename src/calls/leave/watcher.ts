/**
 * Runs the leave rules of every call: feeds each call's engine (rules.ts) from the call registry
 * (state, roster) and the bus (talk events), keeps one timer per call at its next deadline, and
 * when a rule falls due hangs up through Graph with the rule's end reason. It also tells the
 * registry when the bot's own participant waits in a meeting's lobby (the `inLobby` state).
 */
import type { LeaveSettings } from '../../config/leave-settings.js';
import type { EventBus, MediabotEvent } from '../../events/bus.js';
import type { Logger } from '../../logger.js';
import type { CallNotification } from '../../signaling/notifications.js';
import { callKey, isActive, type CallRegistry, type CallView } from '../../signaling/registry.js';
import { resolveLeave, type LeaveOverride } from './input.js';
import { LeaveRuleEngine, type LeaveDecision, type LeavePhase } from './rules.js';

export interface LeaveWatcherOptions {
  registry: CallRegistry;
  bus: EventBus;
  /** The configured defaults (MEDIABOT_LEAVE_*, MEDIABOT_LOBBY_TIMEOUT_S). */
  defaults: LeaveSettings;
  /** True for the bot's own roster entry (its app identity). */
  isSelf: (kind: string | null, id: string | null) => boolean;
  /** True when mediabot hears the call's media (app-hosted), so silence means something. */
  hearsMedia: (callId: string) => boolean;
  /** True for a media source that is mediabot's own prompt (its talk is not the people's). */
  isOwnSource: (callId: string, sourceId: string) => boolean;
  /** Ends the call through Graph. */
  hangUp: (callId: string) => Promise<void>;
  logger: Logger;
  now?: () => number;
}

interface Watched {
  callId: string;
  engine: LeaveRuleEngine;
  settings: LeaveSettings;
  talking: Set<string>;
  timer: NodeJS.Timeout | null;
  leaving: boolean;
}

/** Waits before retrying a hang-up Graph refused (then gives up and logs). */
const HANGUP_RETRY_MS = [2_000, 10_000, 30_000];
/** setTimeout's limit; a farther deadline is re-checked when this timer fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;
const APP_KINDS = new Set(['application', 'applicationInstance']);

function phaseOf(state: CallView['state']): LeavePhase {
  if (state === 'inLobby') return 'inLobby';
  if (isActive(state)) return 'inCall';
  if (state === 'terminated' || state === 'terminating') return 'ended';
  return 'connecting';
}

export class LeaveWatcher {
  private readonly calls = new Map<string, Watched>();
  private readonly now: () => number;
  private readonly offs: Array<() => void> = [];
  private closed = false;

  constructor(private readonly o: LeaveWatcherOptions) {
    this.now = o.now ?? Date.now;
    this.offs.push(
      o.registry.onStateChange((call) => {
        const w = this.calls.get(callKey(call.id));
        if (call.state === 'terminated') {
          if (w) this.forget(w);
          return;
        }
        // Every Graph call is watched with the defaults from its first state; join/place refine them.
        this.sync(w ?? this.add(call.id, undefined), call);
      }),
    );
    o.registry.use((item) => this.onNotification(item));
    this.offs.push(o.bus.on((e) => this.onEvent(e)));
  }

  /** Watches a call mediabot created, with its own settings over the defaults. */
  watch(callId: string, override?: LeaveOverride): LeaveSettings {
    const w = this.calls.get(callKey(callId)) ?? this.add(callId, override);
    w.settings = resolveLeave(this.o.defaults, override);
    const view = this.o.registry.get(callId);
    if (view) this.sync(w, view);
    else this.schedule(w);
    return w.settings;
  }

  /** The leave settings a watched call runs with. */
  settingsOf(callId: string): LeaveSettings | undefined {
    return this.calls.get(callKey(callId))?.settings;
  }

  close(): void {
    this.closed = true;
    for (const off of this.offs) off();
    for (const w of this.calls.values()) if (w.timer) clearTimeout(w.timer);
    this.calls.clear();
  }

  private add(callId: string, override: LeaveOverride | undefined): Watched {
    const settings = resolveLeave(this.o.defaults, override);
    const w: Watched = { callId, engine: new LeaveRuleEngine(settings, false), settings, talking: new Set(), timer: null, leaving: false };
    this.calls.set(callKey(callId), w);
    return w;
  }

  private forget(w: Watched): void {
    if (w.timer) clearTimeout(w.timer);
    this.calls.delete(callKey(w.callId));
  }

  /** Brings the engine up to date with the registry's view of the call. */
  private sync(w: Watched, view: CallView): void {
    const at = this.now();
    w.engine.onPhase(phaseOf(view.state), at);
    w.engine.onHumans(this.humans(view), at);
    this.schedule(w);
  }

  /** Humans in the call: not the bot, not an application or another bot, not waiting in the lobby. */
  private humans(view: CallView): number {
    return view.participants.filter((p) => !p.inLobby && !this.o.isSelf(p.identityKind, p.identityId) && !APP_KINDS.has(p.identityKind ?? '')).length;
  }

  private onNotification(item: CallNotification): void {
    if (this.closed || item.kind !== 'roster' || item.callId === null) return;
    const view = this.o.registry.get(item.callId);
    if (!view) return;
    const self = view.participants.find((p) => this.o.isSelf(p.identityKind, p.identityId));
    // Graph reports the bot waiting in the lobby as its own participant with isInLobby.
    if (self) this.o.registry.setLobby(view.id, self.inLobby);
    const w = this.calls.get(callKey(view.id));
    const now = this.o.registry.get(view.id);
    if (w && now) this.sync(w, now);
  }

  private onEvent(e: MediabotEvent): void {
    if (e.type !== 'talk.start' && e.type !== 'talk.stop') return;
    const w = this.calls.get(callKey(e.callId));
    if (!w || this.o.isOwnSource(w.callId, e.sourceId)) return;
    if (e.type === 'talk.start') w.talking.add(e.sourceId);
    else w.talking.delete(e.sourceId);
    w.engine.onTalking(w.talking.size > 0, this.now());
    this.schedule(w);
  }

  private schedule(w: Watched): void {
    if (this.closed || w.leaving) return;
    if (w.timer) clearTimeout(w.timer);
    w.timer = null;
    w.engine.configure(w.settings, this.o.hearsMedia(w.callId));
    const next = w.engine.nextDeadline();
    if (next === null) return;
    const wait = Math.min(MAX_TIMER_MS, Math.max(0, next - this.now()));
    w.timer = setTimeout(() => this.check(w), wait);
    w.timer.unref();
  }

  private check(w: Watched): void {
    w.timer = null;
    if (this.closed || this.calls.get(callKey(w.callId)) !== w) return;
    const decision = w.engine.due(this.now());
    if (decision === null) return this.schedule(w);
    w.leaving = true;
    void this.leave(w, decision);
  }

  private async leave(w: Watched, d: LeaveDecision): Promise<void> {
    const reason = { reasonCode: d.reasonCode, explanation: d.explanation, hint: d.hint };
    this.o.logger.info({ callId: w.callId, reasonCode: d.reasonCode }, 'leaving the call by rule');
    for (let attempt = 0; ; attempt++) {
      if (this.closed || this.o.registry.isTerminated(w.callId)) return;
      this.o.registry.setOwnEndReason(w.callId, reason);
      try {
        await this.o.hangUp(w.callId);
        return;
      } catch (err) {
        if (this.o.registry.isTerminated(w.callId)) return;
        this.o.registry.setOwnEndReason(w.callId, null);
        const wait = HANGUP_RETRY_MS[attempt];
        if (wait === undefined) {
          this.o.logger.error({ err, callId: w.callId, reasonCode: d.reasonCode }, 'hanging up by leave rule failed; giving up');
          return;
        }
        this.o.logger.warn({ err, callId: w.callId, reasonCode: d.reasonCode }, `hanging up by leave rule failed; retrying in ${wait} ms`);
        await new Promise((r) => setTimeout(r, wait).unref());
      }
    }
  }
}
