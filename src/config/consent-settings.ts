/**
 * The consent announcement every recorded or transcribed call hears (docs/consent.md): its default,
 * and its reading from MEDIABOT_CONSENT_ANNOUNCEMENT and MEDIABOT_CONSENT_REPEAT_S.
 */
import { existsSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { MediabotError } from '../errors.js';

/** What is played: nothing, text spoken with espeak-ng, or an audio file of the operator's. */
export type ConsentAnnouncement = { kind: 'off' } | { kind: 'text'; text: string } | { kind: 'file'; path: string };

export interface ConsentSettings {
  announcement: ConsentAnnouncement;
  /** The least time between two announcements of one call, in seconds (joiners wait for it). */
  repeatS: number;
}

export const CONSENT_DEFAULT_TEXT = 'This call is being recorded and transcribed.';
/** As long as a prompt's text may be (prompts.ts MAX_PROMPT_TEXT). */
export const CONSENT_TEXT_MAX = 1000;
export const CONSENT_REPEAT_MAX_S = 3600;

export const CONSENT_DEFAULTS: Readonly<ConsentSettings> = Object.freeze({ announcement: Object.freeze({ kind: 'text' as const, text: CONSENT_DEFAULT_TEXT }), repeatS: 30 });

function invalid(name: string, value: string, expected: string): MediabotError {
  return new MediabotError('MEDIABOT_CONFIG_INVALID', `${name}=${JSON.stringify(value)} is invalid: expected ${expected}`, { variable: name });
}

/**
 * MEDIABOT_CONSENT_ANNOUNCEMENT: `off`, `file:<path>` (a WAV or any file sox reads; relative to the
 * working folder; it must exist, and start-up checks it decodes), or the text to speak.
 */
export function parseConsentAnnouncement(raw: string | undefined, baseDir = process.cwd()): ConsentAnnouncement {
  const name = 'MEDIABOT_CONSENT_ANNOUNCEMENT';
  if (raw === undefined) return CONSENT_DEFAULTS.announcement;
  const value = raw.trim();
  if (value === 'off') return { kind: 'off' };
  if (value.startsWith('file:')) {
    const given = value.slice('file:'.length);
    if (given === '') throw invalid(name, raw, 'file:<path to an audio file>');
    const path = isAbsolute(given) ? given : resolve(baseDir, given);
    if (!existsSync(path) || !statSync(path).isFile()) throw invalid(name, raw, 'file:<path> naming an existing audio file');
    return { kind: 'file', path };
  }
  if (value === '' || value.length > CONSENT_TEXT_MAX) throw invalid(name, raw, `off, file:<path>, or a text of 1-${CONSENT_TEXT_MAX} characters`);
  return { kind: 'text', text: value };
}

/** Reads MEDIABOT_CONSENT_*; MEDIABOT_CONFIG_INVALID naming the variable on a bad value. */
export function consentSettingsFromEnv(get: (name: string) => string | undefined): ConsentSettings {
  const repeatRaw = get('MEDIABOT_CONSENT_REPEAT_S');
  let repeatS: number = CONSENT_DEFAULTS.repeatS;
  if (repeatRaw !== undefined) {
    const n = /^\d+(\.\d{1,3})?$/.test(repeatRaw.trim()) ? Number(repeatRaw.trim()) : Number.NaN;
    if (!(n >= 1 && n <= CONSENT_REPEAT_MAX_S)) throw invalid('MEDIABOT_CONSENT_REPEAT_S', repeatRaw, `seconds 1-${CONSENT_REPEAT_MAX_S}`);
    repeatS = n;
  }
  return { announcement: parseConsentAnnouncement(get('MEDIABOT_CONSENT_ANNOUNCEMENT')), repeatS };
}
