/**
 * Rich change notifications (subscriptions with includeResourceData): the resource arrives in
 * `encryptedContent`, and the body carries `validationTokens` proving Graph sent it.
 *
 * Decryption, in this order (nothing from the payload is used before the HMAC matched):
 *  1. pick the private key by `encryptionCertificateId` (the current and the previous certificate
 *     are both accepted, so rotating the certificate loses no notification in flight);
 *  2. RSA-OAEP (SHA-1) decrypts `dataKey` into the 32-byte symmetric key;
 *  3. HMAC-SHA256 of the base64-decoded `data` under that key must equal `dataSignature`
 *     (compared in constant time);
 *  4. AES-256-CBC (PKCS7, IV = the key's first 16 bytes) decrypts `data` into the resource JSON.
 *
 * Validation tokens (jose): RS256 JWTs signed by a key of the identity platform's JWKS, `aud` =
 * this app's client id, `azp` = Graph change tracking, `iss` = `${authority}/${tid}/v2.0` with
 * `tid` one of the accepted tenants, not expired. Every token of a body must be valid.
 */
import { X509Certificate, constants, createDecipheriv, createHash, createHmac, createPrivateKey, privateDecrypt, timingSafeEqual, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { MediabotError } from '../errors.js';
import { createFetchJson, type FetchJson } from './http-json.js';

/** Graph's change-tracking application: the `azp` of every validation token. */
export const CHANGE_TRACKING_APP_ID = '0bf30f3b-4a52-48df-9a82-234910c4a086';

export interface NotificationKey {
  /** The encryptionCertificateId given when subscribing. */
  certificateId: string;
  /** PEM (or a path to one) holding the RSA private key, optionally with its certificate. */
  pem: string;
}

interface LoadedKey {
  id: string;
  key: KeyObject;
  /** Upper-case hex SHA-1 of the certificate, when the PEM holds it. */
  thumbprint: string | undefined;
}

const decryptError = (why: string): MediabotError => new MediabotError('MEDIABOT_NOTIFICATION_DECRYPT_FAILED', `rich notification not decrypted: ${why}`);

function loadKey(k: NotificationKey, variable: string): LoadedKey {
  let pem = k.pem;
  if (!pem.includes('-----BEGIN')) {
    try {
      pem = readFileSync(pem, 'utf8');
    } catch {
      throw new MediabotError('MEDIABOT_CONFIG_INVALID', `${variable} is neither PEM text nor a readable file`, { variable });
    }
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(/-----BEGIN (?:RSA |ENCRYPTED )?PRIVATE KEY-----[\s\S]+?-----END (?:RSA |ENCRYPTED )?PRIVATE KEY-----/.exec(pem)?.[0] ?? pem);
  } catch {
    throw new MediabotError('MEDIABOT_CONFIG_INVALID', `${variable} holds no readable private key`, { variable });
  }
  if (key.asymmetricKeyType !== 'rsa') throw new MediabotError('MEDIABOT_CONFIG_INVALID', `${variable} must be an RSA key (Graph encrypts with RSA-OAEP)`, { variable });
  const certPem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem)?.[0];
  let thumbprint: string | undefined;
  if (certPem !== undefined) {
    const cert = new X509Certificate(certPem);
    if (!cert.checkPrivateKey(key)) throw new MediabotError('MEDIABOT_CONFIG_INVALID', `${variable}: the private key does not belong to the certificate`, { variable });
    thumbprint = createHash('sha1').update(cert.raw).digest('hex').toUpperCase();
  }
  return { id: k.certificateId, key, thumbprint };
}

function b64(name: string, v: unknown): Buffer {
  if (typeof v !== 'string' || v.length === 0 || !/^[A-Za-z0-9+/=\s]+$/.test(v)) throw decryptError(`${name} is not base64`);
  return Buffer.from(v, 'base64');
}

/** Decrypts encryptedContent with the configured keys (current first, then previous). */
export class RichNotificationDecryptor {
  private readonly keys = new Map<string, LoadedKey>();

