/**
 * Rich notifications, round trip with the emulator (which encrypts as Graph does) and every way
 * to tamper with one: the decrypted presence matches the docs' example; a rotated certificate's
 * notifications still open with the previous key; a changed byte anywhere, an unknown
 * certificate, a missing, foreign, expired or misaddressed validation token is refused, and
 * nothing of a refused item is used.
 */
import { X509Certificate } from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { generate } from 'selfsigned';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Emulator } from '../../../testing/emulator/index.js';
import { parseChangeNotifications, type ChangeNotification } from '../../../src/signaling/notifications.js';
import { CHANGE_TRACKING_APP_ID, RichNotificationDecryptor, RichNotificationReader, ValidationTokenVerifier } from '../../../src/signaling/rich-notifications.js';
import { ChangeNotificationProcessor } from '../../../src/signaling/subscriptions.js';
import { CallbackServer, CLIENT_ID, HAVE_VECTORS, TENANT, compareShape, request, startEmulator, vector } from '../emulator/helpers.js';

const USER = '66825e03-7ef5-42da-9069-724602c31f6b';

let emu: Emulator;
let hooks: CallbackServer;
let current: { cert: string; private: string };
let previous: { cert: string; private: string };
let bodyNew: any;
let bodyOld: any;

const pemOf = (k: { cert: string; private: string }): string => `${k.private}\n${k.cert}`;
const b64Cert = (k: { cert: string }): string => new X509Certificate(k.cert).raw.toString('base64');

function reader(o: { clientId?: string; tenants?: string[] } = {}): RichNotificationReader {
  return new RichNotificationReader(
    new RichNotificationDecryptor([
      { certificateId: 'cert-2', pem: pemOf(current) },
      { certificateId: 'cert-1', pem: pemOf(previous) },
    ]),
    new ValidationTokenVerifier({ clientId: o.clientId ?? CLIENT_ID, authorityUrl: emu.authorityUrl, tenants: o.tenants ?? [TENANT], caPem: emu.caPem }),
  );
}

async function subscribe(certificateId: string, cert: { cert: string }, path: string): Promise<void> {
  const res = await request(emu, 'POST', '/v1.0/subscriptions', {
    token: await emu.delegatedToken(USER),
    body: {
      changeType: 'updated',
      resource: `/communications/presences/${USER}`,
      notificationUrl: `${hooks.url}${path}`,
      includeResourceData: true,
      encryptionCertificate: b64Cert(cert),
      encryptionCertificateId: certificateId,
      clientState: 'state',
      expirationDateTime: new Date(Date.now() + 30 * 60_000).toISOString(),
    },
  });
  expect(res.status, res.text).toBe(201);
}

beforeAll(async () => {
  emu = await startEmulator();
  hooks = new CallbackServer();
  await hooks.start();
  const mk = async (cn: string) => {
    const p = await generate([{ name: 'commonName', value: cn }], { keyType: 'rsa', keySize: 2048, algorithm: 'sha256' });
    return { cert: p.cert, private: p.private };
  };
  [current, previous] = await Promise.all([mk('notifications-2026'), mk('notifications-2025')]);
  // The subscription made before the rotation still uses the old certificate.
  await subscribe('cert-1', previous, '/old');
  await subscribe('cert-2', current, '/new');
  const token = await emu.delegatedToken(USER);
  const set = await request(emu, 'POST', `/v1.0/users/${USER}/presence/setPresence`, { token, body: { sessionId: emu.clientId, availability: 'Busy', activity: 'InACall' } });
  expect(set.status).toBe(200);
  bodyNew = (await hooks.waitFor((c) => c.path === '/new')).body;
  bodyOld = (await hooks.waitFor((c) => c.path === '/old')).body;
});

afterAll(async () => {
  await emu?.close();
  await hooks?.close();
});

const clone = (b: any): any => JSON.parse(JSON.stringify(b));
const itemOf = (b: any): ChangeNotification & { rich?: any } => parseChangeNotifications(b)[0] as any;
const open = (b: any, r = reader()) => {
  const item = itemOf(b);
  return r.open(item.rich!, (item as { tenantId: string | null }).tenantId);
};

