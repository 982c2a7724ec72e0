import type { FastifyPluginAsync } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MediabotError } from '../../../src/errors.js';
import { createMetrics } from '../../../src/server/metrics.js';
import { reachabilityCheck } from '../../../src/server/readiness.js';
import { eventually, newSigningKey, postJson, signToken, startBot, startKeyServer, type Bot, type KeyServer, type SigningKey } from '../signaling/helpers.js';

let key: SigningKey;
let keys: KeyServer;
beforeAll(async () => {
  key = await newSigningKey('k1');
  keys = await startKeyServer([key]);
});
afterAll(async () => keys.close());

async function getJson(url: string, headers: Record<string, string> = {}): Promise<{ status: number; json: any; text: string; type: string | null }> {
  const res = await fetch(url, { headers });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = null;
  }
  return { status: res.status, json, text, type: res.headers.get('content-type') };
}

async function endCall(bot: Bot, callId: string): Promise<void> {
  const token = await signToken(key);
  const post = (state: string, extra: Record<string, unknown> = {}) =>
    postJson(
      `${bot.baseUrl}/api/calling`,
      { value: [{ changeType: state === 'terminated' ? 'deleted' : 'updated', resourceUrl: `/communications/calls/${callId}`, resourceData: { state, ...extra } }] },
      { authorization: `Bearer ${token}` },
    );
  await post('established');
  await post('terminated', { resultInfo: { code: 408, subcode: 8537, message: 'Keep Alive timeout' } });
  await eventually(() => expect(bot.signaling.registry.get(callId)?.state).toBe('terminated'));
}

describe('GET /v1/calls with MEDIABOT_API_TOKEN', () => {
  let bot: Bot;
  beforeAll(async () => {
    bot = await startBot({ openIdUrl: keys.openIdUrl, apiToken: 's3cret-token' });
    await endCall(bot, 'call-a');
  });
  afterAll(async () => bot.close());

  it('answers 401 JSON without a token or with a wrong one', async () => {
    for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: 'Bearer s3cret-token-longer' }, { authorization: 'Basic s3cret-token' }]) {
      const res = await getJson(`${bot.baseUrl}/v1/calls`, headers);
      expect(res.status).toBe(401);
      expect(res.json).toEqual({ error: { code: 'MEDIABOT_UNAUTHORIZED', message: expect.any(String) } });
    }
    const m = await bot.metrics.registry.getSingleMetricAsString('mediabot_auth_failures_total');
    expect(m).toMatch(/endpoint="api",reason="mismatch"\} 2/);
    expect(m).toMatch(/endpoint="api",reason="missing"\} 2/);
  });

  it('lists calls with state and an explained termination when the token is right', async () => {
    const res = await getJson(`${bot.baseUrl}/v1/calls`, { authorization: 'Bearer s3cret-token' });
    expect(res.status).toBe(200);
    expect(res.json.calls).toHaveLength(1);
    const call = res.json.calls[0];
    expect(call).toMatchObject({ id: 'call-a', state: 'terminated', previousState: 'established' });
    expect(call.termination).toMatchObject({ code: 408, subcode: 8537, message: 'Keep Alive timeout' });
    expect(call.termination.explanation).toMatch(/keep-alive/i);
    expect(call.termination.hint).toMatch(/15 minutes/);
  });

  it('filters by state and rejects an unknown filter with 400', async () => {
    const auth = { authorization: 'Bearer s3cret-token' };
    bot.signaling.registry.track('call-live', { state: 'established' });
    const active = await getJson(`${bot.baseUrl}/v1/calls?state=active`, auth);
    expect(active.json.calls.map((c: { id: string }) => c.id)).toEqual(['call-live']);
    const ended = await getJson(`${bot.baseUrl}/v1/calls?state=terminated`, auth);
    expect(ended.json.calls.map((c: { id: string }) => c.id)).toEqual(['call-a']);
    const bad = await getJson(`${bot.baseUrl}/v1/calls?state=exploded`, auth);
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ error: { code: 'MEDIABOT_BAD_REQUEST' } });
  });

  it('gets one call, and 404 MEDIABOT_CALL_NOT_FOUND for an unknown id', async () => {
    const one = await getJson(`${bot.baseUrl}/v1/calls/CALL-A`, { authorization: 'Bearer s3cret-token' });
    expect(one.status).toBe(200);
    expect(one.json.id).toBe('call-a');
    const missing = await getJson(`${bot.baseUrl}/v1/calls/nope`, { authorization: 'Bearer s3cret-token' });
    expect(missing.status).toBe(404);
    expect(missing.json).toMatchObject({ error: { code: 'MEDIABOT_CALL_NOT_FOUND' } });
  });
});

