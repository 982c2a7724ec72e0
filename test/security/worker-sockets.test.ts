/**
 * Attacks on the worker's WebSocket routes before authentication, against a real worker on
 * 127.0.0.1: oversized messages (refused from the frame header with 1009, never buffered), a
 * bridge peer that never authenticates, ping floods from a client that never reads, foreign
 * Origin/Host headers, and tokens in query strings reaching the log.
 */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startMediabot, type ComposedMediabot } from '../../src/app/mediabot.js';
import { createLogger } from '../../src/logger.js';
import { testConfig } from '../integration/app/helpers.js';

const TOKEN = 'worker-sockets-security-token-0123456789';
const BRIDGE_TOKEN = 'worker-sockets-bridge-token-98765';
let worker: ComposedMediabot;
let logText = '';

beforeAll(async () => {
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logText += chunk.toString();
      cb();
    },
  });
  worker = await startMediabot(testConfig({ MEDIABOT_API_TOKEN: TOKEN, MEDIABOT_BRIDGE_TOKEN: BRIDGE_TOKEN, MEDIABOT_RECORD: 'off' }), { logger: createLogger('debug', 'mediabot', sink) });
});

afterAll(async () => {
  await worker?.close();
});

const wsBase = (): string => worker.url.replace('http', 'ws');

interface Opened {
  ws: WebSocket;
  closed: Promise<{ code: number; reason: string }>;
}

