/**
 * The leave rules of one call, as a pure clock-driven engine: it is told what happens (state,
 * how many humans are in the call, talk) with the time it happened, and answers which rule is due
 * and when the next one could be. No timers here: the watcher (watcher.ts) owns them, tests pass
 * times by hand.
 */
import type { LeaveSettings } from '../../config/leave-settings.js';

export type LeaveReasonCode = 'MEDIABOT_LEFT_ALONE' | 'MEDIABOT_NO_ONE_JOINED' | 'MEDIABOT_LEFT_SILENCE' | 'MEDIABOT_LEFT_MAX_DURATION' | 'MEDIABOT_LOBBY_TIMEOUT';

export interface LeaveDecision {
  reasonCode: LeaveReasonCode;
  /** When the rule fell due (ms, the engine's clock). */
  atMs: number;
  explanation: string;
  hint: string;
}

/** Where the call is, as far as the rules care. */
export type LeavePhase = 'connecting' | 'inLobby' | 'inCall' | 'ended';

/** The order rules are checked in when several are due at once. */
const ORDER: readonly LeaveReasonCode[] = ['MEDIABOT_LOBBY_TIMEOUT', 'MEDIABOT_LEFT_ALONE', 'MEDIABOT_NO_ONE_JOINED', 'MEDIABOT_LEFT_SILENCE', 'MEDIABOT_LEFT_MAX_DURATION'];

const s = (sec: number): string => (Number.isInteger(sec) ? `${sec} s` : `${sec.toFixed(1)} s`);

export class LeaveRuleEngine {
  private phase: LeavePhase = 'connecting';
  private lobbySince: number | null = null;
  private inCallSince: number | null = null;
  private humans = 0;
  private everHuman = false;
  private aloneSince: number | null = null;
  private talking = false;
  private lastTalkAt: number | null = null;

  constructor(
    private settings: LeaveSettings,
    /** The call's media is heard (app-hosted): only then can silence be told from a deaf bot. */
    private hearsMedia: boolean,
  ) {}

  get current(): Readonly<LeaveSettings> {
    return this.settings;
  }

  /** Replaces the settings (a per-call override arriving after the call was first seen). */
  configure(settings: LeaveSettings, hearsMedia: boolean): void {
    this.settings = settings;
    this.hearsMedia = hearsMedia;
  }

  /** The call's phase changed at `atMs`. */
  onPhase(phase: LeavePhase, atMs: number): void {
    if (this.phase === 'ended' || phase === this.phase) return;
    if (phase === 'inLobby') this.lobbySince = atMs;
    if (phase === 'inCall' && this.inCallSince === null) {
      this.inCallSince = atMs;
      if (this.everHuman && this.humans === 0) this.aloneSince = atMs;
    }
    if (phase !== 'inLobby') this.lobbySince = null;
    this.phase = phase;
  }

  /** How many humans (not bots, not applications, not waiting in the lobby) are in the call at `atMs`. */
  onHumans(count: number, atMs: number): void {
    if (count > 0) {
      this.everHuman = true;
      this.aloneSince = null;
    } else if (this.humans > 0 || (this.everHuman && this.aloneSince === null)) {
      this.aloneSince = atMs;
    }
    this.humans = count;
  }

  /** Whether anyone is talking, from `atMs` on (a talk started or the last talker stopped). */
  onTalking(anyone: boolean, atMs: number): void {
    this.talking = anyone;
    this.lastTalkAt = atMs;
  }

  /** Each rule's deadline in ms of the engine's clock, for the rules that can fall due as things stand. */
  deadlines(): Map<LeaveReasonCode, number> {
    const out = new Map<LeaveReasonCode, number>();
    const c = this.settings;
    const ms = (sec: number): number => sec * 1000;
    if (this.phase === 'inLobby' && this.lobbySince !== null && c.lobbyTimeoutS > 0) out.set('MEDIABOT_LOBBY_TIMEOUT', this.lobbySince + ms(c.lobbyTimeoutS));
    const since = this.inCallSince;
    if (this.phase !== 'inCall' || since === null) return out;
    if (c.whenAloneS > 0 && this.everHuman && this.humans === 0 && this.aloneSince !== null) out.set('MEDIABOT_LEFT_ALONE', Math.max(this.aloneSince, since) + ms(c.whenAloneS));
    if (c.noOneJoinedS > 0 && !this.everHuman) out.set('MEDIABOT_NO_ONE_JOINED', since + ms(c.noOneJoinedS));
    if (c.silenceS > 0 && this.hearsMedia && !this.talking) {
      const from = Math.max(this.lastTalkAt ?? since, since + ms(c.silenceGraceS));
      out.set('MEDIABOT_LEFT_SILENCE', from + ms(c.silenceS));
    }
    if (c.maxDurationS > 0) out.set('MEDIABOT_LEFT_MAX_DURATION', since + ms(c.maxDurationS));
    return out;
  }

  /** The earliest time a rule could fall due, or null when none can as things stand. */
  nextDeadline(): number | null {
    let next: number | null = null;
    for (const at of this.deadlines().values()) if (next === null || at < next) next = at;
    return next;
  }

  /** The rule due at `nowMs` (the earliest one; on a tie, in ORDER), or null. */
  due(nowMs: number): LeaveDecision | null {
    const d = this.deadlines();
    let best: LeaveReasonCode | null = null;
    for (const code of ORDER) {
      const at = d.get(code);
      if (at === undefined || at > nowMs) continue;
      if (best === null || at < d.get(best)!) best = code;
    }
    if (best === null) return null;
    this.phase = 'ended';
    return { reasonCode: best, atMs: d.get(best)!, ...this.explain(best) };
  }

  private explain(code: LeaveReasonCode): { explanation: string; hint: string } {
    const c = this.settings;
    switch (code) {
      case 'MEDIABOT_LEFT_ALONE':
        return {
          explanation: `mediabot left: no human was left in the call for ${s(c.whenAloneS)} (bots and applications do not count).`,
          hint: 'Nothing to fix: the meeting was over. To wait longer, raise MEDIABOT_LEAVE_WHEN_ALONE_S or the call\'s leave.whenAloneS.',
        };
      case 'MEDIABOT_NO_ONE_JOINED':
        return {
          explanation: `mediabot left: no human joined within ${s(c.noOneJoinedS)} of it entering the call.`,
          hint: 'Check the meeting time and link; to wait longer, raise MEDIABOT_LEAVE_NO_ONE_JOINED_S or leave.noOneJoinedS.',
        };
      case 'MEDIABOT_LEFT_SILENCE':
        return {
          explanation: `mediabot left: nobody talked for ${s(c.silenceS)}.`,
          hint: 'If people were talking, check that their audio reaches mediabot (the media path); otherwise raise MEDIABOT_LEAVE_SILENCE_S or leave.silenceS.',
        };
      case 'MEDIABOT_LEFT_MAX_DURATION':
        return {
          explanation: `mediabot left: the call reached its maximum duration of ${s(c.maxDurationS)}.`,
          hint: 'Raise MEDIABOT_LEAVE_MAX_DURATION_S or leave.maxDurationS for longer meetings.',
        };
      case 'MEDIABOT_LOBBY_TIMEOUT':
        return {
          explanation: `mediabot left: it waited in the meeting's lobby for ${s(c.lobbyTimeoutS)} and nobody admitted it.`,
          hint: 'Have someone admit the bot, let it bypass the lobby (the meeting\'s lobbyBypassSettings), or raise MEDIABOT_LOBBY_TIMEOUT_S or leave.lobbyTimeoutS.',
        };
    }
  }
}
