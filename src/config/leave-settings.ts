/**
 * When a bot leaves a call by itself (docs/leave-rules.md): the defaults, and their reading from
 * MEDIABOT_LEAVE_* and MEDIABOT_LOBBY_TIMEOUT_S. Every value is in seconds; 0 turns a rule off.
 */
import { MediabotError } from '../errors.js';

export interface LeaveSettings {
  /** Leave once no human has been in the call for this long (after at least one was there). */
  whenAloneS: number;
  /** Leave when no human joined within this long of the bot entering the call. */
  noOneJoinedS: number;
  /** Leave after this long without anyone talking (app-hosted media only), a backstop to the roster rules. */
  silenceS: number;
  /** The silence rule starts counting only this long after the bot entered the call. */
  silenceGraceS: number;
  /** Leave this long after entering the call, whatever happens. */
  maxDurationS: number;
  /** Leave when held in the meeting's lobby this long without being admitted. */
  lobbyTimeoutS: number;
}

/** What an operator would choose; docs/leave-rules.md says why each. */
export const LEAVE_DEFAULTS: Readonly<LeaveSettings> = Object.freeze({
  whenAloneS: 60,
  noOneJoinedS: 900,
  silenceS: 900,
  silenceGraceS: 600,
  maxDurationS: 14_400,
  lobbyTimeoutS: 900,
});

/** The environment variable of each setting. */
export const LEAVE_VARIABLES: Readonly<Record<keyof LeaveSettings, string>> = Object.freeze({
  whenAloneS: 'MEDIABOT_LEAVE_WHEN_ALONE_S',
  noOneJoinedS: 'MEDIABOT_LEAVE_NO_ONE_JOINED_S',
  silenceS: 'MEDIABOT_LEAVE_SILENCE_S',
  silenceGraceS: 'MEDIABOT_LEAVE_SILENCE_GRACE_S',
  maxDurationS: 'MEDIABOT_LEAVE_MAX_DURATION_S',
  lobbyTimeoutS: 'MEDIABOT_LOBBY_TIMEOUT_S',
});

/** The longest any setting may be: one week (a call longer than that is a bug, not a meeting). */
export const LEAVE_MAX_S = 604_800;

/** Reads MEDIABOT_LEAVE_* and MEDIABOT_LOBBY_TIMEOUT_S; MEDIABOT_CONFIG_INVALID naming the variable on a bad value. */
export function leaveSettingsFromEnv(get: (name: string) => string | undefined): LeaveSettings {
  const out = { ...LEAVE_DEFAULTS };
  for (const key of Object.keys(LEAVE_VARIABLES) as Array<keyof LeaveSettings>) {
    const name = LEAVE_VARIABLES[key];
    const raw = get(name);
    if (raw === undefined) continue;
    const n = /^\d+(\.\d{1,3})?$/.test(raw.trim()) ? Number(raw.trim()) : Number.NaN;
    if (!Number.isFinite(n) || n > LEAVE_MAX_S) {
      throw new MediabotError('MEDIABOT_CONFIG_INVALID', `${name}=${JSON.stringify(raw)} is invalid: expected seconds 0-${LEAVE_MAX_S} (0 turns the rule off)`, { variable: name });
    }
    out[key] = n;
  }
  return out;
}
