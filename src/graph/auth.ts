/**
 * App-only Graph tokens: msal-node ConfidentialClientApplication, client-credentials flow, with a
 * client secret or a certificate (PEM holding the certificate and its private key).
 *
 * One msal app per distinct configuration per process (cached factory below), so its in-memory
 * token cache is shared by every caller: N Graph calls cost one token request until it expires.
 *
 * Authorities: login.microsoftonline.com uses msal's normal instance discovery. Any other host (a
 * sovereign cloud or the local emulator) is treated as a known authority and its endpoint metadata
 * is built by convention from the Entra layout, `${authority}/${tenant}/oauth2/v2.0/token` and
 * friends, so no discovery request is sent; `metadata: 'discover'` instead fetches
 * `${authority}/${tenant}/v2.0/.well-known/openid-configuration` once through the same network client.
 * msal refuses http: authorities, so a local authority must be HTTPS; `caPem` makes our network
 * client trust its CA. We always use our own small node:https network client (it also counts the
 * token requests really sent); it does not implement msal's proxy option.
 */
import { request as httpsRequest, Agent as HttpsAgent } from 'node:https';
import { rootCertificates } from 'node:tls';
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  ConfidentialClientApplication,
  LogLevel,
  type Configuration,
  type INetworkModule,
  type NetworkRequestOptions,
  type NetworkResponse,
} from '@azure/msal-node';
import { MediabotError } from '../errors.js';
import type { Logger } from '../logger.js';
import { silentLogger } from '../logger.js';
import { GraphError } from './errors.js';

export interface TokenProviderOptions {
  tenantId: string;
  clientId: string;
  clientSecret?: string | undefined;
  /** PEM text with the certificate and its private key (or a path to such a file). */
  clientCertPem?: string | undefined;
  /** e.g. https://login.microsoftonline.com (MEDIABOT_AUTHORITY_URL). */
  authorityUrl: string;
  /** e.g. https://graph.microsoft.com; the scope is `${graphUrl}/.default`. */
  graphUrl: string;
  /** Extra CA (PEM) to trust for the authority, e.g. the emulator's. */
  caPem?: string | undefined;
  /** For non-Microsoft authorities: build endpoint metadata by convention (default) or fetch openid-configuration. */
  metadata?: 'convention' | 'discover';
  logger?: Logger;
}

export interface TokenProviderStats {
  /** POSTs sent to the token endpoint. */
  tokenRequests: number;
  /** GETs sent for metadata/discovery. */
  metadataRequests: number;
}

export interface TokenProvider {
  /**
   * An app-only token for `tenantId` (default: the configured tenant). A multi-tenant app gets
   * one msal app, token cache and in-flight acquisition per tenant.
   */
  getToken(opts?: { forceRefresh?: boolean; tenantId?: string }): Promise<string>;
  /** Requests sent, summed over every tenant this provider acquired tokens for. */
  readonly stats: TokenProviderStats;
  /** The tenants tokens were requested for so far. */
  readonly tenants: readonly string[];
  readonly scope: string;
}

export interface ParsedClientCertificate {
  certPem: string;
  privateKeyPem: string;
  /** Hex SHA-1 / SHA-256 of the DER certificate, lower case, no separators. */
  thumbprintSha1: string;
  thumbprintSha256: string;
}

const MICROSOFT_AUTHORITY_HOSTS = new Set(['login.microsoftonline.com', 'login.microsoftonline.us', 'login.partner.microsoftonline.cn']);

function configError(message: string): MediabotError {
  return new MediabotError('MEDIABOT_CONFIG_INVALID', message, { variable: 'MEDIABOT_CLIENT_CERT' });
}

