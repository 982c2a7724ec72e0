/**
 * GraphHttp: the one HTTP client for outbound Graph requests.
 *
 * Why not @microsoft/microsoft-graph-client with its RetryHandler: that client sends through the
 * global fetch, and Node 20's bundled undici does not export the Agent needed to trust a custom CA
 * (the emulator's), so HTTPS against the emulator would need a process-wide TLS override. Its
 * RetryHandler also backs off without jitter and caps retries at 10/180 s with no way to keep
 * the policy in one place, and it adds `client-request-id` only for Microsoft hosts. A small client
 * on node:http/node:https does all of that in one page: per-client CA, keep-alive agent,
 * Retry-After (seconds or HTTP date), full-jitter backoff, fresh client-request-id per attempt.
 */
import { request as httpRequest, Agent as HttpAgent, type IncomingMessage } from 'node:http';
import { request as httpsRequest, Agent as HttpsAgent } from 'node:https';
import { rootCertificates } from 'node:tls';
import { randomUUID } from 'node:crypto';
import type { Logger } from '../logger.js';
import { silentLogger } from '../logger.js';
import { GraphError, invalidArgument } from './errors.js';
import { graphErrorHint } from './hints.js';

export interface AccessTokenSource {
  /** A token for `tenantId` (a multi-tenant app serves many), or for the home tenant when absent. */
  getToken(opts?: { forceRefresh?: boolean; tenantId?: string }): Promise<string>;
}

export interface RetryPolicy {
  /** Total attempts including the first (>= 1). */
  maxAttempts: number;
  /** Backoff base: attempt n waits a random time in [0, min(maxDelayMs, baseDelayMs * 2^(n-1))]. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** A Retry-After longer than this is clamped to it. */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 5, baseDelayMs: 500, maxDelayMs: 30_000, maxRetryAfterMs: 120_000 };

export type GraphVersion = 'v1.0' | 'beta';
export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

export interface GraphHttpOptions {
  /** Graph base URL without version, e.g. https://graph.microsoft.com or the emulator's. */
  graphUrl: string;
  /** Supplies the bearer token; omit only for unauthenticated test servers. */
  tokenProvider?: AccessTokenSource;
  /** Extra CA (PEM) to trust next to the system roots, e.g. the emulator's. */
  caPem?: string;
  logger?: Logger;
  retry?: Partial<RetryPolicy>;
  /** Per-attempt timeout; default 30 s. */
  timeoutMs?: number;
  /** Largest response body accepted; default 64 MiB. */
  maxResponseBytes?: number;
}

export interface GraphRequestOptions {
  /** API version segment; default v1.0. Ignored for absolute URLs. */
  version?: GraphVersion;
  /** Query parameters; keys are sent verbatim (so `$filter` stays `$filter`), values are URL-encoded. */
  query?: Record<string, string | number | boolean | undefined>;
  headers?: Record<string, string>;
  /**
   * Authorization header value to send instead of the Graph token (e.g. `Bearer <recordingAccessToken>`),
   * or null to send none. Default: the Graph token, but only to the Graph origin.
   */
  authorization?: string | null;
  /** `json` (default) parses the body; `buffer` returns the raw bytes. */
  responseType?: 'json' | 'buffer';
  /** Tenant whose token authorizes the request (the call's, meeting's or user's); default the home tenant. */
  tenantId?: string;
}

export interface GraphResponse<T> {
  status: number;
  /** Parsed JSON (or Buffer for responseType buffer); undefined for an empty body (202/204). */
  body: T | undefined;
  headers: Record<string, string>;
  /** `Location` header, e.g. the operation URL of an accepted call action. */
  location: string | undefined;
  requestId: string | undefined;
  clientRequestId: string;
  attempts: number;
}

/** The request surface the resource modules use; GraphHttp implements it. */
export interface GraphRequester {
  request<T>(method: HttpMethod, path: string, body?: unknown, opts?: GraphRequestOptions): Promise<GraphResponse<T>>;
}

const RETRYABLE_STATUS = new Set([429, 503, 504]);

