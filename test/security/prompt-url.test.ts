/**
 * `POST /v1/calls/:id/play {"url"}` against a real worker with an established app-hosted call:
 * a loopback prompt URL is refused with the one uniform MEDIABOT_URL_REFUSED (nothing is fetched),
 * and plays once MEDIABOT_FETCH_ALLOWLIST names the address.
 */
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startMediabot as startWorker, type ComposedMediabot as Worker } from '../../src/app/mediabot.js';
import { encodeWavPcm16 } from '../../src/media/wire/wav.js';
import { request } from '../integration/emulator/helpers.js';
import { testConfig, until } from '../integration/app/helpers.js';

let server: Server;
let port = 0;
let hits = 0;
beforeAll(async () => {
  const tone = Int16Array.from({ length: 8000 }, (_, i) => Math.round(6000 * Math.sin((2 * Math.PI * 440 * i) / 16_000)));
  const wav = encodeWavPcm16(tone, 16_000);
  server = createServer((req, res) => {
    hits++;
    res.writeHead(200, { 'content-type': 'audio/wav' }).end(wav);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as { port: number }).port;
});
afterAll(() => server.close());

let worker: Worker | undefined;
afterEach(async () => {
  const w = worker;
  worker = undefined;
  await w?.close();
}, 90_000);

/** An incoming call the worker answers with app-hosted media, once established. */
async function establishedCall(w: Worker): Promise<string> {
  const res = await request(w.emulator!, 'POST', '/_emulator/incomingCalls', { body: { callbackUri: w.callbackUri, from: { id: 'caller-1' } } });
  const id = (res.body as { id: string }).id;
  await until('call established', async () => {
    const r = await fetch(`${w.url}/v1/calls/${id}`);
    const body = (await r.json()) as { state?: string; call?: { state?: string } };
    return (body.state ?? body.call?.state) === 'established' ? true : undefined;
  }, 30_000, 100);
  return id;
}

const play = (w: Worker, id: string, url: string): Promise<Response> =>
  fetch(`${w.url}/v1/calls/${id}/play`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url }) });

describe('prompt URLs go through safeFetch', () => {
  it('refuses a loopback URL with 400 MEDIABOT_URL_REFUSED and fetches nothing', async () => {
    worker = await startWorker(testConfig({ MEDIABOT_RECORD: 'off' }));
    const id = await establishedCall(worker);
    const before = hits;
    for (const url of [`http://127.0.0.1:${port}/x.wav`, `http://0x7f000001:${port}/x.wav`, `http://127.0.0.1:1/closed.wav`]) {
      const res = await play(worker, id, url);
      expect(res.status, url).toBe(400);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('MEDIABOT_URL_REFUSED');
      // One message whatever the reason (a refused address and a closed port look the same).
      expect(body.error.message).toBe('the URL was refused or could not be fetched');
    }
    expect(hits).toBe(before);
  }, 60_000);

  it('plays it once MEDIABOT_FETCH_ALLOWLIST allows the address', async () => {
    worker = await startWorker(testConfig({ MEDIABOT_RECORD: 'off', MEDIABOT_FETCH_ALLOWLIST: '127.0.0.1' }));
    const id = await establishedCall(worker);
    const before = hits;
    const res = await play(worker, id, `http://127.0.0.1:${port}/x.wav`);
    const text = await res.text();
    expect(res.status, text).toBe(200);
    expect(JSON.parse(text)).toMatchObject({ via: 'media' });
    expect(hits).toBe(before + 1);
  }, 60_000);
});
