/**
 * POSTs one signed webhook under the outbound-address rule of src/net (the target's address is
 * checked after DNS resolution, private and loopback refused unless MEDIABOT_FETCH_ALLOWLIST names
 * them). No redirect is followed: a 3xx is a failed attempt, like any status outside 2xx.
 */
import http from 'node:http';
import https from 'node:https';
import { RequestFilteringHttpAgent, RequestFilteringHttpsAgent } from 'request-filtering-agent';
import { isMediabotError } from '../errors.js';
import { splitAllowlist } from '../net/allowlist.js';
import { checkUrl, filteringLookup } from '../net/safe-fetch.js';

export interface PostResult {
  /** The HTTP status, or null when no response came (refused address, connection error, timeout). */
  status: number | null;
  ok: boolean;
  error: string | null;
}

export interface PostOptions {
  allowlist: readonly string[];
  timeoutMs: number;
  ca?: string;
}

/** Throws MEDIABOT_URL_REFUSED when the URL can never be delivered to (scheme, credentials, a refused literal address). */
export function checkWebhookUrl(url: string, allowlist: readonly string[]): void {
  const { hosts, cidrs } = splitAllowlist(allowlist);
  checkUrl(new URL(url), hosts, cidrs);
}

export function postWebhook(url: string, headers: Record<string, string>, body: string, o: PostOptions): Promise<PostResult> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return Promise.resolve({ status: null, ok: false, error: 'not a URL' });
  }
  const { hosts, cidrs } = splitAllowlist(o.allowlist);
  try {
    checkUrl(u, hosts, cidrs);
  } catch (err) {
    return Promise.resolve({ status: null, ok: false, error: isMediabotError(err) ? `refused: ${String(err.details?.['reason'] ?? err.message)}` : String(err) });
  }
  const hostAllowed = hosts.includes(u.hostname.toLowerCase());
  const isHttps = u.protocol === 'https:';
  const strict = !hostAllowed && cidrs.length === 0;
  const agentOpts = { keepAlive: false, ...(strict ? {} : { allowPrivateIPAddress: true, allowMetaIPAddress: true }), ...(isHttps && o.ca !== undefined ? { ca: o.ca } : {}) };
  const agent = isHttps ? new RequestFilteringHttpsAgent(agentOpts) : new RequestFilteringHttpAgent(agentOpts);
  const lookup = hostAllowed ? undefined : filteringLookup(cidrs);
  const payload = Buffer.from(body, 'utf8');
  return new Promise<PostResult>((resolve) => {
    let settled = false;
    const done = (r: PostResult): void => {
      if (settled) return;
      settled = true;
      agent.destroy();
      resolve(r);
    };
    const req = (isHttps ? https : http).request(
      u,
      {
        method: 'POST',
        agent,
        signal: AbortSignal.timeout(o.timeoutMs),
        headers: { ...headers, 'content-type': 'application/json', 'content-length': String(payload.length), 'user-agent': 'mediabot-webhooks' },
        ...(lookup ? { lookup } : {}),
      },
      (res) => {
        const status = res.statusCode ?? 0;
        // The receiver's answer body is not needed: it is drained and dropped.
        res.resume();
        res.on('end', () => done({ status, ok: status >= 200 && status <= 299, error: status >= 200 && status <= 299 ? null : `status ${status}` }));
        res.on('error', (err) => done({ status, ok: false, error: `response: ${err.message}` }));
      },
    );
    req.on('error', (err) => done({ status: null, ok: false, error: err.name === 'AbortError' || err.name === 'TimeoutError' ? 'timeout' : `request: ${err.message}` }));
    req.end(payload);
  });
}
