/**
 * Whether the worker can be reached from outside this machine, and what that demands of its
 * configuration. Reachable means any of: a public URL (a reverse proxy forwards to it), Graph
 * credentials (Graph must post callbacks to it), or a listen host that is not a literal loopback
 * address. A reachable worker refuses to start without an API token of at least
 * MIN_EXPOSED_TOKEN_LENGTH characters.
 */
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { MediabotError } from '../errors.js';

export const MIN_EXPOSED_TOKEN_LENGTH = 32;

/**
 * True for a literal loopback address: 127.0.0.0/8 in dotted-quad form, ::1 (any spelling), an
 * IPv4-mapped ::ffff:127.x.y.z, and the name `localhost` (which every resolver configuration this
 * project supports maps to loopback). Names that merely start with "127." are not addresses.
 */
export function isLoopbackHost(host: string): boolean {
  const h = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (h.toLowerCase() === 'localhost') return true;
  // Only the canonical literal forms count: node's isIP refuses "127.1", "0x7f000001" and names.
  if (isIP(h) === 0) return false;
  const parsed = ipaddr.process(h);
  return parsed.range() === 'loopback';
}

export interface ExposureInput {
  host: string;
  publicUrl: string | undefined;
  hasGraphCredentials: boolean;
  apiToken: string | undefined;
}

/** Why the worker counts as reachable from outside, or null when it only listens on loopback. */
export function exposureReason(c: Omit<ExposureInput, 'apiToken'>): string | null {
  if (c.publicUrl !== undefined) return 'MEDIABOT_PUBLIC_URL is set';
  if (c.hasGraphCredentials) return 'Graph credentials are set (Graph posts callbacks to it)';
  if (!isLoopbackHost(c.host)) return `MEDIABOT_HOST (${c.host}) is not a literal loopback address`;
  return null;
}

/**
 * Throws MEDIABOT_CONFIG_INVALID naming MEDIABOT_API_TOKEN when the worker is reachable from outside
 * and has no token of at least MIN_EXPOSED_TOKEN_LENGTH characters. A token given at all must be
 * printable ASCII without spaces (it travels as `Authorization: Bearer <token>`).
 */
export function checkExposure(c: ExposureInput): void {
  if (c.apiToken !== undefined && !/^[\x21-\x7e]{1,512}$/.test(c.apiToken)) {
    throw new MediabotError('MEDIABOT_CONFIG_INVALID', 'MEDIABOT_API_TOKEN is invalid: expected 1-512 printable characters without spaces', { variable: 'MEDIABOT_API_TOKEN' });
  }
  const reason = exposureReason(c);
  if (reason === null) return;
  if (c.apiToken === undefined) {
    throw new MediabotError('MEDIABOT_CONFIG_INVALID', `MEDIABOT_API_TOKEN must be set (at least ${MIN_EXPOSED_TOKEN_LENGTH} characters): the worker is reachable from outside because ${reason}`, { variable: 'MEDIABOT_API_TOKEN' });
  }
  if (c.apiToken.length < MIN_EXPOSED_TOKEN_LENGTH) {
    throw new MediabotError('MEDIABOT_CONFIG_INVALID', `MEDIABOT_API_TOKEN is too short (${c.apiToken.length} characters): at least ${MIN_EXPOSED_TOKEN_LENGTH} are required because ${reason}`, { variable: 'MEDIABOT_API_TOKEN' });
  }
}

/** Splits a comma list, trimming blanks; undefined for an unset or empty value. */
export function commaList(raw: string | undefined): string[] {
  return (raw ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
}
