import { decodeProtectedHeader, errors as joseErrors, importJWK, jwtVerify, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { MediabotError } from '../errors.js';
import type { Logger } from '../logger.js';
import { silentLogger } from '../logger.js';
import { createFetchJson, type FetchJson } from './http-json.js';

/** Issuers Graph uses on call callbacks (as accepted by Microsoft's own samples). */
export const CALLBACK_ISSUERS = ['https://api.botframework.com', 'https://graph.microsoft.com'] as const;

export type CallbackAuthFailure =
  | 'missing_token'
  | 'malformed'
  | 'algorithm'
  | 'unknown_kid'
  | 'signature'
  | 'audience'
  | 'issuer'
  | 'expired'
  | 'not_yet_valid'
  | 'missing_tid'
  | 'keys_unavailable'
  | 'invalid';

export class CallbackAuthError extends MediabotError {
  readonly reason: CallbackAuthFailure;
  constructor(reason: CallbackAuthFailure, message: string) {
    super('MEDIABOT_CALLBACK_UNAUTHORIZED', message, { reason });
    this.reason = reason;
  }
}

export interface CallbackClaims {
  tenantId: string;
  issuer: string;
  audience: string;
  payload: JWTPayload;
}

export interface CallbackTokenValidatorOptions {
  /** URL of the OpenID configuration whose jwks_uri holds the signing keys. */
  openIdConfigUrl: string;
  /** The app's client id: the token audience. */
  audience: string;
  issuers?: readonly string[];
  /** Accept the issuer the OpenID configuration names (its `issuer` field) instead of `issuers`. */
  issuerFromConfig?: boolean;
  /** Graph's callback tokens carry the tenant (`tid`); other issuers' need not (default true). */
  requireTenantId?: boolean;
  /** The setting that holds the audience, named when it is missing (default MEDIABOT_CLIENT_ID). */
  audienceSetting?: string;
  /** Allowed clock skew in seconds, at most 300 (default 300). */
  clockToleranceSec?: number;
  /** Keys are refreshed this often (default 24 h). */
  refreshIntervalMs?: number;
  /** An unknown `kid` triggers a refetch at most this often (default 5 min). */
  unknownKidRefetchIntervalMs?: number;
  /** How to GET JSON; default node http(s), trusting `caPem` in addition to system CAs. */
  fetchJson?: FetchJson;
  caPem?: string;
  logger?: Logger;
}

const ALLOWED_ALGS = ['RS256'];

interface KeySet {
  /** The OpenID configuration's `issuer`, when it names one. */
  issuer: string | null;
  keys: Map<string, CryptoKey>;
  /** Keys without a kid, tried in turn when a token has no kid. */
  anonymous: CryptoKey[];
  fetchedAt: number;
}

/**
 * Validates the bearer JWT Graph puts on call callbacks: RS256 only, a key from
 * the OpenID configuration, issuer, audience, exp/nbf with bounded skew, and `tid`.
 * Never logs or echoes the token.
 */
export class CallbackTokenValidator {
  private keySet: KeySet | null = null;
  private inflight: Promise<KeySet> | null = null;
  private lastUnknownKidRefetch = -Infinity;
  private readonly fetchJson: FetchJson;
  private readonly issuers: string[];
  private readonly tolerance: number;
  private readonly refreshMs: number;
  private readonly unknownKidMs: number;
  private readonly log: Logger;
  /** How many times the JWKS was fetched (for metrics and tests). */
  jwksFetches = 0;

  constructor(private readonly o: CallbackTokenValidatorOptions) {
    const tol = o.clockToleranceSec ?? 300;
    if (!(tol >= 0 && tol <= 300)) throw new MediabotError('MEDIABOT_CONFIG_INVALID', 'callback token clock tolerance must be 0-300 seconds');
    if (!o.audience) throw new MediabotError('MEDIABOT_CONFIG_INVALID', `token validation needs its audience (${o.audienceSetting ?? 'MEDIABOT_CLIENT_ID'})`);
    this.tolerance = tol;
    this.issuers = [...(o.issuers ?? CALLBACK_ISSUERS)];
    this.refreshMs = o.refreshIntervalMs ?? 24 * 3600_000;
    this.unknownKidMs = o.unknownKidRefetchIntervalMs ?? 5 * 60_000;
    this.fetchJson = o.fetchJson ?? createFetchJson(o.caPem !== undefined ? { caPem: o.caPem } : {});
    this.log = o.logger ?? silentLogger;
  }

  /** True once signing keys were loaded (for readiness). */
  get hasKeys(): boolean {
    return this.keySet !== null;
  }

  /** Loads the keys now (start-up warm-up); failures are reported, not thrown. */
  async warm(): Promise<boolean> {
    try {
      await this.loadKeys(false);
      return true;
    } catch (err) {
      this.log.warn({ err: String(err) }, 'could not load callback signing keys');
      return false;
    }
  }

  /** Verifies an `Authorization` header value. Throws CallbackAuthError. */
  async verify(authorization: string | undefined): Promise<CallbackClaims> {
    if (authorization === undefined || authorization === '') throw new CallbackAuthError('missing_token', 'missing bearer token');
    const m = /^Bearer\s+([A-Za-z0-9_\-.=]+)$/i.exec(authorization.trim());
    if (!m) throw new CallbackAuthError('malformed', 'the Authorization header is not a bearer token');
    const token = m[1]!;
    let header: { alg?: string; kid?: string };
    try {
      header = decodeProtectedHeader(token);
    } catch {
      throw new CallbackAuthError('malformed', 'the bearer token is not a JWS');
    }
    if (typeof header.alg !== 'string' || !ALLOWED_ALGS.includes(header.alg)) {
      throw new CallbackAuthError('algorithm', `token algorithm ${JSON.stringify(header.alg ?? null)} is not allowed`);
    }
    const { keys: candidates, issuer } = await this.keysFor(header.kid);
    if (this.o.issuerFromConfig && issuer === null) throw new CallbackAuthError('keys_unavailable', 'the OpenID configuration names no issuer');
    let lastErr: unknown = null;
    for (const key of candidates) {
      try {
        const { payload } = await jwtVerify(token, key, {
          algorithms: ALLOWED_ALGS,
          issuer: this.o.issuerFromConfig ? issuer! : this.issuers,
          audience: this.o.audience,
          clockTolerance: this.tolerance,
          requiredClaims: ['exp'],
        });
        const tid = typeof payload.tid === 'string' ? payload.tid : '';
        if (tid === '' && this.o.requireTenantId !== false) throw new CallbackAuthError('missing_tid', 'token has no tid claim');
        return { tenantId: tid, issuer: payload.iss ?? '', audience: this.o.audience, payload };
      } catch (err) {
        lastErr = err;
        // With several anonymous keys a signature miss means "try the next key".
        if (!(err instanceof joseErrors.JWSSignatureVerificationFailed)) break;
      }
    }
    throw toAuthError(lastErr);
  }

  private async keysFor(kid: string | undefined): Promise<{ keys: CryptoKey[]; issuer: string | null }> {
    let set: KeySet;
    try {
      set = await this.loadKeys(false);
    } catch {
      throw new CallbackAuthError('keys_unavailable', 'callback signing keys are unavailable');
    }
    if (kid === undefined) {
      const all = [...set.anonymous, ...set.keys.values()];
      if (all.length === 0) throw new CallbackAuthError('unknown_kid', 'no signing keys');
      return { keys: all, issuer: set.issuer };
    }
    const k = set.keys.get(kid);
    if (k) return { keys: [k], issuer: set.issuer };
    // Keys roll over: refetch once for an unknown kid, but not more than once per interval.
    const now = Date.now();
    if (now - this.lastUnknownKidRefetch >= this.unknownKidMs) {
      this.lastUnknownKidRefetch = now;
      try {
        set = await this.loadKeys(true);
      } catch {
        throw new CallbackAuthError('keys_unavailable', 'callback signing keys are unavailable');
      }
      const again = set.keys.get(kid);
      if (again) return { keys: [again], issuer: set.issuer };
    }
    throw new CallbackAuthError('unknown_kid', 'token key id is not among the signing keys');
  }

  private async loadKeys(force: boolean): Promise<KeySet> {
    const cur = this.keySet;
    if (cur && !force && Date.now() - cur.fetchedAt < this.refreshMs) return cur;
    if (this.inflight) return this.inflight;
    this.inflight = this.fetchKeys()
      .then((set) => {
        this.keySet = set;
        return set;
      })
      .catch((err: unknown) => {
        // A failed refresh keeps serving the keys we have.
        if (cur) {
          this.log.warn({ err: String(err) }, 'refreshing callback signing keys failed; keeping the cached keys');
          return cur;
        }
        throw err;
      })
      .finally(() => {
        this.inflight = null;
      });
    return this.inflight;
  }

  private async fetchKeys(): Promise<KeySet> {
    const config = await this.fetchJson(this.o.openIdConfigUrl);
    const doc = typeof config === 'object' && config !== null ? (config as Record<string, unknown>) : {};
    const jwksUri = doc['jwks_uri'];
    const issuer = typeof doc['issuer'] === 'string' && doc['issuer'] !== '' ? doc['issuer'] : null;
    if (typeof jwksUri !== 'string') throw new Error('OpenID configuration has no jwks_uri');
    this.jwksFetches++;
    const jwks = await this.fetchJson(new URL(jwksUri, this.o.openIdConfigUrl).toString());
    const list = typeof jwks === 'object' && jwks !== null && Array.isArray((jwks as { keys?: unknown }).keys) ? (jwks as { keys: unknown[] }).keys : null;
    if (list === null) throw new Error('JWKS has no keys array');
    const keys = new Map<string, CryptoKey>();
    const anonymous: CryptoKey[] = [];
    for (const raw of list) {
      if (typeof raw !== 'object' || raw === null) continue;
      const jwk = raw as JWK;
      if (jwk.kty !== 'RSA' || (jwk.use !== undefined && jwk.use !== 'sig') || (jwk.alg !== undefined && jwk.alg !== 'RS256')) continue;
      try {
        const key = (await importJWK({ kty: 'RSA', n: jwk.n, e: jwk.e } as JWK, 'RS256')) as CryptoKey;
        if (typeof jwk.kid === 'string') keys.set(jwk.kid, key);
        else anonymous.push(key);
      } catch {
        this.log.warn({ kid: jwk.kid }, 'skipping an unusable signing key');
      }
    }
    if (keys.size === 0 && anonymous.length === 0) throw new Error('JWKS holds no usable RS256 keys');
    return { issuer, keys, anonymous, fetchedAt: Date.now() };
  }
}

function toAuthError(err: unknown): CallbackAuthError {
  if (err instanceof CallbackAuthError) return err;
  if (err instanceof joseErrors.JWTExpired) return new CallbackAuthError('expired', 'token has expired');
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    switch (err.claim) {
      case 'nbf':
        return new CallbackAuthError('not_yet_valid', 'token is not valid yet');
      case 'aud':
        return new CallbackAuthError('audience', 'token audience is not this app');
      case 'iss':
        return new CallbackAuthError('issuer', 'token issuer is not accepted');
      case 'exp':
        return new CallbackAuthError('expired', 'token has no valid expiry');
      default:
        return new CallbackAuthError('invalid', `token claim ${err.claim} is invalid`);
    }
  }
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return new CallbackAuthError('algorithm', 'token algorithm is not allowed');
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return new CallbackAuthError('signature', 'token signature is invalid');
  if (err instanceof joseErrors.JWTInvalid || err instanceof joseErrors.JWSInvalid) return new CallbackAuthError('malformed', 'token is malformed');
  return new CallbackAuthError('invalid', 'token is invalid');
}