/** Splits a PEM bundle into the leaf certificate and the private key, and computes both thumbprints. */
export function parseClientCertificate(pemOrPath: string): ParsedClientCertificate {
  let pem = pemOrPath;
  if (!pem.includes('-----BEGIN')) {
    try {
      pem = readFileSync(pemOrPath, 'utf8');
    } catch {
      throw configError('client certificate is neither PEM text nor a readable file');
    }
  }
  const certMatch = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem);
  if (!certMatch) throw configError('client certificate PEM has no CERTIFICATE block');
  const keyMatch = /-----BEGIN (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----[\s\S]+?-----END (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----/.exec(pem);
  if (!keyMatch) throw configError('client certificate PEM has no PRIVATE KEY block');
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certMatch[0]);
  } catch {
    throw configError('client certificate PEM CERTIFICATE block is not a valid X.509 certificate');
  }
  let key;
  try {
    key = createPrivateKey(keyMatch[0]);
  } catch {
    throw configError('client certificate PEM PRIVATE KEY block cannot be read (encrypted keys are not supported)');
  }
  if (key.asymmetricKeyType !== 'rsa') throw configError('client certificate key must be RSA (Entra signs client assertions with RS256/PS256)');
  if (!cert.checkPrivateKey(key)) throw configError('client certificate private key does not belong to the certificate');
  return {
    certPem: certMatch[0],
    privateKeyPem: key.export({ type: 'pkcs8', format: 'pem' }).toString(),
    thumbprintSha1: createHash('sha1').update(cert.raw).digest('hex'),
    thumbprintSha256: createHash('sha256').update(cert.raw).digest('hex'),
  };
}

/** A small msal INetworkModule over node:https that can trust an extra CA and counts what it sends. */
export function createHttpsNetworkModule(opts: { caPem?: string | undefined; stats?: TokenProviderStats; timeoutMs?: number } = {}): INetworkModule {
  const agent = new HttpsAgent({ keepAlive: true, ...(opts.caPem !== undefined ? { ca: [...rootCertificates, opts.caPem] } : {}) });
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const send = <T>(method: 'GET' | 'POST', url: string, options: NetworkRequestOptions | undefined, timeout?: number): Promise<NetworkResponse<T>> =>
    new Promise((resolve, reject) => {
      const u = new URL(url);
      if (u.protocol !== 'https:') {
        reject(new Error(`refusing non-HTTPS authority URL ${u.origin}`));
        return;
      }
      const body = options?.body;
      const headers: Record<string, string> = { ...options?.headers };
      if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
      if (opts.stats) {
        if (method === 'POST') opts.stats.tokenRequests += 1;
        else opts.stats.metadataRequests += 1;
      }
      const req = httpsRequest(u, { method, headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = {};
          if (text.length > 0) {
            try {
              parsed = JSON.parse(text);
            } catch {
              parsed = { error: 'invalid_response', error_description: `non-JSON body from ${u.origin}${u.pathname}` };
            }
          }
          const outHeaders: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) outHeaders[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
          resolve({ headers: outHeaders, body: parsed as T, status: res.statusCode ?? 0 });
        });
      });
      req.setTimeout(timeout ?? timeoutMs, () => req.destroy(new Error(`no answer from ${u.origin} within ${timeout ?? timeoutMs} ms`)));
      req.on('error', reject);
      req.end(body);
    });
  return {
    sendGetRequestAsync: <T>(url: string, options?: NetworkRequestOptions, timeout?: number) => send<T>('GET', url, options, timeout),
    sendPostRequestAsync: <T>(url: string, options?: NetworkRequestOptions) => send<T>('POST', url, options),
  };
}

/** Entra-layout endpoint metadata for `${authorityUrl}/${tenantId}`, as msal's authorityMetadata wants it. */
export function conventionAuthorityMetadata(authorityUrl: string, tenantId: string): Record<string, string> {
  const authority = `${authorityUrl.replace(/\/+$/, '')}/${tenantId}`;
  return {
    token_endpoint: `${authority}/oauth2/v2.0/token`,
    authorization_endpoint: `${authority}/oauth2/v2.0/authorize`,
    end_session_endpoint: `${authority}/oauth2/v2.0/logout`,
    issuer: `${authority}/v2.0`,
    jwks_uri: `${authority}/discovery/v2.0/keys`,
  };
}

interface AppEntry {
  app: ConfidentialClientApplication;
  stats: TokenProviderStats;
  /** The acquisition in progress, shared by every provider of this app. */
  inflight: Promise<string> | undefined;
}

const apps = new Map<string, Promise<AppEntry>>();