/**
 * Network errors that prove the request never reached the server (no connection was made),
 * so even a POST (create a call, play a prompt) can be sent again without doing it twice.
 */
const NOT_SENT_ERRORS = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);
const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']);

/** Whether a request that failed on the network with `err` may be sent again. */
export function safeToResend(method: string, err: unknown): boolean {
  if (IDEMPOTENT_METHODS.has(method.toUpperCase())) return true;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && NOT_SENT_ERRORS.has(code);
}

/** Retry-After as milliseconds: delta-seconds (decimals allowed, Graph sends e.g. 2.128) or an HTTP date. */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (v === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  // An HTTP date names its day and month; bare numbers like "-3" are not dates.
  if (!/[a-z]{3}/i.test(v)) return undefined;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/** Full-jitter exponential backoff delay before attempt `attempt + 1` (attempt is 1-based). */
export function backoffDelay(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

class NetworkError extends Error {
  constructor(message: string, readonly causeCode: string | undefined) {
    super(message);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function flattenHeaders(res: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(res.headers)) {
    if (v === undefined) continue;
    out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

function odataError(body: unknown): { code: string | undefined; message: string | undefined } {
  if (typeof body === 'object' && body !== null && 'error' in body) {
    const e = (body as { error: unknown }).error;
    if (typeof e === 'object' && e !== null) {
      const code = (e as { code?: unknown }).code;
      const message = (e as { message?: unknown }).message;
      return { code: typeof code === 'string' ? code : undefined, message: typeof message === 'string' ? message : undefined };
    }
  }
  return { code: undefined, message: undefined };
}

export class GraphHttp implements GraphRequester {
  readonly graphUrl: string;
  private readonly origin: string;
  private readonly tokenProvider: AccessTokenSource | undefined;
  private readonly logger: Logger;
  private readonly policy: RetryPolicy;
  private readonly timeoutMs: number;
  private readonly maxResponseBytes: number;
  private readonly httpAgent = new HttpAgent({ keepAlive: true });
  private readonly httpsAgent: HttpsAgent;
  /** Requests put on the wire (attempts), for metrics and tests. */
  attemptsSent = 0;

  constructor(opts: GraphHttpOptions) {
    let base: URL;
    try {
      base = new URL(opts.graphUrl);
    } catch {
      throw invalidArgument(`graphUrl ${JSON.stringify(opts.graphUrl)} is not a URL`);
    }
    if (base.protocol !== 'https:' && base.protocol !== 'http:') throw invalidArgument('graphUrl must be http(s)');
    this.graphUrl = opts.graphUrl.replace(/\/+$/, '');
    this.origin = base.origin;
    this.tokenProvider = opts.tokenProvider;
    this.logger = opts.logger ?? silentLogger;
    this.policy = { ...DEFAULT_RETRY_POLICY, ...opts.retry };
    if (!(this.policy.maxAttempts >= 1)) throw invalidArgument('retry.maxAttempts must be >= 1');
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.maxResponseBytes = opts.maxResponseBytes ?? 64 * 1024 * 1024;
    this.httpsAgent = new HttpsAgent({ keepAlive: true, ...(opts.caPem !== undefined ? { ca: [...rootCertificates, opts.caPem] } : {}) });
  }

  /** Closes idle keep-alive sockets. */
  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  buildUrl(path: string, opts: GraphRequestOptions = {}): URL {
    let url: URL;
    if (/^https?:\/\//i.test(path)) {
      url = new URL(path);
    } else {
      if (!path.startsWith('/')) throw invalidArgument(`Graph path must start with "/": ${path}`);
      url = new URL(`${this.graphUrl}/${opts.version ?? 'v1.0'}${path}`);
    }
    if (opts.query) {
      const parts: string[] = [];
      for (const [k, v] of Object.entries(opts.query)) {
        if (v === undefined) continue;
        parts.push(`${k}=${encodeURIComponent(String(v))}`);
      }
      if (parts.length > 0) url.search = (url.search ? `${url.search}&` : '?') + parts.join('&');
    }
    return url;
  }

  async request<T>(method: HttpMethod, path: string, body?: unknown, opts: GraphRequestOptions = {}): Promise<GraphResponse<T>> {
    const url = this.buildUrl(path, opts);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body), 'utf8');
    const toGraph = url.origin === this.origin;
    let refreshedAfter401 = false;
    let forceRefreshNext = false;
    let attempt = 0;
    const policy = this.policy;

    for (;;) {
      attempt += 1;
      const clientRequestId = randomUUID();
      const headers: Record<string, string> = {
        accept: 'application/json',
        'client-request-id': clientRequestId,
        'return-client-request-id': 'true',
        ...opts.headers,
      };
      if (payload !== undefined) {
        headers['content-type'] = 'application/json';
        headers['content-length'] = String(payload.length);
      }
      const authorization = await this.authorizationFor(opts, toGraph, forceRefreshNext, method, url);
      forceRefreshNext = false;
      if (authorization !== undefined) headers.authorization = authorization;

      const started = performance.now();
      let raw: RawResponse;
      try {
        this.attemptsSent += 1;
        raw = await this.send(method, url, headers, payload);
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        this.logger.warn({ method, url: url.pathname, clientRequestId, attempt, err: message }, 'graph request failed on the network');
        // A POST or PATCH that may have reached Graph is not sent again: it could create a second call.
        const resendable = safeToResend(method, err);
        if (resendable && attempt < policy.maxAttempts) {
          await sleep(backoffDelay(attempt, policy));
          continue;
        }
        const why = resendable ? `after ${attempt} attempts` : `not retried: a ${method} that may have reached Graph could be applied twice`;
        throw new GraphError('MEDIABOT_GRAPH_UNREACHABLE', `${method} ${url.pathname}: ${message} (${why})`, {
          clientRequestId,
          retryable: resendable,
          attempts: attempt,
          method,
          url: url.toString(),
        });
      }

      const requestId = raw.headers['request-id'];
      this.logger.debug(
        { method, url: url.pathname, status: raw.status, requestId, clientRequestId, attempt, ms: Math.round(performance.now() - started) },
        'graph response',
      );

      if (raw.status === 401 && toGraph && opts.authorization === undefined && this.tokenProvider && !refreshedAfter401) {
        // A cached token can be revoked early: fetch a fresh one once and try again.
        refreshedAfter401 = true;
        forceRefreshNext = true;
        attempt -= 1;
        continue;
      }

      if (RETRYABLE_STATUS.has(raw.status)) {
        if (attempt < policy.maxAttempts) {
          const retryAfter = parseRetryAfter(raw.headers['retry-after']);
          const delay = retryAfter !== undefined ? Math.min(retryAfter, policy.maxRetryAfterMs) : backoffDelay(attempt, policy);
          this.logger.info({ method, url: url.pathname, status: raw.status, requestId, clientRequestId, attempt, delayMs: delay }, 'graph asked to retry');
          await sleep(delay);
          continue;
        }
        const parsed = this.tryParse(raw.body);
        const { code, message } = odataError(parsed);
        throw new GraphError(
          raw.status === 429 ? 'MEDIABOT_GRAPH_THROTTLED' : 'MEDIABOT_GRAPH_UNAVAILABLE',
          `${method} ${url.pathname} -> ${raw.status}${message ? `: ${message}` : ''} (after ${attempt} attempts)`,
          { status: raw.status, graphCode: code, requestId, clientRequestId, retryable: true, attempts: attempt, method, url: url.toString() },
        );
      }

      if (raw.status >= 400) {
        const parsed = this.tryParse(raw.body);
        const { code, message } = odataError(parsed);
        const text = message ?? (raw.body.length > 0 && parsed === undefined ? raw.body.subarray(0, 200).toString('utf8') : undefined);
        const hint = graphErrorHint({ method, path: url.pathname, status: raw.status, graphCode: code, message: text });
        throw new GraphError(
          raw.status === 401 || raw.status === 403 ? 'MEDIABOT_GRAPH_AUTH' : 'MEDIABOT_GRAPH_HTTP',
          `${method} ${url.pathname} -> ${raw.status}${code ? ` ${code}` : ''}${text ? `: ${text}` : ''}${hint ? ` (hint: ${hint})` : ''}`,
          { status: raw.status, graphCode: code, requestId, clientRequestId, retryable: false, attempts: attempt, method, url: url.toString(), hint },
        );
      }

      let parsedBody: unknown;
      if (opts.responseType === 'buffer') {
        parsedBody = raw.body;
      } else if (raw.body.length > 0) {
        parsedBody = this.tryParse(raw.body);
        if (parsedBody === undefined) {
          throw new GraphError('MEDIABOT_GRAPH_BAD_RESPONSE', `${method} ${url.pathname} -> ${raw.status} with a body that is not JSON`, {
            status: raw.status,
            requestId,
            clientRequestId,
            retryable: false,
            attempts: attempt,
            method,
            url: url.toString(),
          });
        }
      }
      return {
        status: raw.status,
        body: parsedBody as T | undefined,
        headers: raw.headers,
        location: raw.headers.location,
        requestId,
        clientRequestId,
        attempts: attempt,
      };
    }
  }

  private async authorizationFor(
    opts: GraphRequestOptions,
    toGraph: boolean,
    forceRefresh: boolean,
    method: string,
    url: URL,
  ): Promise<string | undefined> {
    if (opts.authorization !== undefined) return opts.authorization ?? undefined;
    // The Graph token never leaves for another origin (nextLinks to Graph keep it).
    if (!toGraph || !this.tokenProvider) return undefined;
    try {
      const o = { ...(forceRefresh ? { forceRefresh: true } : {}), ...(opts.tenantId !== undefined ? { tenantId: opts.tenantId } : {}) };
      return `Bearer ${await this.tokenProvider.getToken(Object.keys(o).length > 0 ? o : undefined)}`;
    } catch (err) {
      if (err instanceof GraphError) throw err;
      throw new GraphError('MEDIABOT_GRAPH_AUTH', `could not acquire a Graph token: ${err instanceof Error ? err.message : String(err)}`, {
        retryable: false,
        attempts: 0,
        method,
        url: url.toString(),
      });
    }
  }

  private tryParse(body: Buffer): unknown {
    if (body.length === 0) return undefined;
    try {
      return JSON.parse(body.toString('utf8')) as unknown;
    } catch {
      return undefined;
    }
  }

  private send(method: string, url: URL, headers: Record<string, string>, payload: Buffer | undefined): Promise<RawResponse> {
    return new Promise<RawResponse>((resolve, reject) => {
      const isHttps = url.protocol === 'https:';
      const fn = isHttps ? httpsRequest : httpRequest;
      const req = fn(url, { method, headers, agent: isHttps ? this.httpsAgent : this.httpAgent }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > this.maxResponseBytes) {
            req.destroy(new NetworkError(`response larger than ${this.maxResponseBytes} bytes`, 'TOO_LARGE'));
            return;
          }
          chunks.push(c);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: flattenHeaders(res), body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      req.setTimeout(this.timeoutMs, () => req.destroy(new NetworkError(`no response within ${this.timeoutMs} ms`, 'ETIMEDOUT')));
      req.on('error', reject);
      req.end(payload);
    });
  }
}

/**
 * A requester whose every request carries `tenantId` (unless the caller names another): what
 * `graph.forTenant(tenantId)` is built on, so one client serves the calls of many tenants.
 */
export function tenantRequester(inner: GraphRequester, tenantId: string): GraphRequester {
  if (typeof tenantId !== 'string' || !/^[A-Za-z0-9.-]{1,128}$/.test(tenantId)) throw invalidArgument('tenantId must be a tenant id or domain');
  return {
    request: <T>(method: HttpMethod, path: string, body?: unknown, opts: GraphRequestOptions = {}) =>
      inner.request<T>(method, path, body, { tenantId, ...opts }),
  };
}
