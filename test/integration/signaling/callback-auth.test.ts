import { createPublicKey } from 'node:crypto';
import { exportSPKI, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallbackTokenValidator } from '../../../src/signaling/jwt.js';
import { CLIENT_ID, newSigningKey, postJson, signToken, startBot, startKeyServer, eventually, type Bot, type KeyServer, type SigningKey } from './helpers.js';

const established = (callId: string) => ({
  '@odata.type': '#microsoft.graph.commsNotifications',
  value: [
    {
      '@odata.type': '#microsoft.graph.commsNotification',
      changeType: 'updated',
      resourceUrl: `/communications/calls/${callId}`,
      resourceData: { '@odata.type': '#microsoft.graph.call', state: 'established' },
    },
  ],
});

function b64url(o: unknown): string {
  return Buffer.from(JSON.stringify(o)).toString('base64url');
}

describe('POST /api/calling bearer JWT', () => {
  let key: SigningKey;
  let keys: KeyServer;
  let bot: Bot;

  beforeAll(async () => {
    key = await newSigningKey('k1');
    keys = await startKeyServer([key]);
    bot = await startBot({ openIdUrl: keys.openIdUrl });
  });
  afterAll(async () => {
    await bot.close();
    await keys.close();
  });

  async function expectRejected(token: string | null, reason: string): Promise<void> {
    const callId = `call-${reason}-${Math.random().toString(16).slice(2)}`;
    const headers: Record<string, string> = token === null ? {} : { authorization: `Bearer ${token}` };
    const res = await postJson(`${bot.baseUrl}/api/calling`, established(callId), headers);
    expect(res.status).toBe(401);
    expect(res.json).toMatchObject({ error: { code: 'MEDIABOT_CALLBACK_UNAUTHORIZED' } });
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
    await new Promise((r) => setTimeout(r, 20));
    expect(bot.signaling.registry.get(callId)).toBeUndefined();
    const metrics = await bot.metrics.registry.getSingleMetricAsString('mediabot_auth_failures_total');
    expect(metrics).toMatch(new RegExp(`endpoint="callback",reason="${reason}"\\} [1-9]`));
    if (token !== null) expect(bot.logText()).not.toContain(token);
  }

  it('accepts a valid token with 202 and processes the notification', async () => {
    const token = await signToken(key);
    const res = await postJson(`${bot.baseUrl}/api/calling`, established('call-valid'), { authorization: `Bearer ${token}` });
    expect(res.status).toBe(202);
    await eventually(() => expect(bot.signaling.registry.get('call-valid')?.state).toBe('established'));
    expect(bot.logText()).not.toContain(token);
  });

  it("accepts Graph's issuer too", async () => {
    const token = await signToken(key, { iss: 'https://graph.microsoft.com' });
    const res = await postJson(`${bot.baseUrl}/api/calling`, established('call-graph-iss'), { authorization: `Bearer ${token}` });
    expect(res.status).toBe(202);
  });

  it('rejects a missing token', async () => {
    await expectRejected(null, 'missing_token');
  });

  it('rejects a token signed by another key under a known kid', async () => {
    const other = await newSigningKey('k1');
    await expectRejected(await signToken(other), 'signature');
  });

  it('rejects alg none', async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = `${b64url({ alg: 'none', typ: 'JWT', kid: 'k1' })}.${b64url({ aud: CLIENT_ID, iss: 'https://api.botframework.com', exp: now + 600, nbf: now, tid: 't' })}.`;
    await expectRejected(token, 'algorithm');
  });

  it('rejects HS256 signed with the public key as the secret', async () => {
    const pem = await exportSPKI(key.publicKey);
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ aud: CLIENT_ID, iss: 'https://api.botframework.com', exp: now + 600, nbf: now, tid: 't' })
      .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
      .sign(new TextEncoder().encode(pem));
    expect(createPublicKey(pem).asymmetricKeyType).toBe('rsa');
    await expectRejected(token, 'algorithm');
  });

  it('rejects a wrong audience', async () => {
    await expectRejected(await signToken(key, { aud: 'someone-else' }), 'audience');
  });

  it('rejects a wrong issuer', async () => {
    await expectRejected(await signToken(key, { iss: 'https://evil.example' }), 'issuer');
  });

  it('rejects an expired token (beyond the 5 minute skew)', async () => {
    const now = Math.floor(Date.now() / 1000);
    await expectRejected(await signToken(key, { iat: now - 3600, nbf: now - 3600, exp: now - 301 - 5 }), 'expired');
  });

  it('accepts a token expired by less than the allowed skew', async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = await signToken(key, { iat: now - 3600, nbf: now - 3600, exp: now - 120 });
    expect((await postJson(`${bot.baseUrl}/api/calling`, established('call-skew'), { authorization: `Bearer ${token}` })).status).toBe(202);
  });

  it('rejects nbf in the future (beyond the skew)', async () => {
    const now = Math.floor(Date.now() / 1000);
    await expectRejected(await signToken(key, { nbf: now + 900 }), 'not_yet_valid');
  });

  it('rejects a token without tid', async () => {
    await expectRejected(await signToken(key, {}, { omit: ['tid'] }), 'missing_tid');
  });

  it('rejects a malformed header value', async () => {
    await expectRejected('not-a-jwt', 'malformed');
  });

  it('refetches the keys once for an unknown kid, then rejects without refetching again', async () => {
    const stranger = await newSigningKey('k-unknown');
    const before = keys.jwksFetches;
    await expectRejected(await signToken(stranger), 'unknown_kid');
    expect(keys.jwksFetches).toBe(before + 1);
    await expectRejected(await signToken(stranger), 'unknown_kid');
    expect(keys.jwksFetches).toBe(before + 1);
  });
});

