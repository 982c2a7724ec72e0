import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Emulator } from '../../../testing/emulator/index.js';
import { CallbackServer, getToken, isCallState, request, startEmulator } from './helpers.js';

describe('emulator fault injection and notification delivery', () => {
  let emu: Emulator;
  let cb: CallbackServer;
  let token: string;

  beforeAll(async () => {
    emu = await startEmulator();
    cb = new CallbackServer();
    await cb.start();
    token = await getToken(emu);
  });
  afterAll(async () => {
    await emu?.close();
    await cb?.close();
  });

  it('POST /_emulator/faults throttles the next K matching requests with 429 + Retry-After, then recovers', async () => {
    const armed = await request(emu, 'POST', '/_emulator/faults', { body: { status: 429, count: 2, retryAfterSeconds: 3, pathContains: '/presence' } });
    expect(armed.status).toBe(201);
    const other = await request(emu, 'GET', '/v1.0/communications/callRecords', { token });
    expect(other.status).toBe(200);
    for (let i = 0; i < 2; i++) {
      const res = await request(emu, 'GET', '/v1.0/users/u1/presence', { token, headers: { 'client-request-id': `try-${i}` } });
      expect(res.status).toBe(429);
      expect(res.headers['retry-after']).toBe('3');
      expect(res.body.error.code).toBe('TooManyRequests');
      expect(res.body.error.innerError['client-request-id']).toBe(`try-${i}`);
    }
    expect((await request(emu, 'GET', '/v1.0/users/u1/presence', { token })).status).toBe(200);
  });

  it('injects 5xx failures by method and lists/clears rules', async () => {
    emu.injectFault({ status: 503, count: 1, method: 'POST', pathContains: '/communications/calls' });
    emu.injectFault({ status: 500, count: 5, pathContains: '/never-matches' });
    const listed = await request(emu, 'GET', '/_emulator/faults');
    expect(listed.body.value).toHaveLength(2);
    const body = { callbackUri: `${cb.url}/x`, requestedModalities: ['audio'], mediaConfig: { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' }, targets: [{ identity: { user: { id: 'u1' } } }] };
    const failed = await request(emu, 'POST', '/v1.0/communications/calls', { token, body });
    expect(failed.status).toBe(503);
    expect(failed.body.error.code).toBe('serviceNotAvailable');
    expect(emu.stats().calls.active).toBe(0);
    const ok = await request(emu, 'POST', '/v1.0/communications/calls', { token, body });
    expect(ok.status).toBe(201);
    await request(emu, 'DELETE', '/_emulator/faults');
    expect((await request(emu, 'GET', '/_emulator/faults')).body.value).toHaveLength(0);
    await request(emu, 'DELETE', `/v1.0/communications/calls/${ok.body.id}`, { token });
  });

  it('throttles the token endpoint only when a rule names it', async () => {
    emu.injectFault({ status: 503, count: 1 });
    expect(typeof (await getToken(emu))).toBe('string'); // a rule without a path leaves identity alone
    await request(emu, 'DELETE', '/_emulator/faults');
    emu.injectFault({ status: 429, count: 1, retryAfterSeconds: 1, pathContains: '/oauth2/v2.0/token' });
    const throttled = await request(emu, 'POST', `/${emu.tenantId}/oauth2/v2.0/token`, { form: { grant_type: 'client_credentials' } });
    expect(throttled.status).toBe(429);
    expect(throttled.headers['retry-after']).toBe('1');
    expect(throttled.body.error).toBe('too_many_requests');
    expect(typeof (await getToken(emu))).toBe('string');
  });

  it('rejects bad fault rules with a clear 400 and arms nothing', async () => {
    for (const bad of [{ status: 404 }, { status: 429, count: 0 }, { status: 429, retryAfterSeconds: -1 }, [1]]) {
      const res = await request(emu, 'POST', '/_emulator/faults', { body: bad });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('MEDIABOT_EMULATOR_BAD_FAULT');
    }
    expect((await request(emu, 'GET', '/_emulator/faults')).body.value).toHaveLength(0);
  });

  it('retries a notification the receiver answered with 5xx, keeping per-call order', async () => {
    const flaky = new CallbackServer();
    flaky.status = 503;
    await flaky.start();
    const retriedAtStart = emu.stats().notifications.retried;
    try {
      const res = await request(emu, 'POST', '/v1.0/communications/calls', {
        token,
        body: { callbackUri: `${flaky.url}/api/calling`, requestedModalities: ['audio'], mediaConfig: { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' }, targets: [{ identity: { user: { id: 'u2' } } }] },
      });
      const id = res.body.id as string;
      await flaky.waitFor(isCallState(id, 'establishing'));
      flaky.status = 202;
      await flaky.waitFor(isCallState(id, 'established'));
      expect(emu.stats().notifications.retried).toBeGreaterThan(retriedAtStart);
      const states = flaky.received.map((c) => c.body.value[0].resourceData.state).filter((s) => s !== undefined);
      // The first notification was attempted more than once, and establishing came before established.
      expect(states.filter((s) => s === 'establishing').length).toBeGreaterThan(1);
      expect(states.lastIndexOf('establishing')).toBeLessThan(states.indexOf('established'));
      await request(emu, 'DELETE', `/v1.0/communications/calls/${id}`, { token });
    } finally {
      await flaky.close();
    }
  });

  it('gives up after the last retry and counts the failure', async () => {
    const dead = new CallbackServer();
    dead.status = 500;
    await dead.start();
    try {
      const failedBefore = emu.stats().notifications.failed;
      const res = await request(emu, 'POST', '/v1.0/communications/calls', {
        token,
        body: { callbackUri: `${dead.url}/api/calling`, requestedModalities: ['audio'], mediaConfig: { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' }, targets: [{ identity: { user: { id: 'u3' } } }] },
      });
      expect(res.status).toBe(201);
      await request(emu, 'DELETE', `/v1.0/communications/calls/${res.body.id}`, { token });
      await emu.drainNotifications();
      expect(emu.stats().notifications.failed).toBeGreaterThan(failedBefore);
    } finally {
      await dead.close();
    }
  });
});
