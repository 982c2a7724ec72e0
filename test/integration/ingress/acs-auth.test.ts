import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { MediaThreadPool } from '../../../src/media/threads/pool.js';
import { AcsIngress, acsIngressPlugin } from '../../../src/ingress/acs/adapter.js';
import { acsTokenCheck } from '../../../src/calls/ingress.js';
import { silentLogger } from '../../../src/logger.js';
import { newSigningKey, signToken, startKeyServer } from '../signaling/helpers.js';
import { startServer, waitFor } from './helpers.js';

function connect(url: string, headers: Record<string, string> = {}): Promise<{ code: number; opened: boolean }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers: { 'x-ms-call-connection-id': 'auth-call', ...headers } });
    let opened = false;
    ws.on('open', () => {
      opened = true;
      setTimeout(() => ws.close(1000), 200);
    });
    ws.on('close', (code) => resolve({ code, opened }));
    ws.on('error', () => undefined);
  });
}

describe('ACS ingress limits', () => {
  it('closes a connection for a new call beyond maxCalls with 1013', async () => {
    const pool = new MediaThreadPool(1);
    const ingress = new AcsIngress({ pool, maxCalls: 1, endGraceMs: 50 });
    const s = await startServer(async (app) => app.register(acsIngressPlugin, { ingress }));
    try {
      const first = new WebSocket(`${s.ws}/media/acs`, { headers: { 'x-ms-call-connection-id': 'cap-1' } });
      await new Promise((r) => first.once('open', r));
      const code = await new Promise<number>((resolve) => {
        const second = new WebSocket(`${s.ws}/media/acs`, { headers: { 'x-ms-call-connection-id': 'cap-2' } });
        second.on('close', (c) => resolve(c));
        second.on('error', () => undefined);
      });
      expect(code).toBe(1013);
      expect(pool.hasCall('cap-2')).toBe(false);
      expect(ingress.metrics.get('acs', 'refusedOverCapacity')).toBe(1);
      first.close();
    } finally {
      await ingress.close();
      await s.app.close();
      await pool.close();
    }
  });
});

describe('ACS ingress tokens', () => {
  it('refuses a connection without the token (4401, no call) and accepts ?token= or a bearer header', async () => {
    const pool = new MediaThreadPool(1);
    const started: string[] = [];
    const ingress = new AcsIngress({ pool, tokens: ['acs-secret'], endGraceMs: 50, onCallStarted: (i) => started.push(i.callId) });
    const s = await startServer(async (app) => app.register(acsIngressPlugin, { ingress }));
    try {
      expect((await connect(`${s.ws}/media/acs`)).code).toBe(4401);
      expect((await connect(`${s.ws}/media/acs?token=wrong`)).code).toBe(4401);
      expect(started).toEqual([]);
      expect(pool.hasCall('auth-call')).toBe(false);
      expect(ingress.metrics.get('acs', 'MEDIABOT_INGRESS_UNAUTHORIZED')).toBe(2);
      expect((await connect(`${s.ws}/media/acs?token=acs-secret`)).code).toBe(1000);
      await waitFor(() => started.includes('auth-call'), 5000, 'call started');
      await waitFor(() => !pool.hasCall('auth-call'), 5000, 'call ended');
      expect((await connect(`${s.ws}/media/acs`, { authorization: 'Bearer acs-secret' })).code).toBe(1000);
    } finally {
      await ingress.close();
      await s.app.close();
      await pool.close();
    }
  });
});

describe("ACS ingress with ACS's own JWT", () => {
  const ISSUER = 'https://acs-issuer.test';
  const RESOURCE = '6f1c2a2e-8d5b-4c8e-9a61-3f0b7d2c9e10';

  it('refuses the upgrade with 401 for a missing, forged, foreign or expired token, and streams with a valid one', async () => {
    const key = await newSigningKey('acs-1');
    const forger = await newSigningKey('acs-1'); // same kid, another private key
    const keys = await startKeyServer([key], undefined, ISSUER);
    const pool = new MediaThreadPool(1);
    const started: string[] = [];
    const ingress = new AcsIngress({
      pool,
      tokens: ['api-token-not-used-by-acs'],
      verifyUpgrade: acsTokenCheck({ audience: RESOURCE, openIdUrl: keys.openIdUrl }, silentLogger),
      endGraceMs: 50,
      onCallStarted: (i) => started.push(i.callId),
    });
    const s = await startServer(async (app) => app.register(acsIngressPlugin, { ingress }));
    const upgrade = (authorization?: string): Promise<{ status: number; body: string; challenge?: string | string[] | undefined }> =>
      new Promise((resolve) => {
        const ws = new WebSocket(`${s.ws}/media/acs`, { headers: { 'x-ms-call-connection-id': 'jwt-call', ...(authorization ? { authorization } : {}) } });
        ws.on('unexpected-response', (_req, res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body, challenge: res.headers['www-authenticate'] }));
        });
        ws.on('open', () => {
          setTimeout(() => ws.close(1000), 200);
          resolve({ status: 101, body: '' });
        });
        ws.on('error', () => undefined);
      });
    const claims = { aud: RESOURCE, iss: ISSUER, tid: undefined };
    try {
      const refused = [
        await upgrade(),
        await upgrade(`Bearer ${await signToken(forger, claims)}`),
        await upgrade(`Bearer ${await signToken(key, { ...claims, aud: 'another-resource' })}`),
        await upgrade(`Bearer ${await signToken(key, { ...claims, iss: 'https://api.botframework.com' })}`),
        await upgrade(`Bearer ${await signToken(key, { ...claims, exp: Math.floor(Date.now() / 1000) - 3600 })}`),
        await upgrade('Bearer api-token-not-used-by-acs'),
      ];
      for (const r of refused) {
        expect(r.status).toBe(401);
        expect(r.challenge).toBe('Bearer');
        expect(JSON.parse(r.body).error.code).toBe('MEDIABOT_INGRESS_UNAUTHORIZED');
      }
      expect(started).toEqual([]);
      expect(pool.hasCall('jwt-call')).toBe(false);
      expect(ingress.metrics.get('acs', 'MEDIABOT_INGRESS_UNAUTHORIZED')).toBe(refused.length);

      // ACS's token, signed by the published key for this resource: the stream is taken.
      expect((await upgrade(`Bearer ${await signToken(key, claims)}`)).status).toBe(101);
      await waitFor(() => started.includes('jwt-call'), 5000, 'call started');
    } finally {
      await ingress.close();
      await s.app.close();
      await pool.close();
      await keys.close();
    }
  });
});
