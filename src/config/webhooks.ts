/**
 * Outbound webhook settings (MEDIABOT_WEBHOOK_URL, MEDIABOT_WEBHOOK_SECRET), parsed by loadConfig.
 * The secret is a Standard Webhooks secret: `whsec_` + base64 of 24 to 64 random bytes.
 */
import { MediabotError } from '../errors.js';

export interface WebhookSettings {
  /** Where every event goes (besides per-call URLs); undefined: only per-call URLs. */
  url: string | undefined;
  /** The signing secret; required as soon as any webhook URL can be used. */
  secret: string | undefined;
}

function invalid(name: string, value: string, expected: string): MediabotError {
  return new MediabotError('MEDIABOT_CONFIG_INVALID', `${name}=${JSON.stringify(value)} is invalid: expected ${expected}`, { variable: name });
}

/** True for `whsec_` + base64 of 24-64 bytes. */
export function isWebhookSecret(s: string): boolean {
  const m = /^whsec_([A-Za-z0-9+/]+={0,2})$/.exec(s);
  if (!m) return false;
  const bytes = Buffer.from(m[1]!, 'base64').length;
  return bytes >= 24 && bytes <= 64;
}

export function parseWebhookSettings(get: (k: string) => string | undefined): WebhookSettings {
  const url = get('MEDIABOT_WEBHOOK_URL');
  const secret = get('MEDIABOT_WEBHOOK_SECRET');
  if (url !== undefined) {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw invalid('MEDIABOT_WEBHOOK_URL', url, 'an http(s) URL');
    }
    if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.username !== '' || u.password !== '') throw invalid('MEDIABOT_WEBHOOK_URL', url, 'an http(s) URL without credentials');
    if (secret === undefined) throw invalid('MEDIABOT_WEBHOOK_SECRET', '', 'a secret (whsec_ + base64 of 24-64 bytes) when MEDIABOT_WEBHOOK_URL is set');
  }
  if (secret !== undefined && !isWebhookSecret(secret)) throw invalid('MEDIABOT_WEBHOOK_SECRET', '(hidden)', 'whsec_ + base64 of 24-64 bytes');
  return { url, secret };
}