  constructor(keys: readonly NotificationKey[]) {
    keys.forEach((k, i) => {
      if (!k.certificateId) throw new MediabotError('MEDIABOT_CONFIG_INVALID', 'a notification key needs its certificate id', { variable: 'MEDIABOT_NOTIFICATION_CERT_ID' });
      this.keys.set(k.certificateId, loadKey(k, i === 0 ? 'MEDIABOT_NOTIFICATION_KEY' : 'MEDIABOT_NOTIFICATION_PREVIOUS_KEY'));
    });
  }

  get certificateIds(): string[] {
    return [...this.keys.keys()];
  }

  decrypt(encryptedContent: unknown): unknown {
    if (typeof encryptedContent !== 'object' || encryptedContent === null) throw decryptError('encryptedContent is not an object');
    const e = encryptedContent as Record<string, unknown>;
    const id = e['encryptionCertificateId'];
    if (typeof id !== 'string') throw decryptError('encryptionCertificateId is missing');
    const k = this.keys.get(id);
    if (!k) throw decryptError(`no key for encryptionCertificateId ${JSON.stringify(id.slice(0, 64))} (configured: ${this.certificateIds.join(', ')})`);
    const thumb = e['encryptionCertificateThumbprint'];
    if (k.thumbprint !== undefined && typeof thumb === 'string' && thumb.toUpperCase() !== k.thumbprint) throw decryptError('encryptionCertificateThumbprint does not match the certificate');
    const data = b64('data', e['data']);
    const signature = b64('dataSignature', e['dataSignature']);
    let symmetric: Buffer;
    try {
      symmetric = privateDecrypt({ key: k.key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, b64('dataKey', e['dataKey']));
    } catch (err) {
      if (err instanceof MediabotError) throw err;
      throw decryptError('dataKey does not decrypt with this certificate\'s key');
    }
    if (symmetric.length !== 32) throw decryptError('the symmetric key is not 256 bits');
    const expected = createHmac('sha256', symmetric).update(data).digest();
    if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) throw decryptError('dataSignature does not match the data (tampered or wrong key)');
    let plain: Buffer;
    try {
      const d = createDecipheriv('aes-256-cbc', symmetric, symmetric.subarray(0, 16));
      plain = Buffer.concat([d.update(data), d.final()]);
    } catch {
      throw decryptError('data does not decrypt');
    }
    try {
      return JSON.parse(plain.toString('utf8')) as unknown;
    } catch {
      throw decryptError('decrypted data is not JSON');
    }
  }
}

export interface ValidationTokenOptions {
  /** The app's client id: the tokens' audience. */
  clientId: string;
  /** e.g. https://login.microsoftonline.com (MEDIABOT_AUTHORITY_URL): issuers are `${authority}/${tid}/v2.0`. */
  authorityUrl: string;
  /** Accepted tenants; empty or `*`: any tenant. */
  tenants: readonly string[];
  /** JWKS URL; default `${authority}/common/discovery/v2.0/keys`. */
  jwksUrl?: string;
  caPem?: string;
  fetchJson?: FetchJson;
  /** An unknown `kid` refetches the keys at most this often (default 5 min). */
  refetchIntervalMs?: number;
}

const tokenError = (why: string): MediabotError => new MediabotError('MEDIABOT_NOTIFICATION_TOKEN_INVALID', `rich notification validation token refused: ${why}`);

export class ValidationTokenVerifier {
  private jwks: JSONWebKeySet | undefined;
  private fetchedAt = 0;
  private readonly fetchJson: FetchJson;
  private readonly authority: string;
  private readonly tenants: Set<string>;
  /** Tokens already verified, until their expiry (a body's tokens repeat on every item). */
  private readonly verified = new Map<string, number>();

  constructor(private readonly o: ValidationTokenOptions) {
    this.authority = o.authorityUrl.replace(/\/+$/, '');
    this.fetchJson = o.fetchJson ?? createFetchJson(o.caPem !== undefined ? { caPem: o.caPem } : {});
    this.tenants = new Set(o.tenants.includes('*') ? [] : o.tenants.map((t) => t.toLowerCase()));
  }

