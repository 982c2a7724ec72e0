/**
 * A production `mediabot start` (Graph credentials set) loads neither the emulator nor any other
 * testing/ module, nor the Azure Speech SDK when Azure transcription is not configured, nor a storage
 * SDK without MEDIABOT_STORAGE_URL: not in the
 * main thread, not in the media threads. Black-box: the CLI runs in a child process against an
 * emulator this test runs, with a preload that records every module each thread resolves; a call
 * is joined so a media thread really runs a call with its hooks (transcription by pocketsphinx).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, until } from '../../helpers/redis.js';
import { createEmulator, type Emulator } from '../../../testing/emulator/index.js';

const REPO = resolve(import.meta.dirname, '../../..');
const PRELOAD = join(REPO, 'test/fixtures/modules/record-loaded-modules.mjs');

/** Module URLs per thread, from the preload's log. */
function loaded(log: string): Map<string, string[]> {
  const byThread = new Map<string, string[]>();
  if (!existsSync(log)) return byThread;
  for (const line of readFileSync(log, 'utf8').split('\n')) {
    const [thread, url] = line.split('\t');
    if (!thread || !url) continue;
    if (!byThread.has(thread)) byThread.set(thread, []);
    byThread.get(thread)!.push(url);
  }
  return byThread;
}

const FORBIDDEN = [
  { what: 'a testing/ module', test: (url: string) => url.startsWith(pathToFileURL(join(realpathSync(REPO), 'testing')).href + '/') },
  { what: 'the Azure Speech SDK', test: (url: string) => url.includes('/microsoft-cognitiveservices-speech-sdk/') },
  // Object storage SDKs load only with MEDIABOT_STORAGE_URL set (src/storage/open.ts).
  { what: 'the Azure Blob Storage SDK', test: (url: string) => url.includes('/@azure/storage-blob/') },
  { what: 'the AWS S3 SDK', test: (url: string) => url.includes('/@aws-sdk/') },
];

describe('a production worker (mediabot start with credentials)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mediabot-modules-'));
  const log = join(dir, 'modules.log');
  const secret = randomBytes(24).toString('base64url');
  const clientId = randomUUID();
  const tenantId = randomUUID();
  // Graph credentials make the worker reachable, so it requires an operator API token.
  const apiToken = randomBytes(32).toString('hex');
  const auth = { authorization: `Bearer ${apiToken}` };
  let emulator: Emulator;
  let child: ChildProcess | undefined;
  let output = '';

  beforeAll(async () => {
    emulator = await createEmulator({ tenantId, clientId, clientSecret: secret });
    writeFileSync(join(dir, 'ca.pem'), emulator.caPem);
  }, 60_000);

  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    }
    await emulator?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('loads no testing/ module and no Azure Speech SDK, in the main thread or a media thread running a call', async () => {
    const port = await freePort();
    // Above the ranges of the other worker tests (42000-48999).
    const rtpBase = 52000 + (process.pid % 100) * 10;
    child = spawn(process.execPath, ['--import', 'tsx', '--import', PRELOAD, 'src/cli/main.ts', 'start'], {
      cwd: REPO,
      env: {
        PATH: process.env['PATH'] ?? '',
        HOME: dir,
        NODE_EXTRA_CA_CERTS: join(dir, 'ca.pem'),
        MEDIABOT_TEST_MODULE_LOG: log,
        MEDIABOT_TENANT_ID: tenantId,
        MEDIABOT_CLIENT_ID: clientId,
        MEDIABOT_CLIENT_SECRET: secret,
        MEDIABOT_API_TOKEN: apiToken,
        MEDIABOT_GRAPH_URL: emulator.graphUrl,
        MEDIABOT_AUTHORITY_URL: emulator.authorityUrl,
        MEDIABOT_CALLBACK_OPENID_URL: emulator.callbackOpenIdUrl,
        MEDIABOT_HOST: '127.0.0.1',
        MEDIABOT_PORT: String(port),
        MEDIABOT_DATA_DIR: join(dir, 'data'),
        MEDIABOT_RTP_PORTS: `${rtpBase}-${rtpBase + 9}`,
        MEDIABOT_MEDIA_THREADS: '1',
        MEDIABOT_TRANSCRIBER: 'pocketsphinx',
        MEDIABOT_LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    const diagnostics = (): string => `child output:\n${output}`;
    const base = `http://127.0.0.1:${port}`;
    const exited = (): boolean => child!.exitCode !== null;
    await until('the worker listening', () => {
      if (exited()) throw new Error(`mediabot start exited with ${child!.exitCode}\n${diagnostics()}`);
      return /mediabot: listening on/.test(output) ? true : undefined;
    }, 60_000, 200, diagnostics);
    expect(output).not.toMatch(/embedded Graph emulator/);

    // A call with app-hosted media: a media thread creates it and loads its hooks.
    const meeting = emulator.createMeeting({ subject: 'modules', people: 1 });
    const created = await fetch(`${base}/v1/calls`, { method: 'POST', headers: { 'content-type': 'application/json', ...auth }, body: JSON.stringify({ joinWebUrl: meeting.joinWebUrl, media: 'app' }) });
    expect(created.status, await created.clone().text()).toBe(201);
    const callId = ((await created.json()) as { id: string }).id;
    await until('the call established', async () => ((await (await fetch(`${base}/v1/calls/${callId}`, { headers: auth })).json()) as { state?: string }).state === 'established' ? true : undefined, 30_000, 200, diagnostics);
    // The media thread has loaded the configured engine's module: its hooks were created.
    const mediaThread = await until(
      'the media thread loading the pocketsphinx engine',
      () => [...loaded(log)].find(([thread, urls]) => thread !== 'main' && urls.some((u) => u.endsWith('/media/hooks/transcribe/pocketsphinx.ts') || u.endsWith('/media/hooks/transcribe/pocketsphinx.js')))?.[0],
      30_000,
      200,
      diagnostics,
    );

    const threads = loaded(log);
    expect(threads.get('main')!.some((u) => u.includes('/src/app/mediabot.'))).toBe(true);
    expect(threads.get(mediaThread)!.some((u) => u.includes('/src/media/threads/media-thread.'))).toBe(true);
    const offenders: string[] = [];
    for (const [thread, urls] of threads) for (const url of urls) for (const f of FORBIDDEN) if (f.test(url)) offenders.push(`${thread}: ${f.what}: ${url}`);
    expect(offenders).toEqual([]);
  }, 150_000);
});
