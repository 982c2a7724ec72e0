/**
 * Token acquisition through msal-node against a real local HTTPS authority (its own CA made with
 * selfsigned), with a client secret and with a certificate. The Graph side is a local HTTP server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createHash, X509Certificate } from 'node:crypto';
import { generate } from 'selfsigned';
import { decodeProtectedHeader, importX509, jwtVerify } from 'jose';
import { GraphHttp, createGraphClient, createGraphFromConfig, createTokenProvider, parseClientCertificate, type TokenProviderOptions } from '../../../src/graph/index.js';
import { MediabotError } from '../../../src/errors.js';
import { loadConfig } from '../../../src/config/config.js';
import { startRecorder, type RecorderServer } from './recorder.js';

const TENANT = '11111111-2222-4333-8444-555555555555';
const SECRET = 's3cret-value';

interface TokenRequest {
  path: string;
  form: URLSearchParams;
}

let caPem: string;
let clientCertPem: string;
let clientCertOnly: string;
let authority: Server;
let authorityUrl: string;
let graphServer: RecorderServer;
const tokenRequests: TokenRequest[] = [];
const metadataRequests: string[] = [];
let issued = 0;
let rejectAll = false;

beforeAll(async () => {
  const ca = await generate([{ name: 'commonName', value: 'mediabot test CA' }], {
    keySize: 2048,
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  caPem = ca.cert;
  const leaf = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
    keySize: 2048,
    algorithm: 'sha256',
    ca: { key: ca.private, cert: ca.cert },
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] },
    ],
  });
  const client = await generate([{ name: 'commonName', value: 'mediabot app credential' }], { keySize: 2048, algorithm: 'sha256' });
  clientCertOnly = client.cert;
  clientCertPem = `${client.cert}\n${client.private}`;

  authority = createServer({ key: leaf.private, cert: leaf.cert }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = new URL(req.url ?? '/', 'https://127.0.0.1').pathname;
      if (req.method === 'GET' && path === `/${TENANT}/v2.0/.well-known/openid-configuration`) {
        metadataRequests.push(path);
        const base = `${authorityUrl}/${TENANT}`;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            token_endpoint: `${base}/oauth2/v2.0/token`,
            issuer: `${base}/v2.0`,
            authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
            end_session_endpoint: `${base}/oauth2/v2.0/logout`,
            jwks_uri: `${base}/discovery/v2.0/keys`,
          }),
        );
        return;
      }
      if (req.method === 'POST' && path === `/${TENANT}/oauth2/v2.0/token`) {
        const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
        tokenRequests.push({ path, form });
        const okSecret = form.get('client_secret') === SECRET;
        const hasAssertion = form.get('client_assertion') !== null;
        if (rejectAll || (!okSecret && !hasAssertion)) {
          res.writeHead(401, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: 'invalid_client', error_description: 'AADSTS7000215: Invalid client secret provided.' }));
          return;
        }
        issued += 1;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: `access-${issued}` }));
        return;
      }
      res.writeHead(404);
      res.end();
    });
  });
  await new Promise<void>((resolve) => authority.listen(0, '127.0.0.1', resolve));
  authorityUrl = `https://127.0.0.1:${(authority.address() as AddressInfo).port}`;
  graphServer = await startRecorder(() => ({ status: 200, body: { id: 'call', state: 'established' } }));
});

afterAll(async () => {
  authority.closeAllConnections();
  await new Promise<void>((resolve) => authority.close(() => resolve()));
  await graphServer.close();
});

let appCounter = 0;
function options(extra: Partial<TokenProviderOptions>): TokenProviderOptions {
  appCounter += 1;
  return { tenantId: TENANT, clientId: `app-${appCounter}-${Date.now()}`, authorityUrl, graphUrl: graphServer.url, caPem, ...extra };
}

describe('createTokenProvider against a local HTTPS authority', () => {
  it('with a client secret: 1000 Graph calls in a row cost exactly one token request', async () => {
    const opts = options({ clientSecret: SECRET });
    const tokens = createTokenProvider(opts);
    const http = new GraphHttp({ graphUrl: graphServer.url, tokenProvider: tokens });
    const graph = createGraphClient(http);
    const before = tokenRequests.length;
    graphServer.requests.length = 0;
    for (let i = 0; i < 1000; i++) await graph.calls.get(`call-${i}`);
    http.close();

    expect(tokenRequests.length - before).toBe(1);
    expect(tokens.stats.tokenRequests).toBe(1);
    expect(tokens.stats.metadataRequests).toBe(0);
    const req = tokenRequests[tokenRequests.length - 1]!;
    expect(req.form.get('grant_type')).toBe('client_credentials');
    expect(req.form.get('client_id')).toBe(opts.clientId);
    expect(req.form.get('scope')).toBe(`${graphServer.url}/.default`);
    expect(graphServer.requests).toHaveLength(1000);
    const auths = new Set(graphServer.requests.map((r) => r.headers.authorization));
    expect(auths.size).toBe(1);
    expect([...auths][0]).toMatch(/^Bearer access-\d+$/);
  });

  it('shares one msal app per configuration and one acquisition among concurrent callers', async () => {
    const opts = options({ clientSecret: SECRET });
    const a = createTokenProvider(opts);
    const b = createTokenProvider(opts);
    const before = tokenRequests.length;
    const got = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).getToken()));
    expect(new Set(got).size).toBe(1);
    expect(await b.getToken()).toBe(got[0]);
    expect(tokenRequests.length - before).toBe(1);
    // forceRefresh goes to the authority again.
    const fresh = await a.getToken({ forceRefresh: true });
    expect(fresh).not.toBe(got[0]);
    expect(tokenRequests.length - before).toBe(2);
  });

  it('with a certificate: the client assertion carries x5t#S256 of the cert and verifies with its public key', async () => {
    const opts = options({ clientCertPem });
    const tokens = createTokenProvider(opts);
    const before = tokenRequests.length;
    const token = await tokens.getToken();
    expect(token).toMatch(/^access-\d+$/);
    expect(tokenRequests.length - before).toBe(1);
    const form = tokenRequests[tokenRequests.length - 1]!.form;
    expect(form.get('client_secret')).toBeNull();
    expect(form.get('client_assertion_type')).toBe('urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
    const assertion = form.get('client_assertion')!;
    const header = decodeProtectedHeader(assertion);
    const der = new X509Certificate(clientCertOnly).raw;
    expect(header['x5t#S256']).toBe(createHash('sha256').update(der).digest('base64url'));
    expect(header.alg).toBe('PS256');
    const key = await importX509(clientCertOnly, 'PS256');
    const { payload } = await jwtVerify(assertion, key, {
      audience: `${authorityUrl}/${TENANT}/oauth2/v2.0/token`,
      issuer: opts.clientId,
      // msal rounds nbf to the nearest second; an authority allows small skew too.
      clockTolerance: 5,
    });
    expect(payload.sub).toBe(opts.clientId);
    expect(typeof payload.jti).toBe('string');
  });

  it('discover mode fetches openid-configuration once, then uses its token endpoint', async () => {
    const tokens = createTokenProvider(options({ clientSecret: SECRET, metadata: 'discover' }));
    const before = metadataRequests.length;
    await tokens.getToken();
    await tokens.getToken();
    expect(metadataRequests.length - before).toBe(1);
    expect(tokens.stats).toEqual({ tokenRequests: 1, metadataRequests: 1 });
  });

  it('turns a refused credential into MEDIABOT_GRAPH_AUTH, and a Graph call into the same error without sending it', async () => {
    const tokens = createTokenProvider(options({ clientSecret: 'wrong' }));
    await expect(tokens.getToken()).rejects.toMatchObject({ code: 'MEDIABOT_GRAPH_AUTH' });
    const http = new GraphHttp({ graphUrl: graphServer.url, tokenProvider: tokens });
    graphServer.requests.length = 0;
    await expect(createGraphClient(http).calls.get('x')).rejects.toMatchObject({ code: 'MEDIABOT_GRAPH_AUTH' });
    expect(graphServer.requests).toHaveLength(0);
    http.close();
  });

  it('fails with MEDIABOT_GRAPH_AUTH when the authority CA is not trusted', async () => {
    const tokens = createTokenProvider({ ...options({ clientSecret: SECRET }), caPem: undefined });
    await expect(tokens.getToken()).rejects.toMatchObject({ code: 'MEDIABOT_GRAPH_AUTH' });
  });

  it('rejects bad configuration with MEDIABOT_CONFIG_INVALID', () => {
    const bad: Array<Partial<TokenProviderOptions>> = [
      {},
      { clientCertPem: '-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----' },
      { clientCertPem: clientCertOnly },
    ];
    for (const extra of bad) {
      let err: unknown;
      try {
        createTokenProvider(options(extra));
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(MediabotError);
      expect((err as MediabotError).code).toBe('MEDIABOT_CONFIG_INVALID');
    }
  });

  it('refuses an http authority', async () => {
    const tokens = createTokenProvider({ ...options({ clientSecret: SECRET }), authorityUrl: 'http://127.0.0.1:1' });
    await expect(tokens.getToken()).rejects.toMatchObject({ code: 'MEDIABOT_CONFIG_INVALID' });
  });

  it('parses the certificate PEM and computes both thumbprints', () => {
    const parsed = parseClientCertificate(clientCertPem);
    const der = new X509Certificate(clientCertOnly).raw;
    expect(parsed.thumbprintSha1).toBe(createHash('sha1').update(der).digest('hex'));
    expect(parsed.thumbprintSha256).toBe(createHash('sha256').update(der).digest('hex'));
    expect(parsed.privateKeyPem).toContain('-----BEGIN PRIVATE KEY-----');
  });

  it('createGraphFromConfig wires MEDIABOT_* config to a working client', async () => {
    const cfg = loadConfig({
      MEDIABOT_TENANT_ID: TENANT,
      MEDIABOT_CLIENT_ID: `from-config-${Date.now()}`,
      MEDIABOT_CLIENT_SECRET: SECRET,
      // Graph credentials make the worker reachable: config demands an API token.
      MEDIABOT_API_TOKEN: 'graph-test-api-token-0123456789abcdef',
      MEDIABOT_AUTHORITY_URL: authorityUrl,
      MEDIABOT_GRAPH_URL: graphServer.url,
    });
    const { graph, http, tokens } = createGraphFromConfig(cfg, { caPem });
    graphServer.requests.length = 0;
    await graph.calls.get('a');
    await graph.calls.get('b');
    http.close();
    expect(tokens.stats.tokenRequests).toBe(1);
    expect(graphServer.requests.map((r) => r.path)).toEqual(['/v1.0/communications/calls/a', '/v1.0/communications/calls/b']);
    expect(() => createGraphFromConfig({ ...cfg, tenantId: undefined })).toThrow(/MEDIABOT_TENANT_ID/);
  });
});