  private async keys(kid: string | undefined): Promise<JSONWebKeySet> {
    const known = this.jwks?.keys.some((k) => k.kid === kid) ?? false;
    const stale = Date.now() - this.fetchedAt > (this.o.refetchIntervalMs ?? 5 * 60_000);
    if (!this.jwks || (!known && stale)) {
      const body = (await this.fetchJson(this.o.jwksUrl ?? `${this.authority}/common/discovery/v2.0/keys`)) as JSONWebKeySet;
      if (!body || !Array.isArray(body.keys)) throw tokenError('the signing keys could not be loaded');
      this.jwks = body;
      this.fetchedAt = Date.now();
    }
    return this.jwks;
  }

  /** Verifies every token; resolves with their tenants, rejects (MEDIABOT_NOTIFICATION_TOKEN_INVALID) on the first bad one. */
  async verifyAll(tokens: readonly unknown[]): Promise<string[]> {
    if (!Array.isArray(tokens) || tokens.length === 0) throw tokenError('the notification carries encrypted data but no validationTokens');
    const tids: string[] = [];
    for (const t of tokens) tids.push(await this.verify(t));
    return tids;
  }

  private async verify(token: unknown): Promise<string> {
    if (typeof token !== 'string') throw tokenError('a token is not a string');
    const cached = this.verified.get(token);
    if (cached !== undefined && cached > Date.now()) return (JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { tid: string }).tid;
    let kid: string | undefined;
    try {
      kid = decodeProtectedHeader(token).kid;
    } catch {
      throw tokenError('not a JWT');
    }
    const jwks = await this.keys(kid);
    let payload;
    try {
      ({ payload } = await jwtVerify(token, createLocalJWKSet(jwks), { audience: this.o.clientId, algorithms: ['RS256'], clockTolerance: 300, requiredClaims: ['exp', 'iss', 'tid', 'azp'] }));
    } catch (err) {
      throw tokenError(err instanceof Error ? err.message : String(err));
    }
    const tid = String(payload['tid']);
    if (payload['azp'] !== CHANGE_TRACKING_APP_ID) throw tokenError(`azp is not Graph change tracking (${CHANGE_TRACKING_APP_ID})`);
    if (payload.iss !== `${this.authority}/${tid}/v2.0`) throw tokenError(`issuer ${String(payload.iss)} is not ${this.authority}/${tid}/v2.0`);
    if (this.tenants.size > 0 && !this.tenants.has(tid.toLowerCase())) throw tokenError(`tenant ${tid} is not an accepted tenant`);
    this.verified.set(token, (payload.exp ?? 0) * 1000);
    if (this.verified.size > 1000) this.verified.delete(this.verified.keys().next().value!);
    return tid;
  }
}

/** Both steps for one notification item: tokens first, then the data. */
export class RichNotificationReader {
  constructor(
    readonly decryptor: RichNotificationDecryptor,
    readonly tokens: ValidationTokenVerifier,
  ) {}

  /** The decrypted resource of an item; its tenant must be one the tokens were issued for. */
  async open(rich: { encryptedContent: unknown; validationTokens: readonly unknown[] }, itemTenant: string | null): Promise<unknown> {
    const tids = await this.tokens.verifyAll(rich.validationTokens);
    if (itemTenant !== null && !tids.some((t) => t.toLowerCase() === itemTenant.toLowerCase())) throw tokenError(`no validation token was issued for the item's tenant ${itemTenant}`);
    return this.decryptor.decrypt(rich.encryptedContent);
  }
}

/** The reader for the configured keys, or undefined when none is configured. */
export function richNotificationReaderFrom(cfg: { notificationKeys: readonly NotificationKey[]; clientId: string | undefined; authorityUrl: string; tenants: readonly string[] }, o: { caPem?: string; jwksUrl?: string } = {}): RichNotificationReader | undefined {
  if (cfg.notificationKeys.length === 0 || cfg.clientId === undefined) return undefined;
  return new RichNotificationReader(
    new RichNotificationDecryptor(cfg.notificationKeys),
    new ValidationTokenVerifier({ clientId: cfg.clientId, authorityUrl: cfg.authorityUrl, tenants: cfg.tenants, ...(o.caPem !== undefined ? { caPem: o.caPem } : {}), ...(o.jwksUrl !== undefined ? { jwksUrl: o.jwksUrl } : {}) }),
  );
}
