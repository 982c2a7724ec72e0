/** What the consent announcement needs known up front: whether a call keeps audio, and that the file plays. */
import type { ConsentSettings } from '../../config/consent-settings.js';
import { MediabotError } from '../../errors.js';
import type { HookSpec } from '../../media/session/spec.js';
import { load48k } from '../prompts.js';

/** True when a call with these hooks records or transcribes (the built-in recorder or transcriber). */
export function keepsAudio(hooks: readonly HookSpec[]): boolean {
  return hooks.some((h) => 'builtin' in h && (h.builtin === 'recorder' || h.builtin === 'transcribe'));
}

/** A `file:` announcement must decode at start-up, not at the first call (MEDIABOT_CONFIG_INVALID otherwise). */
export async function checkConsentAnnouncement(settings: ConsentSettings): Promise<void> {
  const a = settings.announcement;
  if (a.kind !== 'file') return;
  let samples: Int16Array;
  try {
    samples = await load48k(a.path);
  } catch (err) {
    throw new MediabotError('MEDIABOT_CONFIG_INVALID', `MEDIABOT_CONSENT_ANNOUNCEMENT names a file that is not audio mediabot can play: ${(err as Error).message}`, { variable: 'MEDIABOT_CONSENT_ANNOUNCEMENT' });
  }
  if (samples.length < 48_000 / 10) throw new MediabotError('MEDIABOT_CONFIG_INVALID', 'MEDIABOT_CONSENT_ANNOUNCEMENT names an audio file shorter than 0.1 s', { variable: 'MEDIABOT_CONSENT_ANNOUNCEMENT' });
}