describe('rich notifications', () => {
  it('round trip: the decrypted presence is the docs example shape, with the emulator data', async () => {
    const data = (await open(bodyNew)) as Record<string, unknown>;
    expect(data).toMatchObject({ id: USER, availability: 'Busy', activity: 'InACall' });
    if (HAVE_VECTORS) expect(compareShape(vector('notification-changenotification-presence-decrypted.json'), data)).toEqual([]);
  });

  it('certificate rotation: a notification for the previous certificate still opens', async () => {
    expect(itemOf(bodyOld).rich!.encryptedContent.encryptionCertificateId).toBe('cert-1');
    expect(await open(bodyOld)).toMatchObject({ id: USER, availability: 'Busy' });
    // Once the previous key is dropped, that certificate's notifications are refused.
    const onlyNew = new RichNotificationReader(new RichNotificationDecryptor([{ certificateId: 'cert-2', pem: pemOf(current) }]), reader().tokens);
    await expect(open(bodyOld, onlyNew)).rejects.toMatchObject({ code: 'MEDIABOT_NOTIFICATION_DECRYPT_FAILED', message: expect.stringMatching(/no key for encryptionCertificateId "cert-1"/) });
  });

  const tamper: Array<[string, (b: any) => void, string, RegExp]> = [
    ['a flipped byte of data', (b) => {
      const d = Buffer.from(b.value[0].encryptedContent.data, 'base64');
      d.writeUInt8(d.readUInt8(5) ^ 0x01, 5);
      b.value[0].encryptedContent.data = d.toString('base64');
    }, 'MEDIABOT_NOTIFICATION_DECRYPT_FAILED', /dataSignature does not match/],
    ['truncated data', (b) => {
      b.value[0].encryptedContent.data = Buffer.from(b.value[0].encryptedContent.data, 'base64').subarray(16).toString('base64');
    }, 'MEDIABOT_NOTIFICATION_DECRYPT_FAILED', /dataSignature does not match/],
    ['a changed dataSignature', (b) => {
      const s = Buffer.from(b.value[0].encryptedContent.dataSignature, 'base64');
      s.writeUInt8(s.readUInt8(0) ^ 0x80, 0);
      b.value[0].encryptedContent.dataSignature = s.toString('base64');
    }, 'MEDIABOT_NOTIFICATION_DECRYPT_FAILED', /dataSignature does not match/],
    ['a changed dataKey', (b) => {
      const k = Buffer.from(b.value[0].encryptedContent.dataKey, 'base64');
      k.writeUInt8(k.readUInt8(10) ^ 0x01, 10);
      b.value[0].encryptedContent.dataKey = k.toString('base64');
    }, 'MEDIABOT_NOTIFICATION_DECRYPT_FAILED', /dataKey does not decrypt/],
    ['the dataKey of another notification (key for other data)', (b) => {
      b.value[0].encryptedContent.dataKey = bodyOld.value[0].encryptedContent.dataKey;
    }, 'MEDIABOT_NOTIFICATION_DECRYPT_FAILED', /dataKey does not decrypt|dataSignature does not match/],
    ['an unknown encryptionCertificateId', (b) => {
      b.value[0].encryptedContent.encryptionCertificateId = 'cert-9';
    }, 'MEDIABOT_NOTIFICATION_DECRYPT_FAILED', /no key for encryptionCertificateId/],
    ['another certificate id than the one the data was encrypted for', (b) => {
      b.value[0].encryptedContent.encryptionCertificateId = 'cert-1';
      delete b.value[0].encryptedContent.encryptionCertificateThumbprint;
    }, 'MEDIABOT_NOTIFICATION_DECRYPT_FAILED', /dataKey does not decrypt/],
    ['a wrong thumbprint', (b) => {
      b.value[0].encryptedContent.encryptionCertificateThumbprint = 'AB'.repeat(20);
    }, 'MEDIABOT_NOTIFICATION_DECRYPT_FAILED', /Thumbprint does not match/],
    ['data that is not base64', (b) => {
      b.value[0].encryptedContent.data = '***';
    }, 'MEDIABOT_NOTIFICATION_DECRYPT_FAILED', /not base64/],
    ['no validationTokens', (b) => {
      delete b.validationTokens;
    }, 'MEDIABOT_NOTIFICATION_TOKEN_INVALID', /no validationTokens/],
    ['a validation token with a changed payload', (b) => {
      const [h, p, s] = b.validationTokens[0].split('.');
      const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
      claims.exp += 3600;
      b.validationTokens[0] = [h, Buffer.from(JSON.stringify(claims)).toString('base64url'), s].join('.');
    }, 'MEDIABOT_NOTIFICATION_TOKEN_INVALID', /signature/],
    ['a second, bad validation token beside a good one', (b) => {
      b.validationTokens.push('not.a.jwt');
    }, 'MEDIABOT_NOTIFICATION_TOKEN_INVALID', /not a JWT|refused/],
    ['an item naming a tenant the tokens were not issued for', (b) => {
      b.value[0].tenantId = 'dddddddd-0000-4000-8000-00000000000d';
      b.value[0].organizationId = b.value[0].tenantId;
    }, 'MEDIABOT_NOTIFICATION_TOKEN_INVALID', /item's tenant/],
  ];
  for (const [name, change, code, why] of tamper) {
    it(`refuses ${name}`, async () => {
      const b = clone(bodyNew);
      change(b);
      await expect(open(b)).rejects.toMatchObject({ code, message: expect.stringMatching(why) });
    });
  }

  it('refuses tokens for another audience or from a tenant that is not accepted', async () => {
    await expect(open(bodyNew, reader({ clientId: 'another-app' }))).rejects.toMatchObject({ code: 'MEDIABOT_NOTIFICATION_TOKEN_INVALID', message: expect.stringMatching(/aud/) });
    await expect(open(bodyNew, reader({ tenants: ['eeeeeeee-0000-4000-8000-00000000000e'] }))).rejects.toMatchObject({ message: expect.stringMatching(/not an accepted tenant/) });
    expect(await open(bodyNew, reader({ tenants: ['*'] }))).toMatchObject({ id: USER });
  });

  it('checks azp, issuer and expiry of tokens signed by a trusted key', async () => {
    const { privateKey, publicKey } = await generateKeyPair('RS256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256' };
    const authority = 'https://login.example.test';
    const verifier = new ValidationTokenVerifier({ clientId: CLIENT_ID, authorityUrl: authority, tenants: [TENANT], fetchJson: async () => ({ keys: [jwk] }) });
    const now = Math.floor(Date.now() / 1000);
    const sign = (o: { azp?: string; iss?: string; exp?: number }) =>
      new SignJWT({ azp: o.azp ?? CHANGE_TRACKING_APP_ID, tid: TENANT })
        .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
        .setIssuer(o.iss ?? `${authority}/${TENANT}/v2.0`)
        .setAudience(CLIENT_ID)
        .setIssuedAt(now - 10)
        .setExpirationTime(o.exp ?? now + 600)
        .sign(privateKey);
    expect(await verifier.verifyAll([await sign({})])).toEqual([TENANT]);
    await expect(verifier.verifyAll([await sign({ azp: CLIENT_ID })])).rejects.toThrow(/azp/);
    await expect(verifier.verifyAll([await sign({ iss: `${authority}/${TENANT}/v1.0` })])).rejects.toThrow(/issuer/);
    await expect(verifier.verifyAll([await sign({ exp: now - 3600 })])).rejects.toThrow(/exp/);
  });

  it('the processor opens good items, drops tampered ones and uses nothing from them', async () => {
    const discarded: string[] = [];
    const seen: unknown[] = [];
    const processor = new ChangeNotificationProcessor({ clientState: 'state', rich: reader(), onDiscard: (r) => discarded.push(r), onPresence: (p) => seen.push(p.data) });
    const bad = clone(bodyNew);
    bad.value[0].encryptedContent.dataSignature = Buffer.alloc(32).toString('base64');
    const items = processor.authentic([...parseChangeNotifications(bodyNew), ...parseChangeNotifications(bad), ...parseChangeNotifications(bodyOld)]);
    await processor.process(items);
    expect(discarded).toEqual(['rich']);
    expect(seen).toHaveLength(2);
    for (const s of seen) expect(s).toMatchObject({ id: USER, availability: 'Busy' });
  });
});
