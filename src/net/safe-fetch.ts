/**
 * Fetches a URL a caller gave (a prompt to play) without letting the caller reach what only the
 * worker can: every connection's address is checked after DNS resolution, on the first request and
 * after every redirect (request-filtering-agent, plus our own lookup filter that knows the
 * allowlist); the body is streamed with a byte cap and the whole fetch has a deadline. Whatever
 * goes wrong, the caller sees one error, MEDIABOT_URL_REFUSED, with one message, so the answers
 * cannot be used to scan ports or tell refused addresses from closed ones; the reason goes to
 * `details.reason` for the logs only.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { RequestFilteringHttpAgent, RequestFilteringHttpsAgent } from 'request-filtering-agent';
import { MediabotError } from '../errors.js';
import { refusedAddressReason, splitAllowlist, urlHostAddress } from './allowlist.js';

export const SAFE_FETCH_DEFAULTS = {
  maxBytes: 20 * 1024 * 1024,
  timeoutMs: 15_000,
  maxRedirects: 5,
} as const;

export interface SafeFetchOptions {
  /** Parsed MEDIABOT_FETCH_ALLOWLIST entries: host names, IPs, CIDRs. */
  allowlist?: readonly string[];
  /** Largest body accepted (default 20 MiB); the download is aborted past it. */
  maxBytes?: number;
  /** Deadline for the whole fetch, redirects included (default 15 s). */
  timeoutMs?: number;
  /** Redirects followed at most (default 5). */
  maxRedirects?: number;
  /** Extra CA certificates for https. */
  ca?: string;
}

export interface SafeFetchResult {
  status: number;
  contentType: string | undefined;
  body: Buffer;
  /** The URL the body came from (after redirects). */
  url: string;
}

export const URL_REFUSED_MESSAGE = 'the URL was refused or could not be fetched';

function refused(reason: string): MediabotError {
  return new MediabotError('MEDIABOT_URL_REFUSED', URL_REFUSED_MESSAGE, { reason });
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A dns.lookup that answers only addresses the rule allows (every address, when several). */
export function filteringLookup(cidrs: readonly string[]): LookupFunction {
  return ((hostname: string, options: LookupOptions, cb: LookupCallback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return cb(err, '');
      for (const a of addresses) {
        const why = refusedAddressReason(a.address, cidrs);
        if (why !== null) return cb(Object.assign(new Error(`address ${a.address} refused: ${why}`), { code: 'EREFUSEDADDRESS' }), '');
      }
      if (addresses.length === 0) return cb(Object.assign(new Error('no address'), { code: 'ENOTFOUND' }), '');
      if (options.all === true) return cb(null, addresses);
      const first = addresses[0]!;
      return cb(null, first.address, first.family);
    });
  }) as unknown as LookupFunction;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * GETs `url` under the rules above. Resolves with a 2xx response's body; rejects with
 * MEDIABOT_URL_REFUSED for everything else.
 */
export async function safeFetch(url: string, opts: SafeFetchOptions = {}): Promise<SafeFetchResult> {
  const maxBytes = opts.maxBytes ?? SAFE_FETCH_DEFAULTS.maxBytes;
  const maxRedirects = opts.maxRedirects ?? SAFE_FETCH_DEFAULTS.maxRedirects;
  const { hosts, cidrs } = splitAllowlist(opts.allowlist ?? []);
  const signal = AbortSignal.timeout(opts.timeoutMs ?? SAFE_FETCH_DEFAULTS.timeoutMs);
  let current: URL;
  try {
    current = new URL(url);
  } catch {
    throw refused('not a URL');
  }
  for (let hop = 0; ; hop++) {
    checkUrl(current, hosts, cidrs);
    const res = await get(current, { maxBytes, signal, hostAllowed: hosts.includes(current.hostname.toLowerCase()), cidrs, ...(opts.ca !== undefined ? { ca: opts.ca } : {}) });
    if (REDIRECTS.has(res.status)) {
      if (hop >= maxRedirects) throw refused('too many redirects');
      if (res.location === undefined) throw refused('redirect without Location');
      try {
        current = new URL(res.location, current);
      } catch {
        throw refused('bad redirect Location');
      }
      continue;
    }
    if (res.status < 200 || res.status > 299) throw refused(`status ${res.status}`);
    return { status: res.status, contentType: res.contentType, body: res.body, url: current.toString() };
  }
}

export function checkUrl(u: URL, hosts: readonly string[], cidrs: readonly string[]): void {
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw refused(`scheme ${u.protocol}`);
  if (u.username !== '' || u.password !== '') throw refused('credentials in URL');
  if (hosts.includes(u.hostname.toLowerCase())) return;
  const literal = urlHostAddress(u);
  if (literal !== null) {
    const why = refusedAddressReason(literal, cidrs);
    if (why !== null) throw refused(`address ${literal}: ${why}`);
  }
}

interface Hop {
  status: number;
  location: string | undefined;
  contentType: string | undefined;
  body: Buffer;
}

function get(u: URL, o: { maxBytes: number; signal: AbortSignal; hostAllowed: boolean; cidrs: readonly string[]; ca?: string }): Promise<Hop> {
  const isHttps = u.protocol === 'https:';
  // An allowlisted host may resolve anywhere; otherwise our lookup filter (which knows the
  // allowlisted ranges) and, when there are none, request-filtering-agent both check the address.
  const strict = !o.hostAllowed && o.cidrs.length === 0;
  const agentOpts = { keepAlive: false, ...(strict ? {} : { allowPrivateIPAddress: true, allowMetaIPAddress: true }), ...(isHttps && o.ca !== undefined ? { ca: o.ca } : {}) };
  const agent = isHttps ? new RequestFilteringHttpsAgent(agentOpts) : new RequestFilteringHttpAgent(agentOpts);
  const lookup = o.hostAllowed ? undefined : filteringLookup(o.cidrs);
  return new Promise<Hop>((resolve, reject) => {
    let settled = false;
    const fail = (reason: string): void => {
      if (settled) return;
      settled = true;
      req.destroy();
      agent.destroy();
      reject(refused(reason));
    };
    const req = (isHttps ? https : http).request(u, { method: 'GET', agent, signal: o.signal, headers: { accept: 'audio/*, */*;q=0.5' }, ...(lookup ? { lookup } : {}) }, (res) => {
      const status = res.statusCode ?? 0;
      if (REDIRECTS.has(status) || status < 200 || status > 299) {
        res.resume();
        settled = true;
        agent.destroy();
        req.destroy();
        resolve({ status, location: res.headers.location, contentType: res.headers['content-type'], body: Buffer.alloc(0) });
        return;
      }
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > o.maxBytes) return fail(`content-length ${declared} over ${o.maxBytes}`);
      const chunks: Buffer[] = [];
      let total = 0;
      res.on('data', (c: Buffer) => {
        total += c.length;
        if (total > o.maxBytes) return fail(`body over ${o.maxBytes} bytes`);
        chunks.push(c);
      });
      res.on('end', () => {
        if (settled) return;
        settled = true;
        agent.destroy();
        resolve({ status, location: undefined, contentType: res.headers['content-type'], body: Buffer.concat(chunks, total) });
      });
      res.on('error', (err) => fail(`response: ${err.message}`));
      res.on('aborted', () => fail('response aborted'));
    });
    req.on('error', (err) => fail(o.signal.aborted ? 'timeout' : `request: ${err.message}`));
    req.end();
  });
}