function open(path: string, headers: Record<string, string> = {}): Promise<Opened> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${wsBase()}${path}`, { headers });
    const closed = new Promise<{ code: number; reason: string }>((r) => ws.once('close', (code, reason) => r({ code, reason: String(reason) })));
    ws.on('error', () => undefined);
    ws.once('open', () => resolve({ ws, closed }));
    ws.once('unexpected-response', (_q, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
}

const within = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([p, new Promise<T>((_r, j) => setTimeout(() => j(new Error(`${what}: not within ${ms} ms`)), ms))]);

describe('message size limits before authentication', () => {
  it('closes /media/bridge with 1009 for a 512 KiB message before hello', async () => {
    const { ws, closed } = await open('/media/bridge');
    ws.send(Buffer.alloc(512 * 1024, 1));
    expect((await within(closed, 5000, 'close')).code).toBe(1009);
  });

  it('closes /media/acs with 1009 for a 1 MiB message, and /v1/events for 8 KiB', async () => {
    const acs = await open(`/media/acs?token=${TOKEN}`);
    acs.ws.send('x'.repeat(1024 * 1024));
    expect((await within(acs.closed, 5000, 'acs close')).code).toBe(1009);
    const ev = await open('/v1/events', { authorization: `Bearer ${TOKEN}` });
    ev.ws.send('x'.repeat(8 * 1024));
    expect((await within(ev.closed, 5000, 'events close')).code).toBe(1009);
  });

  it('gives an authenticated bridge peer the protocol limit of 1 MiB', async () => {
    const { ws, closed } = await open('/media/bridge');
    const got: string[] = [];
    ws.on('message', (m, bin) => {
      if (!bin) got.push(String(m));
    });
    ws.send(JSON.stringify({ type: 'hello', protocol: 'mediabot-bridge', versions: [1], token: BRIDGE_TOKEN, sidecarId: 'security-test' }));
    await within(new Promise<void>((r) => {
      const t = setInterval(() => {
        if (got.some((m) => m.includes('"welcome"') || m.includes('"helloAck"') || m.includes('sessionToken'))) {
          clearInterval(t);
          r();
        }
      }, 20);
    }), 5000, 'hello answer');
    let closeCode: number | null = null;
    void closed.then((c) => (closeCode = c.code));
    // 200 KiB: over the pre-authentication limit, under the protocol's. The bridge may refuse its
    // content, but the socket layer must not refuse its size.
    ws.send(JSON.stringify({ type: 'note', pad: 'y'.repeat(200 * 1024) }));
    await new Promise((r) => setTimeout(r, 500));
    expect(closeCode).not.toBe(1009);
    ws.close();
  });
});

describe('authentication deadline', () => {
  it('closes a /media/bridge peer that sends no hello within 5 s with 1008', async () => {
    const t0 = Date.now();
    const { closed } = await open('/media/bridge');
    const c = await within(closed, 8000, 'close');
    expect(c.code).toBe(1008);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(4500);
  }, 15_000);
});

describe('ping floods from a client that never reads', () => {
  it('disconnects an events client that sends "ping" messages without reading the replies', async () => {
    const { ws, closed } = await open('/v1/events', { authorization: `Bearer ${TOKEN}` });
    ws.pause();
    let sent = 0;
    let done = false;
    void closed.then(() => (done = true));
    // Bounded in count and time; a loaded machine needs the margin.
    const end = Date.now() + 45_000;
    while (!done && sent < 1_000_000 && Date.now() < end) {
      for (let i = 0; i < 2000 && ws.readyState === ws.OPEN; i++) ws.send('ping');
      sent += 2000;
      await new Promise((r) => setImmediate(r));
      if (ws.readyState !== ws.OPEN) break;
    }
    ws.resume();
    await within(closed, 10_000, 'server to drop the client');
    expect(sent).toBeLessThan(1_000_000);
  }, 80_000);

  it('terminates a client that floods protocol pings without reading the pongs', async () => {
    const { ws, closed } = await open('/v1/events', { authorization: `Bearer ${TOKEN}` });
    ws.pause();
    let sent = 0;
    const end = Date.now() + 20_000;
    while (ws.readyState === ws.OPEN && sent < 1_000_000 && Date.now() < end) {
      for (let i = 0; i < 2000 && ws.readyState === ws.OPEN; i++) ws.ping();
      sent += 2000;
      await new Promise((r) => setImmediate(r));
    }
    ws.resume();
    await within(closed, 10_000, 'server to drop the client');
    expect(sent).toBeLessThan(1_000_000);
  }, 40_000);
});

describe('Origin and Host', () => {
  it('refuses the events socket and /v1 to a foreign Origin or a rebinding Host', async () => {
    await expect(open('/v1/events', { authorization: `Bearer ${TOKEN}`, origin: 'https://evil.example' })).rejects.toThrow('HTTP 403');
    await expect(open('/v1/events', { authorization: `Bearer ${TOKEN}`, host: `rebind.evil.example:${new URL(worker.url).port}` })).rejects.toThrow('HTTP 403');
    await expect(open('/v1/events', { authorization: `Bearer ${TOKEN}`, origin: 'null' })).rejects.toThrow('HTTP 403');
    const own = await open('/v1/events', { authorization: `Bearer ${TOKEN}`, origin: worker.url });
    own.ws.close();
    const foreign = await fetch(`${worker.url}/v1/calls`, { headers: { authorization: `Bearer ${TOKEN}`, origin: 'https://evil.example' } });
    expect(foreign.status).toBe(403);
    expect(((await foreign.json()) as { error: { code: string } }).error.code).toBe('MEDIABOT_ORIGIN_REFUSED');
    const noOrigin = await fetch(`${worker.url}/v1/calls`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(noOrigin.status).toBe(200);
    const sameOrigin = await fetch(`${worker.url}/v1/calls`, { headers: { authorization: `Bearer ${TOKEN}`, origin: worker.url } });
    expect(sameOrigin.status).toBe(200);
  });
});

describe('tokens in query strings', () => {
  it('never writes a ?token= value to the log, though the request URLs are logged', async () => {
    const secret = `${TOKEN}`;
    const ev = await open(`/v1/events?token=${secret}`);
    ev.ws.close();
    const acs = await open(`/media/acs?token=${secret}&callId=redaction-test`);
    acs.ws.close();
    await fetch(`${worker.url}/v1/calls?token=${secret}&code=authcode-should-not-appear`, { headers: { authorization: `Bearer ${TOKEN}` } });
    await fetch(`${worker.url}/no/such/route?access_token=${secret}`);
    await new Promise((r) => setTimeout(r, 300));
    expect(logText).toContain('/v1/events?token=[redacted]');
    expect(logText).toContain('/media/acs?token=[redacted]');
    expect(logText).not.toContain(secret);
    expect(logText).not.toContain('authcode-should-not-appear');
  });
});