describe('GET /v1/calls without an API token', () => {
  it('is open (loopback only, as config enforces)', async () => {
    const bot = await startBot({ openIdUrl: keys.openIdUrl });
    try {
      await endCall(bot, 'call-b');
      const res = await getJson(`${bot.baseUrl}/v1/calls`);
      expect(res.status).toBe(200);
      expect(res.json.calls.map((c: { id: string }) => c.id)).toEqual(['call-b']);
    } finally {
      await bot.close();
    }
  });
});

describe('health, readiness, metrics, errors', () => {
  let bot: Bot;
  const extraRoot: FastifyPluginAsync = async (app) => {
    app.get('/boom', async () => {
      throw new Error('secret internal detail');
    });
    app.get('/typed', async () => {
      throw new MediabotError('MEDIABOT_OPERATION_TIMEOUT', 'too slow');
    });
  };
  const extraV1: FastifyPluginAsync = async (app) => {
    app.get('/ping', async () => ({ pong: true }));
  };
  beforeAll(async () => {
    bot = await startBot({ openIdUrl: keys.openIdUrl, apiToken: 't', extra: { plugins: [extraRoot], v1Plugins: [extraV1] } });
  });
  afterAll(async () => bot.close());

  it('GET /healthz is ok', async () => {
    const res = await getJson(`${bot.baseUrl}/healthz`);
    expect(res.status).toBe(200);
    expect(res.json.status).toBe('ok');
  });

  it('GET /readyz follows draining and the named checks', async () => {
    expect((await getJson(`${bot.baseUrl}/readyz`)).status).toBe(200);
    let capacityOk = true;
    bot.readiness.setCheck('capacity', () => capacityOk);
    bot.readiness.setCheck('graph', async () => true);
    expect((await getJson(`${bot.baseUrl}/readyz`)).json).toEqual({ ready: true, draining: false, checks: { capacity: true, graph: true } });
    capacityOk = false;
    const over = await getJson(`${bot.baseUrl}/readyz`);
    expect(over.status).toBe(503);
    expect(over.json.checks.capacity).toBe(false);
    capacityOk = true;
    bot.readiness.setCheck('authority', () => {
      throw new Error('unreachable');
    });
    expect((await getJson(`${bot.baseUrl}/readyz`)).json).toMatchObject({ ready: false, checks: { authority: false } });
    bot.readiness.removeCheck('authority');
    bot.readiness.startDraining();
    expect((await getJson(`${bot.baseUrl}/readyz`)).json).toMatchObject({ ready: false, draining: true });
    bot.readiness.stopDraining();
    expect((await getJson(`${bot.baseUrl}/readyz`)).status).toBe(200);
  });

  it('GET /metrics serves Prometheus text with the signaling counters', async () => {
    await postJson(`${bot.baseUrl}/api/calling`, { value: [] }, { authorization: 'Bearer nope' });
    const res = await getJson(`${bot.baseUrl}/metrics`);
    expect(res.status).toBe(200);
    expect(res.type).toMatch(/^text\/plain/);
    expect(res.text).toContain('# TYPE mediabot_notifications_received_total counter');
    expect(res.text).toMatch(/mediabot_auth_failures_total\{endpoint="callback",reason="malformed"\} 1/);
    expect(res.text).toContain('mediabot_calls_active 0');
  });

  it('unknown routes get 404 in the error shape', async () => {
    const res = await getJson(`${bot.baseUrl}/nowhere?x=1`);
    expect(res.status).toBe(404);
    expect(res.json).toEqual({ error: { code: 'MEDIABOT_NOT_FOUND', message: 'no route GET /nowhere' } });
  });

  it('unexpected errors become 500 MEDIABOT_INTERNAL without leaking details; typed ones keep their code', async () => {
    const res = await getJson(`${bot.baseUrl}/boom`);
    expect(res.status).toBe(500);
    expect(res.json).toEqual({ error: { code: 'MEDIABOT_INTERNAL', message: 'internal error' } });
    const typed = await getJson(`${bot.baseUrl}/typed`);
    expect(typed.status).toBe(504);
    expect(typed.json).toEqual({ error: { code: 'MEDIABOT_OPERATION_TIMEOUT', message: 'too slow' } });
  });

  it('plugins added under /v1 share its bearer auth', async () => {
    expect((await getJson(`${bot.baseUrl}/v1/ping`)).status).toBe(401);
    const ok = await getJson(`${bot.baseUrl}/v1/ping`, { authorization: 'Bearer t' });
    expect(ok.json).toEqual({ pong: true });
  });

  it('unsupported content types are answered in the error shape', async () => {
    const res = await fetch(`${bot.baseUrl}/api/calling`, { method: 'POST', headers: { 'content-type': 'application/xml', authorization: `Bearer ${await signToken(key)}` }, body: '<x/>' });
    expect(res.status).toBe(415);
    expect(await res.json()).toMatchObject({ error: { code: 'MEDIABOT_BAD_REQUEST' } });
  });
});

