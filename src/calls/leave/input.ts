/**
 * The per-call `leave` object of `POST /v1/calls` and `Mediabot.calls.join/place`: any of the
 * settings, in seconds, over the configured defaults (0 turns a rule off for this call).
 */
import { LEAVE_MAX_S, LEAVE_VARIABLES, type LeaveSettings } from '../../config/leave-settings.js';
import { MediabotError } from '../../errors.js';

export type LeaveOverride = Partial<LeaveSettings>;

const KEYS = Object.keys(LEAVE_VARIABLES) as Array<keyof LeaveSettings>;

/** The JSON schema of `leave` (in the OpenAPI document). */
export const LEAVE_SCHEMA = {
  type: 'object',
  // Unknown keys are refused by parseLeaveOverride with a message (the server's validator would drop them silently).
  description: 'Leave rules for this call, in seconds, over the MEDIABOT_LEAVE_* defaults; 0 turns a rule off; other keys are refused (docs/leave-rules.md)',
  properties: Object.fromEntries(KEYS.map((k) => [k, { type: 'number', minimum: 0, maximum: LEAVE_MAX_S, description: `overrides ${LEAVE_VARIABLES[k]}` }])),
} as const;

/** Checks a caller-given `leave` object; MEDIABOT_BAD_REQUEST naming the field on anything wrong. */
export function parseLeaveOverride(value: unknown): LeaveOverride {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new MediabotError('MEDIABOT_BAD_REQUEST', 'leave must be an object of seconds, e.g. {"whenAloneS": 30}');
  const out: LeaveOverride = {};
  for (const [k, v] of Object.entries(value)) {
    if (!(KEYS as string[]).includes(k)) throw new MediabotError('MEDIABOT_BAD_REQUEST', `leave.${k} is not a leave rule (known: ${KEYS.join(', ')})`);
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > LEAVE_MAX_S) throw new MediabotError('MEDIABOT_BAD_REQUEST', `leave.${k} must be seconds 0-${LEAVE_MAX_S} (0 turns the rule off)`);
    out[k as keyof LeaveSettings] = v;
  }
  return out;
}

/** The settings of a call: the defaults with its override on top. */
export function resolveLeave(defaults: LeaveSettings, override: LeaveOverride | undefined): LeaveSettings {
  return { ...defaults, ...(override ?? {}) };
}
