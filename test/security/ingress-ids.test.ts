/**
 * The ingress endpoints outside the worker keep their limits (an app of its own mounting only the
 * ingress plugins), and ids from ingress peers cannot name folders outside their roots: an ACS
 * connection named `..` against a real worker is refused, and nothing outside is written or deleted.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startMediabot as startWorker, type ComposedMediabot as Worker } from '../../src/app/mediabot.js';
import { removableScratch } from '../../src/calls/artifacts.js';
import { AcsIngress, acsIngressPlugin } from '../../src/ingress/acs/adapter.js';
import { BridgeIngress, bridgeIngressPlugin } from '../../src/ingress/bridge/adapter.js';
import { parseControlMessage } from '../../src/ingress/bridge/schemas.js';
import { isExternalId } from '../../src/ingress/common/ids.js';
import { MediaThreadPool } from '../../src/media/threads/pool.js';
import { folderForId } from '../../src/util/safe-path.js';
import { testConfig } from '../integration/app/helpers.js';

interface Opened {
  ws: WebSocket;
  closed: Promise<{ code: number; reason: string }>;
}

function open(url: string, headers: Record<string, string> = {}): Promise<Opened> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    const closed = new Promise<{ code: number; reason: string }>((r) => ws.once('close', (code, reason) => r({ code, reason: String(reason) })));
    ws.on('error', () => undefined);
    ws.once('open', () => resolve({ ws, closed }));
    ws.once('unexpected-response', (_q, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
}

const within = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([p, new Promise<T>((_r, j) => setTimeout(() => j(new Error(`${what}: not within ${ms} ms`)), ms))]);

describe('ingress plugins in an app of their own keep their limits', () => {
  const pool = new MediaThreadPool(1);
  let app: FastifyInstance;
  let base = '';
  beforeAll(async () => {
    app = Fastify();
    await app.register(bridgeIngressPlugin, { ingress: new BridgeIngress({ pool, tokens: ['standalone-bridge-token-0123'] }) });
    await app.register(acsIngressPlugin, { ingress: new AcsIngress({ pool, tokens: ['standalone-acs-token-0123'] }) });
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = `ws://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await app.close();
    await pool.close();
  });

  it('/media/bridge: a 512 KiB message before hello is refused from its header (1009)', async () => {
    const { ws, closed } = await open(`${base}/media/bridge`);
    ws.send(Buffer.alloc(512 * 1024, 1));
    expect((await within(closed, 5000, 'close')).code).toBe(1009);
  });

  it('/media/bridge: a peer that never says hello is closed after the 5 s deadline (1008)', async () => {
    const { closed } = await open(`${base}/media/bridge`);
    const t0 = performance.now();
    const { code } = await within(closed, 9000, 'close');
    expect(code).toBe(1008);
    expect(performance.now() - t0).toBeGreaterThan(4000);
  }, 15_000);

  it('/media/acs: a 128 KiB message is refused from its header (1009)', async () => {
    const { ws, closed } = await open(`${base}/media/acs?token=standalone-acs-token-0123&callId=acs-standalone-1`);
    ws.send('x'.repeat(128 * 1024));
    expect((await within(closed, 5000, 'close')).code).toBe(1009);
  });

  it('/media/acs: a call id of `..` or `../x` is refused with 4422', async () => {
    for (const headers of [{ 'x-ms-call-connection-id': '..' }, { 'x-ms-call-connection-id': '../etc' }]) {
      const { closed } = await open(`${base}/media/acs?token=standalone-acs-token-0123`, headers);
      expect((await within(closed, 5000, 'close')).code).toBe(4422);
    }
    const q = await open(`${base}/media/acs?token=standalone-acs-token-0123&callId=${encodeURIComponent('a/../../b')}`);
    expect((await within(q.closed, 5000, 'close')).code).toBe(4422);
  });
});

describe('ids that name folders', () => {
  it('accepts Graph and ACS ids, refuses traversal, separators and odd characters', () => {
    for (const ok of ['491f0b00-ffff-4bc9-a43e-00e4b3e3a9a0', 'acs-6f1d', 'call_1.2:3']) expect(isExternalId(ok)).toBe(true);
    for (const bad of ['..', '.', 'a..b', '../x', 'a/b', 'a\\b', '', '-x', 'x'.repeat(129), 'a b', 'a\u0000b', 'é']) expect(isExternalId(bad), bad).toBe(false);
  });

  it('the bridge schema refuses a sessionStarted or hello whose ids are not ids', () => {
    expect(() => parseControlMessage('{"type":"sessionStarted","callId":"..","callIndex":1}')).toThrow(expect.objectContaining({ code: 'MEDIABOT_INGRESS_BAD_MESSAGE' }));
    expect(() => parseControlMessage('{"type":"hello","protocol":"mediabot-bridge","versions":[1],"token":"t","sidecarId":"../s"}')).toThrow(expect.objectContaining({ code: 'MEDIABOT_INGRESS_BAD_MESSAGE' }));
    expect(parseControlMessage('{"type":"sessionStarted","callId":"491f0b00-ffff-4bc9-a43e-00e4b3e3a9a0","callIndex":1}').type).toBe('sessionStarted');
  });

  it('folders built from ids stay strictly inside their root, and scratch roots are never removed', () => {
    expect(folderForId('/data/tmp/media', 'abc')).toBe('/data/tmp/media/abc');
    expect(folderForId('/data/tmp/media', 'a/b')).toBe('/data/tmp/media/a_b');
    for (const bad of ['..', '.', '']) expect(() => folderForId('/data/tmp/media', bad)).toThrow(expect.objectContaining({ code: 'MEDIABOT_BAD_REQUEST' }));
    expect(removableScratch('/data', '/data/tmp/media/abc')).toBe(true);
    for (const no of ['/data/tmp', '/data/tmp/media', '/data', '/', '/data/tmp/media/..']) expect(removableScratch('/data', no), no).toBe(false);
  });
});

describe('an ACS connection named `..` against a real worker', () => {
  const TOKEN = 'ingress-ids-security-token-0123456789abc';
  let worker: Worker;
  let dataDir = '';
  beforeAll(async () => {
    const cfg = testConfig({ MEDIABOT_API_TOKEN: TOKEN, MEDIABOT_RECORD: 'on' });
    dataDir = cfg.dataDir;
    worker = await startWorker(cfg);
  });
  afterAll(async () => {
    await worker?.close();
  });

  it('is refused with 4422; another call\'s scratch files and the data folder are left alone', async () => {
    const other = join(dataDir, 'tmp', 'media', 'another-call');
    mkdirSync(other, { recursive: true });
    writeFileSync(join(other, 'timeline.json'), '{}');
    const before = readdirSync(dataDir).sort();
    const wsBase = worker.url.replace('http', 'ws');
    const { ws, closed } = await open(`${wsBase}/media/acs?token=${TOKEN}`, { 'x-ms-call-connection-id': '..' });
    ws.send(JSON.stringify({ kind: 'AudioMetadata', audioMetadata: { subscriptionId: 's', encoding: 'PCM', sampleRate: 16000, channels: 1, length: 640 } }));
    expect((await within(closed, 5000, 'close')).code).toBe(4422);
    // Longer than ACS's end grace (5 s), after which the old code finalized the call named `..`.
    await new Promise((r) => setTimeout(r, 6000));
    expect(existsSync(join(other, 'timeline.json'))).toBe(true);
    expect(readdirSync(dataDir).sort()).toEqual(before);
    expect(existsSync(join(dataDir, 'call.json'))).toBe(false);
    const calls = (await (await fetch(`${worker.url}/v1/calls`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { calls?: Array<{ id?: string; callId?: string }> } | Array<{ id?: string }>;
    expect(JSON.stringify(calls)).not.toContain('".."');
  }, 20_000);
});
