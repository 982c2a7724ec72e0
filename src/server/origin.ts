/**
 * Host and Origin checks for the operator API and the events socket, so that a web page the
 * operator happens to visit cannot drive a worker on loopback (cross-site requests, DNS rebinding).
 *
 * - Host must be an IP literal (a rebinding attack needs a name), `localhost`, the listen host, the
 *   public URL's host, or the host of an allowed origin.
 * - Origin may be absent (curl, SDKs and other non-browser clients send none); when present it must
 *   be the request's own origin (same host as the accepted Host header: the dashboard), the public
 *   URL's origin, or one of MEDIABOT_ALLOWED_ORIGINS. `Origin: null` is refused.
 */
import { isIP } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { MediabotError } from '../errors.js';

export interface OriginPolicy {
  listenHost: string;
  publicUrl?: string | undefined;
  /** Extra browser origins (e.g. an operations console on another host). */
  allowedOrigins?: readonly string[];
}

function hostnameOf(hostHeader: string): string {
  // "[::1]:3978" → "::1"; "example.com:80" → "example.com"
  if (hostHeader.startsWith('[')) return hostHeader.slice(1, hostHeader.indexOf(']')).toLowerCase();
  const i = hostHeader.lastIndexOf(':');
  return (i === -1 ? hostHeader : hostHeader.slice(0, i)).toLowerCase();
}

function urlOrUndefined(s: string): URL | undefined {
  try {
    return new URL(s);
  } catch {
    return undefined;
  }
}

export interface OriginVerdict {
  ok: boolean;
  reason?: 'host' | 'origin';
}

/** Pure check of one request's Host and Origin headers against the policy. */
export function checkHostAndOrigin(policy: OriginPolicy, host: string | undefined, origin: string | undefined): OriginVerdict {
  const publicUrl = policy.publicUrl !== undefined ? urlOrUndefined(policy.publicUrl) : undefined;
  const allowed = (policy.allowedOrigins ?? []).map(urlOrUndefined).filter((u): u is URL => u !== undefined);
  if (host === undefined || host === '') return { ok: false, reason: 'host' };
  const name = hostnameOf(host);
  const listen = policy.listenHost.replace(/^\[|\]$/g, '').toLowerCase();
  const hostOk =
    isIP(name) !== 0 ||
    name === 'localhost' ||
    name === listen ||
    (publicUrl !== undefined && publicUrl.hostname.replace(/^\[|\]$/g, '').toLowerCase() === name) ||
    allowed.some((a) => a.hostname.toLowerCase() === name);
  if (!hostOk) return { ok: false, reason: 'host' };
  if (origin === undefined) return { ok: true };
  let o: URL;
  try {
    o = new URL(origin);
  } catch {
    return { ok: false, reason: 'origin' };
  }
  if (o.protocol !== 'http:' && o.protocol !== 'https:') return { ok: false, reason: 'origin' };
  if (o.host.toLowerCase() === host.toLowerCase()) return { ok: true };
  if (publicUrl !== undefined && publicUrl.origin === o.origin) return { ok: true };
  if (allowed.some((a) => a.origin === o.origin)) return { ok: true };
  return { ok: false, reason: 'origin' };
}

/** An onRequest hook applying checkHostAndOrigin; refusals answer 403 MEDIABOT_ORIGIN_REFUSED. */
export function originGuard(policy: OriginPolicy, onRefused?: (reason: 'host' | 'origin') => void) {
  return async function guardOrigin(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
    const origin = request.headers.origin;
    const v = checkHostAndOrigin(policy, request.headers.host, typeof origin === 'string' ? origin : undefined);
    if (!v.ok) {
      onRefused?.(v.reason!);
      throw new MediabotError('MEDIABOT_ORIGIN_REFUSED', v.reason === 'host' ? 'the Host header names no address of this worker' : 'requests from this Origin are not allowed');
    }
  };
}
