import { randomUUID, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CHANGE_TRACKING_APP_ID } from './rich-notifications.js';
import { decodeJwt, exportJWK, generateKeyPair, jwtVerify, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';

/** Application permissions a mediabot deployment needs; tokens carry these in `roles` by default. */
export const DEFAULT_ROLES: readonly string[] = [
  'Calls.Initiate.All',
  'Calls.InitiateGroupCall.All',
  'Calls.JoinGroupCall.All',
  'Calls.JoinGroupCallAsGuest.All',
  'Calls.AccessMedia.All',
  'OnlineMeetings.ReadWrite.All',
  'Presence.ReadWrite.All',
  'CallRecords.Read.All',
  'OnlineMeetingArtifact.Read.All',
  'OnlineMeetingTranscript.Read.All',
  'OnlineMeetingRecording.Read.All',
];

export const GRAPH_RESOURCE = 'https://graph.microsoft.com';
const TOKEN_LIFETIME_S = 3599;
const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export interface IdentityConfig {
  baseUrl: string;
  tenantId: string;
  clientId: string;
  clientSecret: string;
  roles: readonly string[];
  /** Further tenants that consented to the app (a multi-tenant app registration); tokens are issued for each. */
  otherTenants?: readonly string[];
}

/** The claims the Graph routes rely on after verifying a bearer token. */
export interface AppIdentity {
  appId: string;
  tenantId: string;
  /** Application permissions (app tokens) or delegated scopes (user tokens). */
  roles: string[];
  /** The signed-in user of a delegated token; absent for app-only tokens (no /me). */
  userId?: string;
}

/**
 * The emulator's Microsoft identity platform: a client-credentials token endpoint, OpenID metadata,
 * instance discovery and the JWKS of the access-token signing key.
 */
export class IdentityProvider {
  tokenRequests = 0;
  tokensIssued = 0;

  private constructor(
    private readonly cfg: IdentityConfig,
    private readonly privateKey: CryptoKey,
    private readonly publicKey: CryptoKey,
    private readonly publicJwk: JWK,
    private readonly kid: string,
  ) {}

  /** Generates the token-signing key pair (RS256, as Entra ID signs); start it early, it takes ~150 ms. */
  static generateKeys(): Promise<{ privateKey: CryptoKey; publicKey: CryptoKey }> {
    return generateKeyPair('RS256', { extractable: true });
  }

  static async create(cfg: IdentityConfig, keys?: { privateKey: CryptoKey; publicKey: CryptoKey }): Promise<IdentityProvider> {
    const { privateKey, publicKey } = keys ?? (await IdentityProvider.generateKeys());
    const kid = randomUUID().replace(/-/g, '');
    const jwk = { ...(await exportJWK(publicKey)), kid, use: 'sig', alg: 'RS256' };
    return new IdentityProvider(cfg, privateKey, publicKey, jwk, kid);
  }

  get issuer(): string {
    return this.issuerOf(this.cfg.tenantId);
  }

  issuerOf(tenant: string): string {
    return `${this.cfg.baseUrl}/${tenant}/v2.0`;
  }

  /** Every tenant served: the home tenant first, then the others that consented. */
  get tenants(): string[] {
    return [this.cfg.tenantId, ...(this.cfg.otherTenants ?? [])];
  }

  tokenEndpoint(tenant = this.cfg.tenantId): string {
    return `${this.cfg.baseUrl}/${tenant}/oauth2/v2.0/token`;
  }

  /** OpenID metadata; msal-node takes exactly this JSON as `authorityMetadata`. */
  openIdConfiguration(tenant = this.cfg.tenantId): Record<string, unknown> {
    const base = `${this.cfg.baseUrl}/${tenant}`;
    return {
      token_endpoint: `${base}/oauth2/v2.0/token`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      jwks_uri: `${base}/discovery/v2.0/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      issuer: `${base}/v2.0`,
      request_uri_parameter_supported: false,
      userinfo_endpoint: `${base}/openid/userinfo`,
      authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      end_session_endpoint: `${base}/oauth2/v2.0/logout`,
      claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'nbf', 'tid', 'roles', 'appid'],
      tenant_region_scope: 'EU',
      cloud_instance_name: 'microsoftonline.com',
    };
  }

  instanceDiscovery(): Record<string, unknown> {
    const host = new URL(this.cfg.baseUrl).host;
    return {
      tenant_discovery_endpoint: `${this.cfg.baseUrl}/${this.cfg.tenantId}/v2.0/.well-known/openid-configuration`,
      'api-version': '1.1',
      metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
    };
  }

  /** Verifies a Graph bearer token; returns undefined (never throws) when it is not one of ours. */
  async verify(token: string): Promise<AppIdentity | { error: string }> {
    try {
      const { payload } = await jwtVerify(token, this.publicKey, {
        issuer: this.tenants.map((t) => this.issuerOf(t)),
        audience: [GRAPH_RESOURCE, this.cfg.baseUrl],
        algorithms: ['RS256'],
        clockTolerance: 300,
      });
      const appId = typeof payload['appid'] === 'string' ? payload['appid'] : '';
      const tid = typeof payload['tid'] === 'string' ? payload['tid'] : '';
      if (payload['idtyp'] === 'user' && typeof payload['oid'] === 'string' && typeof payload['scp'] === 'string') {
        return { appId, tenantId: tid, roles: payload['scp'].split(' ').filter((s) => s.length > 0), userId: payload['oid'] };
      }
      const roles = Array.isArray(payload['roles']) ? payload['roles'].filter((r): r is string => typeof r === 'string') : [];
      return { appId, tenantId: tid, roles };
    } catch (err) {
      return { error: err instanceof Error ? err.message : String(err) };
    }
  }

  register(app: FastifyInstance): void {
    app.get('/common/discovery/instance', async () => this.instanceDiscovery());
    app.get('/:tenant/discovery/instance', async () => this.instanceDiscovery());
    app.get<{ Params: { tenant: string } }>('/:tenant/v2.0/.well-known/openid-configuration', async (req) =>
      this.openIdConfiguration(req.params.tenant === 'common' ? this.cfg.tenantId : req.params.tenant),
    );
    app.get('/:tenant/discovery/v2.0/keys', async () => ({ keys: [this.publicJwk] }));
    app.post<{ Params: { tenant: string } }>('/:tenant/oauth2/v2.0/token', (req, reply) => this.token(req, reply));
  }

  private aadError(reply: FastifyReply, status: number, error: string, aadsts: number, description: string): FastifyReply {
    const traceId = randomUUID();
    return reply.code(status).send({
      error,
      error_description: `AADSTS${aadsts}: ${description} Trace ID: ${traceId} Correlation ID: ${randomUUID()} Timestamp: ${new Date().toISOString()}`,
      error_codes: [aadsts],
      timestamp: new Date().toISOString().replace('T', ' ').slice(0, 19) + 'Z',
      trace_id: traceId,
      correlation_id: randomUUID(),
    });
  }

  private async token(req: FastifyRequest<{ Params: { tenant: string } }>, reply: FastifyReply): Promise<FastifyReply> {
    this.tokenRequests += 1;
    const body = req.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      return this.aadError(reply, 400, 'invalid_request', 900144, "The request body must contain the following parameter: 'grant_type'.");
    }
    const form = body as Record<string, unknown>;
    const field = (k: string): string | undefined => (typeof form[k] === 'string' ? (form[k] as string) : undefined);
    if (!this.tenants.includes(req.params.tenant)) {
      return this.aadError(reply, 400, 'invalid_request', 90002, `Tenant '${req.params.tenant}' not found.`);
    }
    const grant = field('grant_type');
    if (grant !== 'client_credentials') {
      return this.aadError(reply, 400, 'unsupported_grant_type', 70003, 'The app requested an unsupported grant type.');
    }
    const clientId = field('client_id');
    if (clientId === undefined) {
      return this.aadError(reply, 400, 'invalid_request', 900144, "The request body must contain the following parameter: 'client_id'.");
    }
    if (clientId !== this.cfg.clientId) {
      return this.aadError(reply, 400, 'unauthorized_client', 700016, `Application with identifier '${clientId}' was not found in the directory.`);
    }
    const scope = field('scope') ?? '';
    const resource = scope
      .split(/\s+/)
      .filter((s) => s.endsWith('/.default'))
      .map((s) => s.slice(0, -'/.default'.length))[0];
    if (resource === undefined || (resource !== GRAPH_RESOURCE && resource !== this.cfg.baseUrl)) {
      return this.aadError(reply, 400, 'invalid_scope', 1002012, `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier.`);
    }
    const secret = field('client_secret');
    const assertion = field('client_assertion');
    if (secret !== undefined) {
      if (!sameSecret(secret, this.cfg.clientSecret)) {
        return this.aadError(reply, 401, 'invalid_client', 7000215, 'Invalid client secret provided.');
      }
    } else if (assertion !== undefined) {
      const problem = this.checkAssertion(assertion, field('client_assertion_type'), req.params.tenant);
      if (problem !== undefined) return this.aadError(reply, 401, 'invalid_client', 700027, problem);
    } else {
      return this.aadError(reply, 401, 'invalid_client', 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.");
    }
    const accessToken = await this.issue(resource, req.params.tenant);
    this.tokensIssued += 1;
    return reply.code(200).header('cache-control', 'no-store, no-cache').send({
      token_type: 'Bearer',
      expires_in: TOKEN_LIFETIME_S,
      ext_expires_in: TOKEN_LIFETIME_S,
      access_token: accessToken,
    });
  }

  /**
   * A certificate credential's assertion. The emulator has no registered certificate to check the
   * signature against, so it checks the claims Entra ID checks: iss = sub = client id, aud = the
   * token endpoint, and a live exp.
   */
  private checkAssertion(assertion: string, type: string | undefined, tenant: string): string | undefined {
    if (type !== CLIENT_ASSERTION_TYPE) return `client_assertion_type must be ${CLIENT_ASSERTION_TYPE}.`;
    let claims: JWTPayload;
    try {
      claims = decodeJwt(assertion);
    } catch {
      return 'Client assertion is not a valid JWT.';
    }
    if (claims.iss !== this.cfg.clientId || claims.sub !== this.cfg.clientId) return 'Client assertion iss and sub must be the client id.';
    const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    const accepted = [this.tokenEndpoint(tenant), `${this.cfg.baseUrl}/${tenant}/v2.0`, `${this.cfg.baseUrl}/${tenant}/oauth2/token`];
    if (!aud.some((a) => typeof a === 'string' && accepted.includes(a))) return 'Client assertion audience is invalid.';
    if (typeof claims.exp !== 'number' || claims.exp * 1000 < Date.now() - 300_000) return 'Client assertion is expired.';
    return undefined;
  }

  /** A validation token for rich change notifications: aud = the app, azp = Graph change tracking. */
  async issueValidationToken(tenant = this.cfg.tenantId): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ azp: CHANGE_TRACKING_APP_ID, tid: tenant, ver: '2.0' })
      .setProtectedHeader({ alg: 'RS256', kid: this.kid, typ: 'JWT' })
      .setIssuer(this.issuerOf(tenant))
      .setAudience(this.cfg.clientId)
      .setIssuedAt(now)
      .setNotBefore(now - 5)
      .setExpirationTime(now + 3600)
      .sign(this.privateKey);
  }

  /**
   * A delegated (user) token, as a signed-in user's app would hold: `scp` instead of `roles`, the
   * user's `oid`. The emulator has no interactive sign-in; the control API mints these for tests.
   */
  async issueDelegated(userId: string, scopes: readonly string[], tenant = this.cfg.tenantId): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ appid: this.cfg.clientId, azp: this.cfg.clientId, idtyp: 'user', oid: userId, scp: scopes.join(' '), tid: tenant, ver: '2.0' })
      .setProtectedHeader({ alg: 'RS256', kid: this.kid, typ: 'JWT' })
      .setIssuer(this.issuerOf(tenant))
      .setSubject(userId)
      .setAudience(GRAPH_RESOURCE)
      .setIssuedAt(now)
      .setNotBefore(now - 5)
      .setExpirationTime(now + TOKEN_LIFETIME_S)
      .setJti(randomUUID())
      .sign(this.privateKey);
  }

  async issue(audience: string, tenant = this.cfg.tenantId): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({
      appid: this.cfg.clientId,
      azp: this.cfg.clientId,
      idtyp: 'app',
      oid: this.cfg.clientId,
      roles: [...this.cfg.roles],
      tid: tenant,
      ver: '2.0',
    })
      .setProtectedHeader({ alg: 'RS256', kid: this.kid, typ: 'JWT' })
      .setIssuer(this.issuerOf(tenant))
      .setSubject(this.cfg.clientId)
      .setAudience(audience)
      .setIssuedAt(now)
      .setNotBefore(now - 5)
      .setExpirationTime(now + TOKEN_LIFETIME_S)
      .setJti(randomUUID())
      .sign(this.privateKey);
  }
}

function sameSecret(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}