function cacheKey(o: TokenProviderOptions): string {
  const h = (s: string | undefined): string => (s === undefined ? '' : createHash('sha256').update(s).digest('hex'));
  return JSON.stringify([o.tenantId, o.clientId, h(o.clientSecret), h(o.clientCertPem), o.authorityUrl, o.graphUrl, h(o.caPem), o.metadata ?? 'convention']);
}

async function buildApp(o: TokenProviderOptions, logger: Logger): Promise<AppEntry> {
  const stats: TokenProviderStats = { tokenRequests: 0, metadataRequests: 0 };
  const networkClient = createHttpsNetworkModule({ caPem: o.caPem, stats });
  const authorityBase = o.authorityUrl.replace(/\/+$/, '');
  let authorityUrl: URL;
  try {
    authorityUrl = new URL(authorityBase);
  } catch {
    throw new MediabotError('MEDIABOT_CONFIG_INVALID', `authority URL ${JSON.stringify(o.authorityUrl)} is not a URL`, { variable: 'MEDIABOT_AUTHORITY_URL' });
  }
  if (authorityUrl.protocol !== 'https:') {
    throw new MediabotError('MEDIABOT_CONFIG_INVALID', 'authority URL must be https (msal refuses http authorities)', { variable: 'MEDIABOT_AUTHORITY_URL' });
  }
  const authority = `${authorityBase}/${o.tenantId}`;
  const auth: Configuration['auth'] = { clientId: o.clientId, authority };

  if (!MICROSOFT_AUTHORITY_HOSTS.has(authorityUrl.hostname)) {
    const host = authorityUrl.host; // includes the port, as msal compares it
    let metadata: Record<string, string>;
    if (o.metadata === 'discover') {
      const res = await networkClient.sendGetRequestAsync<Record<string, unknown>>(`${authority}/v2.0/.well-known/openid-configuration`);
      const b = res.body;
      const need = ['token_endpoint', 'issuer', 'authorization_endpoint', 'jwks_uri'] as const;
      if (res.status !== 200 || need.some((k) => typeof b[k] !== 'string')) {
        throw new GraphError('MEDIABOT_GRAPH_AUTH', `openid-configuration at ${authority} is unusable (status ${res.status})`, { status: res.status, retryable: res.status >= 500 });
      }
      metadata = {
        token_endpoint: b.token_endpoint as string,
        issuer: b.issuer as string,
        authorization_endpoint: b.authorization_endpoint as string,
        jwks_uri: b.jwks_uri as string,
        end_session_endpoint: typeof b.end_session_endpoint === 'string' ? b.end_session_endpoint : `${authority}/oauth2/v2.0/logout`,
      };
    } else {
      metadata = conventionAuthorityMetadata(authorityBase, o.tenantId);
    }
    auth.knownAuthorities = [host];
    auth.authorityMetadata = JSON.stringify(metadata);
    auth.cloudDiscoveryMetadata = JSON.stringify({
      tenant_discovery_endpoint: `${authority}/v2.0/.well-known/openid-configuration`,
      'api-version': '1.1',
      metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
    });
  }

  if (o.clientCertPem !== undefined) {
    const cert = parseClientCertificate(o.clientCertPem);
    auth.clientCertificate = { thumbprintSha256: cert.thumbprintSha256, privateKey: cert.privateKeyPem, x5c: cert.certPem };
  } else if (o.clientSecret !== undefined) {
    auth.clientSecret = o.clientSecret;
  } else {
    throw new MediabotError('MEDIABOT_CONFIG_INVALID', 'Graph credentials need MEDIABOT_CLIENT_SECRET or MEDIABOT_CLIENT_CERT', { variable: 'MEDIABOT_CLIENT_SECRET' });
  }

  const app = new ConfidentialClientApplication({
    auth,
    system: {
      networkClient,
      loggerOptions: {
        piiLoggingEnabled: false,
        logLevel: LogLevel.Warning,
        loggerCallback: (level, message) => {
          // msal warns about things that are normal for app-only tokens (e.g. "No client info in
          // response"): its errors are warnings here, its warnings are debug lines.
          if (level === LogLevel.Error) logger.warn({ msal: true }, message);
          else logger.debug({ msal: true }, message);
        },
      },
    },
  });
  return { app, stats, inflight: undefined };
}

