import https from 'node:https';
import { ConfidentialClientApplication, type INetworkModule, type NetworkRequestOptions, type NetworkResponse } from '@azure/msal-node';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Emulator } from '../../../testing/emulator/index.js';
import { CLIENT_ID, CLIENT_SECRET, CallbackServer, TENANT, getToken, isCallState, request, startEmulator } from './helpers.js';

/** msal's network client over node:https, trusting the emulator's CA. */
function caNetworkClient(caPem: string): INetworkModule {
  const send = <T>(method: 'GET' | 'POST', url: string, options?: NetworkRequestOptions): Promise<NetworkResponse<T>> =>
    new Promise((resolve, reject) => {
      const req = https.request(url, { method, ca: caPem, headers: options?.headers ?? {} }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') headers[k] = v;
          resolve({ status: res.statusCode ?? 0, headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as T });
        });
      });
      req.on('error', reject);
      if (options?.body) req.write(options.body);
      req.end();
    });
  return {
    sendGetRequestAsync: (url, options) => send('GET', url, options),
    sendPostRequestAsync: (url, options) => send('POST', url, options),
  };
}

function msalApp(emu: Emulator, secret = CLIENT_SECRET): ConfidentialClientApplication {
  return new ConfidentialClientApplication({
    auth: {
      clientId: CLIENT_ID,
      clientSecret: secret,
      authority: `${emu.authorityUrl}/${TENANT}`,
      knownAuthorities: [emu.knownAuthority],
      authorityMetadata: emu.authorityMetadata,
    },
    system: { networkClient: caNetworkClient(emu.caPem) },
  });
}

