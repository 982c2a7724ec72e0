/**
 * Removes credentials from text bound for logs, errors and events: the values of query parameters
 * that carry tokens or codes (`token`, `access_token`, `code`, `validationToken`, `sig`, …) in any
 * URL or query string, and bearer tokens in header-like text.
 */

/** Query parameters whose values are secrets (compared case-insensitively). */
export const SECRET_QUERY_PARAMS = ['token', 'access_token', 'id_token', 'refresh_token', 'code', 'validationtoken', 'client_secret', 'sig', 'signature', 'key', 'apikey', 'api_key', 'password', 'secret', 'x-amz-signature', 'x-amz-credential', 'x-amz-security-token'] as const;

export const REDACTED = '[redacted]';

const PARAM = new RegExp(`([?&;](?:${SECRET_QUERY_PARAMS.join('|')})=)[^&#\\s"'<>)]*`, 'gi');
const BEARER = /\b(Bearer\s+)[A-Za-z0-9._~+/=-]+/gi;

/** Replaces secret query values and bearer tokens anywhere in `text`. */
export function redactText(text: string): string {
  if (text.indexOf('=') === -1 && !/bearer/i.test(text)) return text;
  return text.replace(PARAM, `$1${REDACTED}`).replace(BEARER, `$1${REDACTED}`);
}

/** A request URL (path and query) with its secret query values replaced. */
export function redactUrl(url: string | undefined): string | undefined {
  return url === undefined ? undefined : redactText(url);
}

/** Top-level folders whose paths are machine details, never shown to API callers. */
const FS_PATH = /(?:[A-Za-z]:\\[^\s'"`,;)]+|\/(?:tmp|var|home|root|usr|etc|opt|srv|mnt|proc|dev|sys|run|private|Users|work|data|builds|app|workspace|snap|nix)(?:\/[^\s'"`,;)]*)?)/g;

/**
 * The part of an error message an API caller may see: the first line only (tool stderr and stack
 * traces follow it), absolute file paths replaced by `<path>`, secrets redacted, at most 500
 * characters. The full message stays in the logs.
 */
export function publicMessage(message: string, extraPaths: readonly string[] = []): string {
  let m = message.split(/\r?\n/, 1)[0] ?? '';
  for (const p of extraPaths) if (p.length > 1) m = m.split(p).join('<path>');
  m = redactText(m.replace(FS_PATH, '<path>'));
  return m.length > 500 ? `${m.slice(0, 497)}...` : m;
}