describe('request logging', () => {
  it('redacts Authorization even when the given logger does not', async () => {
    const logsHeaders: FastifyPluginAsync = async (app) => {
      app.get('/log-me', async (request) => {
        request.log.info({ headers: request.headers }, 'headers seen');
        return { ok: true };
      });
    };
    const bot = await startBot({ openIdUrl: keys.openIdUrl, unredactedLogger: true, extra: { plugins: [logsHeaders] } });
    try {
      const res = await fetch(`${bot.baseUrl}/log-me`, { headers: { authorization: 'Bearer very-secret-value' } });
      expect(res.status).toBe(200);
      expect(bot.logText()).toContain('headers seen');
      expect(bot.logText()).toContain('[redacted]');
      expect(bot.logText()).not.toContain('very-secret-value');
    } finally {
      await bot.close();
    }
  });
});

describe('reachabilityCheck', () => {
  it('is true while a URL answers (any status) and false once it is gone', async () => {
    let hits = 0;
    const server = createServer((_req, res) => {
      hits++;
      res.statusCode = 401;
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const cached = reachabilityCheck(url, { cacheMs: 60_000 });
    expect(await cached()).toBe(true);
    expect(await cached()).toBe(true);
    expect(hits).toBe(1);
    await new Promise<void>((r) => server.close(() => r()));
    expect(await reachabilityCheck(url, { cacheMs: 0 })()).toBe(false);
  });
});

describe('createMetrics', () => {
  it('gives each registry the default process metrics, side by side', async () => {
    const a = createMetrics();
    const b = createMetrics();
    expect(await a.registry.metrics()).toContain('mediabot_process_cpu_user_seconds_total');
    expect(await b.registry.metrics()).toContain('mediabot_nodejs_eventloop_lag_seconds');
    a.notificationsReceived.inc({ route: 'calling', kind: 'callState' });
    expect(await b.registry.getSingleMetricAsString('mediabot_notifications_received_total')).not.toContain('kind="callState"');
  });
});

describe('prePlugins', () => {
  it('are registered before the built-in routes and see them being added', async () => {
    const seen: string[] = [];
    const watcher: FastifyPluginAsync = async (app) => {
      app.addHook('onRoute', (route) => {
        seen.push(`${String(route.method)} ${route.url}`);
      });
    };
    (watcher as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;
    const bot = await startBot({ openIdUrl: keys.openIdUrl, extra: { prePlugins: [watcher] } });
    try {
      expect(seen).toContain('GET /healthz');
      expect(seen).toContain('POST /api/calling');
      expect(seen).toContain('GET /v1/calls');
    } finally {
      await bot.close();
    }
  });
});
