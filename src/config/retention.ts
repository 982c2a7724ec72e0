/**
 * Retention (MEDIABOT_RETENTION_DAYS), parsed by loadConfig: how many days a call's data is kept
 * after the call ended. Unset or 0 keeps it forever; a whole number of days otherwise.
 */
import { MediabotError } from '../errors.js';

export interface RetentionSettings {
  /** Days after a call ended before its data is deleted (reason `retention`); 0: kept forever. */
  days: number;
}

/** A bound that keeps `days × 86 400 000` far inside a safe integer (about 270 years). */
export const MAX_RETENTION_DAYS = 100_000;

export function parseRetentionSettings(get: (k: string) => string | undefined): RetentionSettings {
  const raw = get('MEDIABOT_RETENTION_DAYS');
  if (raw === undefined) return { days: 0 };
  if (!/^\d{1,6}$/.test(raw) || Number(raw) > MAX_RETENTION_DAYS) {
    throw new MediabotError('MEDIABOT_CONFIG_INVALID', `MEDIABOT_RETENTION_DAYS=${JSON.stringify(raw)} is invalid: expected a whole number of days 0-${MAX_RETENTION_DAYS} (0 or unset: keep forever)`, {
      variable: 'MEDIABOT_RETENTION_DAYS',
    });
  }
  return { days: Number(raw) };
}