describe('emulator identity and callback signing', () => {
  let emu: Emulator;
  let cb: CallbackServer;

  beforeAll(async () => {
    emu = await startEmulator();
    cb = new CallbackServer();
    await cb.start();
  });
  afterAll(async () => {
    await emu?.close();
    await cb?.close();
  });

  it('serves tokens to a real msal-node ConfidentialClientApplication, which caches them', async () => {
    const app = msalApp(emu);
    const before = emu.stats().tokenRequests;
    const scopes = ['https://graph.microsoft.com/.default'];
    const first = await app.acquireTokenByClientCredential({ scopes });
    expect(first?.accessToken).toBeTruthy();
    await app.acquireTokenByClientCredential({ scopes });
    await app.acquireTokenByClientCredential({ scopes });
    expect(emu.stats().tokenRequests - before).toBe(1);
    // The token works on Graph and carries the default application roles.
    const res = await request(emu, 'GET', '/v1.0/communications/callRecords', { token: first!.accessToken });
    expect(res.status).toBe(200);
    const claims = JSON.parse(Buffer.from(first!.accessToken.split('.')[1]!, 'base64url').toString('utf8'));
    expect(claims.roles).toEqual(expect.arrayContaining(['Calls.JoinGroupCall.All', 'Calls.AccessMedia.All', 'CallRecords.Read.All']));
    expect(claims.tid).toBe(TENANT);
  });

  it('rejects a wrong client secret (msal surfaces invalid_client)', async () => {
    await expect(msalApp(emu, 'wrong').acquireTokenByClientCredential({ scopes: ['https://graph.microsoft.com/.default'] })).rejects.toThrow(/invalid_client|7000215/);
  });

  it('accepts a client_assertion for the token endpoint and rejects a malformed one', async () => {
    const now = Math.floor(Date.now() / 1000);
    const b64 = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url');
    const assertion = `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64({ iss: CLIENT_ID, sub: CLIENT_ID, aud: `${emu.baseUrl}/${TENANT}/oauth2/v2.0/token`, exp: now + 600, nbf: now, jti: 'x' })}.sig`;
    const form = { grant_type: 'client_credentials', client_id: CLIENT_ID, scope: 'https://graph.microsoft.com/.default', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer' };
    const ok = await request(emu, 'POST', `/${TENANT}/oauth2/v2.0/token`, { form: { ...form, client_assertion: assertion } });
    expect(ok.status).toBe(200);
    const bad = await request(emu, 'POST', `/${TENANT}/oauth2/v2.0/token`, { form: { ...form, client_assertion: 'not-a-jwt' } });
    expect(bad.status).toBe(401);
    expect(bad.body.error).toBe('invalid_client');
  });

  it('serves OpenID metadata and instance discovery', async () => {
    const oidc = await request(emu, 'GET', `/${TENANT}/v2.0/.well-known/openid-configuration`);
    expect(oidc.body.token_endpoint).toBe(`${emu.baseUrl}/${TENANT}/oauth2/v2.0/token`);
    expect(JSON.parse(emu.authorityMetadata).token_endpoint).toBe(oidc.body.token_endpoint);
    const disco = await request(emu, 'GET', '/common/discovery/instance?api-version=1.1');
    expect(disco.body.tenant_discovery_endpoint).toContain('/.well-known/openid-configuration');
  });

  it('the control API needs the per-process control token; a Graph token or none is refused', async () => {
    expect(emu.controlToken).toMatch(/^[A-Za-z0-9_-]{32}$/);
    const graphToken = await getToken(emu);
    const before = emu.stats().calls.active;
    const refused = [
      await request(emu, 'POST', '/_emulator/incomingCalls', { headers: { authorization: '' }, body: { callbackUri: cb.url } }),
      await request(emu, 'POST', '/_emulator/incomingCalls', { token: graphToken, body: { callbackUri: cb.url } }),
      await request(emu, 'GET', '/_emulator/stats', { token: `${emu.controlToken}x` }),
      await request(emu, 'GET', '/_emulator/calls', { token: 'x' }),
    ];
    for (const r of refused) {
      expect(r.status).toBe(401);
      expect(r.body.error.code).toBe('InvalidAuthenticationToken');
    }
    expect(emu.stats().calls.active).toBe(before);
    const ok = await request(emu, 'GET', '/_emulator/stats', { token: emu.controlToken });
    expect(ok.status).toBe(200);
    // The OpenID configuration for callback tokens stays public.
    expect((await request(emu, 'GET', '/callback/keys')).status).toBe(200);
  });

  it('Graph answers 401 InvalidAuthenticationToken without or with a forged token, and echoes client-request-id', async () => {
    const none = await request(emu, 'GET', '/v1.0/communications/callRecords', { headers: { 'client-request-id': 'abc-123' } });
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe('InvalidAuthenticationToken');
    expect(none.headers['client-request-id']).toBe('abc-123');
    expect(none.body.error.innerError['client-request-id']).toBe('abc-123');
    expect(none.headers['request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const token = await getToken(emu);
    const [h, p] = token.split('.');
    const forged = await request(emu, 'GET', '/v1.0/communications/callRecords', { token: `${h}.${p}.AAAA` });
    expect(forged.status).toBe(401);
  });

  it('Graph answers 403 when the token lacks the needed role', async () => {
    const limited = await startEmulator({ roles: ['Presence.ReadWrite.All'] });
    try {
      const token = await getToken(limited);
      const res = await request(limited, 'GET', '/v1.0/communications/callRecords', { token });
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('Forbidden');
      const call = await request(limited, 'POST', '/v1.0/communications/calls', {
        token,
        body: { callbackUri: `${cb.url}/x`, requestedModalities: ['audio'], mediaConfig: { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' }, targets: [{ identity: { user: { id: 'u1' } } }] },
      });
      expect(call.status).toBe(403);
      expect((await request(limited, 'GET', `/v1.0/users/u1/presence`, { token })).status).toBe(200);
    } finally {
      await limited.close();
    }
  });

  it('400 BadRequest for malformed JSON and invalid bodies, and nothing is created', async () => {
    const token = await getToken(emu);
    const before = emu.stats().calls.active;
    const broken = await request(emu, 'POST', '/v1.0/communications/calls', { token, body: '{"callbackUri": ' });
    expect(broken.status).toBe(400);
    expect(broken.body.error.code).toBe('BadRequest');
    const noTargets = await request(emu, 'POST', '/v1.0/communications/calls', { token, body: { callbackUri: `${cb.url}/x`, requestedModalities: ['audio'], mediaConfig: { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' } } });
    expect(noTargets.status).toBe(400);
    expect(emu.stats().calls.active).toBe(before);
  });

  it('each notification carries an RS256 JWT that verifies against the callback JWKS with iss, aud and tid', async () => {
    const token = await getToken(emu);
    const res = await request(emu, 'POST', '/v1.0/communications/calls', {
      token,
      body: { callbackUri: `${cb.url}/api/calling`, requestedModalities: ['audio'], mediaConfig: { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' }, targets: [{ identity: { user: { id: 'u1', displayName: 'John' } } }] },
    });
    expect(res.status).toBe(201);
    const note = await cb.waitFor(isCallState(res.body.id, 'established'));
    const auth = String(note.headers.authorization);
    expect(auth).toMatch(/^Bearer /);
    const oidc = await request(emu, 'GET', new URL(emu.callbackOpenIdUrl).pathname);
    const jwksUrl = new URL(oidc.body.jwks_uri);
    const jwksRes = await request(emu, 'GET', jwksUrl.pathname);
    expect(jwksRes.body.keys[0].kid).toBeTruthy();
    // Fetched from the jwks_uri over HTTPS trusting the emulator CA, then used as a local key set.
    const jwks = createLocalJWKSet(jwksRes.body);
    const { payload, protectedHeader } = await jwtVerify(auth.slice(7), jwks, { issuer: 'https://api.botframework.com', audience: CLIENT_ID });
    expect(protectedHeader.alg).toBe('RS256');
    expect(payload['tid']).toBe(TENANT);
    expect(typeof payload.nbf).toBe('number');
    expect(payload.exp! - payload.iat!).toBeGreaterThan(0);
    await expect(jwtVerify(auth.slice(7), jwks, { issuer: 'https://api.botframework.com', audience: 'someone-else' })).rejects.toThrow();
    await request(emu, 'DELETE', `/v1.0/communications/calls/${res.body.id}`, { token });
  });
});