describe('callback key rollover', () => {
  it('picks up a new key on the first token that uses it', async () => {
    const k1 = await newSigningKey('old');
    const keys = await startKeyServer([k1]);
    const bot = await startBot({ openIdUrl: keys.openIdUrl });
    try {
      expect((await postJson(`${bot.baseUrl}/api/calling`, established('a'), { authorization: `Bearer ${await signToken(k1)}` })).status).toBe(202);
      expect(keys.jwksFetches).toBe(1);
      const k2 = await newSigningKey('new');
      keys.keys.push(k2);
      expect((await postJson(`${bot.baseUrl}/api/calling`, established('b'), { authorization: `Bearer ${await signToken(k2)}` })).status).toBe(202);
      expect(keys.jwksFetches).toBe(2);
    } finally {
      await bot.close();
      await keys.close();
    }
  });

  it('answers keys_unavailable while the key endpoint is down', async () => {
    const k = await newSigningKey('k');
    const keys = await startKeyServer([k]);
    const url = keys.openIdUrl;
    await keys.close();
    const validator = new CallbackTokenValidator({ openIdConfigUrl: url, audience: CLIENT_ID });
    await expect(validator.verify(`Bearer ${await signToken(k)}`)).rejects.toMatchObject({ reason: 'keys_unavailable', code: 'MEDIABOT_CALLBACK_UNAUTHORIZED' });
    expect(validator.hasKeys).toBe(false);
  });

  it('refuses a clock tolerance above 5 minutes', () => {
    expect(() => new CallbackTokenValidator({ openIdConfigUrl: 'http://127.0.0.1:1/x', audience: CLIENT_ID, clockToleranceSec: 301 })).toThrow(/0-300/);
  });
});

describe('callback keys over HTTPS with a private CA (the emulator)', () => {
  it('trusts the CA given as caPem and nothing else', async () => {
    const { generate } = await import('selfsigned');
    const pems = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
      keySize: 2048,
      algorithm: 'sha256',
      extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }],
    });
    const k = await newSigningKey('tls');
    const keys = await startKeyServer([k], { key: pems.private, cert: pems.cert });
    try {
      expect(keys.openIdUrl.startsWith('https://')).toBe(true);
      const trusting = new CallbackTokenValidator({ openIdConfigUrl: keys.openIdUrl, audience: CLIENT_ID, caPem: pems.cert });
      await expect(trusting.verify(`Bearer ${await signToken(k)}`)).resolves.toMatchObject({ tenantId: expect.any(String) });
      const plain = new CallbackTokenValidator({ openIdConfigUrl: keys.openIdUrl, audience: CLIENT_ID });
      await expect(plain.verify(`Bearer ${await signToken(k)}`)).rejects.toMatchObject({ reason: 'keys_unavailable' });
    } finally {
      await keys.close();
    }
  });
});