/** The process-wide msal app for this configuration (created on first use, then shared). */
function appFor(o: TokenProviderOptions, logger: Logger): Promise<AppEntry> {
  const key = cacheKey(o);
  let entry = apps.get(key);
  if (!entry) {
    entry = buildApp(o, logger);
    apps.set(key, entry);
    // A failed build (bad config, unreachable discovery) must not poison the cache.
    entry.catch(() => apps.delete(key));
  }
  return entry;
}

/**
 * Token provider for Graph app-only calls. Validates the configuration eagerly (throws
 * MEDIABOT_CONFIG_INVALID on bad credentials/authority); tokens are acquired lazily.
 */
export function createTokenProvider(opts: TokenProviderOptions): TokenProvider {
  const logger = opts.logger ?? silentLogger;
  if (!opts.tenantId || !opts.clientId) {
    throw new MediabotError('MEDIABOT_CONFIG_INVALID', 'Graph credentials need MEDIABOT_TENANT_ID and MEDIABOT_CLIENT_ID', { variable: 'MEDIABOT_CLIENT_ID' });
  }
  if (opts.clientCertPem !== undefined) parseClientCertificate(opts.clientCertPem);
  else if (opts.clientSecret === undefined) {
    throw new MediabotError('MEDIABOT_CONFIG_INVALID', 'Graph credentials need MEDIABOT_CLIENT_SECRET or MEDIABOT_CLIENT_CERT', { variable: 'MEDIABOT_CLIENT_SECRET' });
  }
  const scope = `${opts.graphUrl.replace(/\/+$/, '')}/.default`;
  const used = new Map<string, TokenProviderStats>();

  const acquire = async (entry: AppEntry, forceRefresh: boolean, tenant: string): Promise<string> => {
    try {
      const result = await entry.app.acquireTokenByClientCredential({ scopes: [scope], ...(forceRefresh ? { skipCache: true } : {}) });
      if (!result?.accessToken) throw new Error('the authority returned no access token');
      return result.accessToken;
    } catch (err) {
      const e = err as { errorCode?: string; message?: string };
      const text = `${e.errorCode ? `${e.errorCode}: ` : ''}${e.message ?? String(err)}`;
      // The tenant does not exist, or the app has no service principal there (no admin consent).
      const hint = /AADSTS(90002|700016)\b/.test(text) ? `tenant ${tenant} has not consented to this app: have its admin consent (https://login.microsoftonline.com/${tenant}/adminconsent?client_id=${opts.clientId}) before serving its calls` : undefined;
      throw new GraphError('MEDIABOT_GRAPH_AUTH', `token request for ${scope} in tenant ${tenant} failed: ${text}${hint ? ` (hint: ${hint})` : ''}`, {
        retryable: false,
        attempts: 1,
        hint,
      });
    }
  };

  return {
    scope,
    get stats(): TokenProviderStats {
      const sum: TokenProviderStats = { tokenRequests: 0, metadataRequests: 0 };
      for (const s of used.values()) {
        sum.tokenRequests += s.tokenRequests;
        sum.metadataRequests += s.metadataRequests;
      }
      return sum;
    },
    get tenants(): readonly string[] {
      return [...used.keys()];
    },
    async getToken(o?: { forceRefresh?: boolean; tenantId?: string }): Promise<string> {
      const tenantId = o?.tenantId ?? opts.tenantId;
      if (!/^[A-Za-z0-9.-]{1,128}$/.test(tenantId)) throw new GraphError('MEDIABOT_GRAPH_INVALID_ARGUMENT', `tenant ${JSON.stringify(tenantId)} is not a tenant id or domain`, { retryable: false, attempts: 0 });
      const entry = await appFor(tenantId === opts.tenantId ? opts : { ...opts, tenantId }, logger);
      used.set(tenantId, entry.stats);
      if (o?.forceRefresh) return acquire(entry, true, tenantId);
      // Concurrent callers (of any provider sharing this app) share one acquisition.
      if (!entry.inflight) {
        entry.inflight = acquire(entry, false, tenantId).finally(() => {
          entry.inflight = undefined;
        });
      }
      return entry.inflight;
    },
  };
}

/** Forgets every cached msal app (tests, credential rotation). */
export function resetTokenProviders(): void {
  apps.clear();
}
