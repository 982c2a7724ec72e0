/**
 * Captured callback tokens: a token of another tenant, a notification naming another tenant, the
 * same token+notification sent again, a jti moved to another call (real server on 127.0.0.1 with
 * real RS256 tokens); and, end to end against the emulator, a `terminated` forged with a token
 * captured from a real callback, which Graph does not confirm, so media is not torn down.
 */
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMediabot, type ComposedMediabot } from '../../src/app/mediabot.js';
import { silentLogger } from '../../src/logger.js';
import { buildServer } from '../../src/server/app.js';
import { createMetrics, type Metrics } from '../../src/server/metrics.js';
import { CallbackGuard } from '../../src/signaling/callback-guard.js';
import { CallbackTokenValidator } from '../../src/signaling/jwt.js';
import { createSignaling, type Signaling } from '../../src/signaling/signaling.js';
import { testConfig, until } from '../integration/app/helpers.js';
import { CLIENT_ID, TENANT_ID, newSigningKey, postJson, RecordingCallsPort, signToken, startKeyServer, type KeyServer, type SigningKey } from '../integration/signaling/helpers.js';

const rejected = async (m: Metrics, reason: string): Promise<number> => (await m.callbackRejected.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;

describe('callback tenant binding and token memory', () => {
  let key: SigningKey;
  let keys: KeyServer;
  let base: string;
  let metrics: Metrics;
  let signaling: Signaling;
  let close: () => Promise<void>;

  beforeAll(async () => {
    key = await newSigningKey('k1');
    keys = await startKeyServer([key]);
    metrics = createMetrics({ defaultMetrics: false });
    signaling = createSignaling({ calls: new RecordingCallsPort(), callbackUri: 'https://bot.example/api/calling' });
    const app = await buildServer({
      logger: silentLogger,
      metrics,
      registry: signaling.registry,
      calling: {
        auth: new CallbackTokenValidator({ openIdConfigUrl: keys.openIdUrl, audience: CLIENT_ID }),
        dispatch: (items) => signaling.dispatch(items),
        guard: new CallbackGuard({ tenants: [TENANT_ID] }),
      },
    });
    base = await app.listen({ host: '127.0.0.1', port: 0 });
    close = async () => {
      signaling.close();
      await app.close();
    };
  });
  afterAll(async () => {
    await close?.();
    await keys?.close();
  });

  const state = (callId: string, s: string) => ({ value: [{ changeType: 'updated', resourceUrl: `/communications/calls/${callId}`, resourceData: { '@odata.type': '#microsoft.graph.call', state: s } }] });

  it('refuses a token from a tenant that is not configured', async () => {
    const token = await signToken(key, { tid: '99999999-0000-0000-0000-000000000000' });
    const r = await postJson(`${base}/api/calling`, state('c-other-tenant', 'established'), { authorization: `Bearer ${token}` });
    expect(r.status).toBe(401);
    expect((r.json as { error: { code: string } }).error.code).toBe('MEDIABOT_CALLBACK_REPLAYED');
    expect(await rejected(metrics, 'tenant')).toBe(1);
    expect(signaling.registry.get('c-other-tenant')).toBeUndefined();
  });

  it("refuses a notification naming a tenant other than the token's", async () => {
    const token = await signToken(key);
    const body = { value: [{ changeType: 'created', resourceUrl: '/communications/calls/c-incoming', resourceData: { '@odata.type': '#microsoft.graph.call', state: 'incoming', direction: 'incoming', tenantId: '99999999-0000-0000-0000-000000000000' } }] };
    const r = await postJson(`${base}/api/calling`, body, { authorization: `Bearer ${token}` });
    expect(r.status).toBe(401);
    expect(await rejected(metrics, 'tenant')).toBe(2);
  });

  it('drops the same token presenting the same notification again', async () => {
    const token = await signToken(key);
    const body = state('c-replay', 'established');
    expect((await postJson(`${base}/api/calling`, body, { authorization: `Bearer ${token}` })).status).toBe(202);
    await until('applied', () => (signaling.registry.get('c-replay')?.state === 'established' ? true : undefined), 3000, 20);
    expect((await postJson(`${base}/api/calling`, body, { authorization: `Bearer ${token}` })).status).toBe(202);
    expect(await rejected(metrics, 'replay')).toBe(1);
    // A new notification with the same token is news, not a replay.
    expect((await postJson(`${base}/api/calling`, state('c-replay', 'hold'), { authorization: `Bearer ${token}` })).status).toBe(202);
    expect(await rejected(metrics, 'replay')).toBe(1);
  });

  it('binds a token with a jti to the first call it was used for', async () => {
    const token = await signToken(key, { jti: 'jti-security-test-1' });
    expect((await postJson(`${base}/api/calling`, state('c-jti-a', 'established'), { authorization: `Bearer ${token}` })).status).toBe(202);
    const moved = await postJson(`${base}/api/calling`, state('c-jti-b', 'established'), { authorization: `Bearer ${token}` });
    expect(moved.status).toBe(401);
    expect(await rejected(metrics, 'replay')).toBe(2);
  });
});

describe('a forged terminated with a captured token (emulator)', () => {
  const TOKEN = 'callback-replay-security-test-token-0123456789';
  let worker: ComposedMediabot;
  let proxy: Server;
  const captured: string[] = [];

  beforeAll(async () => {
    // Graph's callbacks reach the worker through this forwarder, which keeps their tokens: what an
    // attacker on the path would capture.
    let target = '';
    proxy = createServer((req, res) => {
      const auth = req.headers.authorization;
      if (req.url?.startsWith('/api/calling') && typeof auth === 'string') captured.push(auth);
      const up = httpRequest(`${target}${req.url ?? '/'}`, { method: req.method, headers: { ...req.headers, host: new URL(target).host } }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      up.on('error', () => res.writeHead(502).end());
      req.pipe(up);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    worker = await startMediabot(testConfig({ MEDIABOT_API_TOKEN: TOKEN, MEDIABOT_PUBLIC_URL: proxyUrl, MEDIABOT_RECORD: 'off' }), { logger: silentLogger, subscribeCallRecords: false });
    target = worker.url;
  });
  afterAll(async () => {
    await worker?.close();
    proxy?.closeAllConnections();
    await new Promise((r) => proxy?.close(r));
  });

  it('keeps the call and its media when Graph still has the call, and ends it when Graph does', async () => {
    const meeting = worker.emulator!.createMeeting({ subject: 'forged terminate' });
    const call = await worker.calls.join({ joinWebUrl: meeting.joinWebUrl });
    await until('established', () => (worker.signaling.registry.get(call.id)?.state === 'established' ? true : undefined));
    expect(captured.length).toBeGreaterThan(0);
    const stolen = captured[captured.length - 1]!;
    const forged = { value: [{ changeType: 'deleted', resourceUrl: `/communications/calls/${call.id}`, resourceData: { '@odata.type': '#microsoft.graph.call', state: 'terminated', resultInfo: { code: 200, subcode: 5001, message: 'forged' } } }] };
    const r = await postJson(`${worker.url}/api/calling`, forged, { authorization: stolen });
    expect(r.status).toBe(202);
    await until('the forged terminate to be judged', async () => ((await rejected(worker.metrics, 'unconfirmed')) >= 1 ? true : undefined), 15_000, 100);
    expect(worker.signaling.registry.get(call.id)?.state).toBe('established');

    await worker.calls.hangUp(call.id);
    await until('terminated', () => (worker.signaling.registry.get(call.id)?.state === 'terminated' ? true : undefined), 20_000);
    expect(await rejected(worker.metrics, 'unconfirmed')).toBe(1);
  }, 60_000);
});
