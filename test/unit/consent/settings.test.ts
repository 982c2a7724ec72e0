import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { consentOverride } from '../../../src/calls/call-settings.js';
import { checkConsentAnnouncement } from '../../../src/calls/consent/media-checks.js';
import { loadConfig } from '../../../src/config/config.js';
import { CONSENT_DEFAULT_TEXT } from '../../../src/config/consent-settings.js';
import { isMediabotError } from '../../../src/errors.js';
import { encodeWavPcm16 } from '../../../src/media/wire/wav.js';

const base = { MEDIABOT_HOST: '127.0.0.1', MEDIABOT_LOG_LEVEL: 'silent' };
const invalidVariable = (env: Record<string, string>): string | undefined => {
  try {
    loadConfig({ ...base, ...env });
    return undefined;
  } catch (err) {
    return isMediabotError(err) && err.code === 'MEDIABOT_CONFIG_INVALID' ? String((err.details as Record<string, unknown> | undefined)?.['variable']) : 'other error';
  }
};

describe('consent settings', () => {
  it('defaults to an English text every 30 s at most; off, a text or a file', () => {
    expect(loadConfig(base).consent).toEqual({ announcement: { kind: 'text', text: CONSENT_DEFAULT_TEXT }, repeatS: 30 });
    expect(loadConfig({ ...base, MEDIABOT_CONSENT_ANNOUNCEMENT: 'off', MEDIABOT_CONSENT_REPEAT_S: '5' }).consent).toEqual({ announcement: { kind: 'off' }, repeatS: 5 });
    expect(loadConfig({ ...base, MEDIABOT_CONSENT_ANNOUNCEMENT: ' We record this call. ' }).consent.announcement).toEqual({ kind: 'text', text: 'We record this call.' });
    const dir = mkdtempSync(join(tmpdir(), 'consent-'));
    const wav = join(dir, 'notice.wav');
    writeFileSync(wav, encodeWavPcm16(new Int16Array(16_000).fill(500), 16_000));
    expect(loadConfig({ ...base, MEDIABOT_CONSENT_ANNOUNCEMENT: `file:${wav}` }).consent.announcement).toEqual({ kind: 'file', path: wav });
  });

  it('refuses bad values naming the variable', () => {
    expect(invalidVariable({ MEDIABOT_CONSENT_ANNOUNCEMENT: 'file:/nonexistent/notice.wav' })).toBe('MEDIABOT_CONSENT_ANNOUNCEMENT');
    expect(invalidVariable({ MEDIABOT_CONSENT_ANNOUNCEMENT: 'file:' })).toBe('MEDIABOT_CONSENT_ANNOUNCEMENT');
    expect(invalidVariable({ MEDIABOT_CONSENT_ANNOUNCEMENT: 'x'.repeat(1001) })).toBe('MEDIABOT_CONSENT_ANNOUNCEMENT');
    for (const v of ['0', '-1', 'soon', '3601']) expect(invalidVariable({ MEDIABOT_CONSENT_REPEAT_S: v }), v).toBe('MEDIABOT_CONSENT_REPEAT_S');
  });

  it('checks at start-up that a file announcement is audio', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'consent-'));
    const notAudio = join(dir, 'notice.wav');
    writeFileSync(notAudio, 'this is not a WAV file');
    const err = await checkConsentAnnouncement({ announcement: { kind: 'file', path: notAudio }, repeatS: 30 }).catch((e: unknown) => e);
    expect(isMediabotError(err) && err.code).toBe('MEDIABOT_CONFIG_INVALID');
    const good = join(dir, 'good.wav');
    writeFileSync(good, encodeWavPcm16(new Int16Array(16_000).fill(500), 16_000));
    await expect(checkConsentAnnouncement({ announcement: { kind: 'file', path: good }, repeatS: 30 })).resolves.toBeUndefined();
  });

  it('takes a call\'s own announcement: a text or off', () => {
    expect(consentOverride(undefined)).toBeNull();
    expect(consentOverride({})).toBeNull();
    expect(consentOverride({ announcement: 'off' })).toEqual({ kind: 'off' });
    expect(consentOverride({ announcement: 'Recorded for training.' })).toEqual({ kind: 'text', text: 'Recorded for training.' });
    for (const bad of [null, 'off', [], { announcement: '' }, { announcement: 42 }, { announcement: 'x'.repeat(1001) }]) {
      expect(() => consentOverride(bad), JSON.stringify(bad)).toThrow(expect.objectContaining({ code: 'MEDIABOT_BAD_REQUEST' }));
    }
  });
});
