/**
 * HTTP resource limits before authentication, against a real server on 127.0.0.1: a request body
 * dribbled one byte at a time, headers that never end, and more sockets than the cap (refused on
 * accept and counted, while the ones already open keep working).
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HTTP_LIMIT_DEFAULTS } from '../../src/server/limits.js';
import { newSigningKey, startBot, startKeyServer, type Bot, type KeyServer } from '../integration/signaling/helpers.js';

let keys: KeyServer;
beforeAll(async () => {
  keys = await startKeyServer([await newSigningKey('k1')]);
});
afterAll(async () => keys.close());

function rawSocket(port: number): Promise<{ socket: Socket; closed: Promise<string> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    socket.on('data', (d) => (data += d.toString()));
    const closed = new Promise<string>((r) => socket.once('close', () => r(data)));
    socket.on('error', () => undefined);
    socket.once('connect', () => resolve({ socket, closed }));
    socket.once('error', reject);
  });
}

const portOf = (bot: Bot): number => Number(new URL(bot.baseUrl).port);

describe('request timeouts', () => {
  let bot: Bot;
  beforeAll(async () => {
    bot = await startBot({ openIdUrl: keys.openIdUrl, extra: { limits: { requestTimeoutMs: 2000, headersTimeoutMs: 1000 } } });
  });
  afterAll(async () => bot.close());

  it('has timeouts by default', () => {
    expect(HTTP_LIMIT_DEFAULTS.requestTimeoutMs).toBeGreaterThan(0);
    expect(HTTP_LIMIT_DEFAULTS.headersTimeoutMs).toBeGreaterThan(0);
    expect(HTTP_LIMIT_DEFAULTS.maxConnections).toBeGreaterThan(0);
  });

  it('cuts off a body sent one byte at a time once the request deadline passes', async () => {
    const { socket, closed } = await rawSocket(portOf(bot));
    socket.write('POST /api/calling HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n');
    const t0 = Date.now();
    const drip = setInterval(() => socket.write('{'), 250);
    const answer = await Promise.race([closed, new Promise<string>((r) => setTimeout(() => r('STILL OPEN'), 10_000))]);
    clearInterval(drip);
    socket.destroy();
    expect(answer).not.toBe('STILL OPEN');
    expect(Date.now() - t0).toBeLessThan(8000);
    // Node answers 408 when it can.
    if (answer !== '') expect(answer).toMatch(/HTTP\/1\.1 408 Request Timeout/);
  }, 20_000);

  it('cuts off headers that never end', async () => {
    const { socket, closed } = await rawSocket(portOf(bot));
    socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    const drip = setInterval(() => socket.write('X-A: b\r\n'), 200);
    const answer = await Promise.race([closed, new Promise<string>((r) => setTimeout(() => r('STILL OPEN'), 8000))]);
    clearInterval(drip);
    socket.destroy();
    expect(answer).not.toBe('STILL OPEN');
  }, 20_000);
});

describe('connection cap', () => {
  let bot: Bot;
  beforeAll(async () => {
    bot = await startBot({ openIdUrl: keys.openIdUrl, extra: { limits: { maxConnections: 5 } } });
  });
  afterAll(async () => bot.close());

  it('refuses sockets over the cap on accept, counts them, and keeps serving the rest', async () => {
    const held = await Promise.all([0, 1, 2, 3, 4].map(() => rawSocket(portOf(bot))));
    await new Promise((r) => setTimeout(r, 200));
    const extra = await rawSocket(portOf(bot));
    const extraAnswer = await Promise.race([extra.closed, new Promise<string>((r) => setTimeout(() => r('STILL OPEN'), 3000))]);
    expect(extraAnswer).toBe('');
    // A held socket is still served.
    held[0]!.socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    expect(await held[0]!.closed).toMatch(/^HTTP\/1\.1 200/);
    await new Promise((r) => setTimeout(r, 200));
    const metrics = await bot.metrics.registry.metrics();
    expect(metrics).toMatch(/^mediabot_http_connections_refused_total 1$/m);
    expect(metrics).toMatch(/^mediabot_http_connections 4$/m);
    for (const h of held) h.socket.destroy();
    await new Promise((r) => setTimeout(r, 200));
    const res = await fetch(`${bot.baseUrl}/healthz`);
    expect(res.status).toBe(200);
  });
});
