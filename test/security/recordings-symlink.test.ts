/**
 * A symlink placed in a call's recordings folder is neither listed nor served (it used to return
 * whatever it pointed to, e.g. /etc/passwd); the real recordings still are. Real worker on
 * 127.0.0.1 against the embedded emulator.
 */
import { mkdirSync, mkdtempSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMediabot, type ComposedMediabot } from '../../src/app/mediabot.js';
import { silentLogger } from '../../src/logger.js';
import { testConfig, until } from '../integration/app/helpers.js';

const TOKEN = 'recordings-symlink-test-token-0123456789';
let worker: ComposedMediabot;

beforeAll(async () => {
  worker = await startMediabot(testConfig({ MEDIABOT_API_TOKEN: TOKEN, MEDIABOT_TRANSCRIBER: 'none', MEDIABOT_RECORD: 'on' }), { logger: silentLogger });
});
afterAll(async () => {
  await worker?.close();
});

const api = (path: string): Promise<Response> => fetch(`${worker.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });

describe('recordings folder with a planted symlink', () => {
  it('lists and serves only regular files inside the recordings root', async () => {
    const meeting = worker.emulator!.createMeeting({ subject: 'symlink test' });
    const call = await worker.calls.join({ joinWebUrl: meeting.joinWebUrl });
    await until('established', () => (worker.signaling.registry.get(call.id)?.state === 'established' ? true : undefined));
    await new Promise((r) => setTimeout(r, 1500));
    await worker.calls.hangUp(call.id);
    await worker.calls.whenFinalized(call.id, 60_000);

    const root = join(worker.config.dataDir, 'recordings');
    const [folder] = readdirSync(root);
    expect(folder).toBeDefined();
    const outside = join(mkdtempSync(join(tmpdir(), 'mediabot-outside-')), 'secret.txt');
    writeFileSync(outside, 'TOP-SECRET-OUTSIDE-THE-ROOT');
    symlinkSync(outside, join(root, folder!, 'evil.wav'));
    symlinkSync('/etc/passwd', join(root, folder!, 'passwd.opus'));

    const list = (await (await api(`/v1/calls/${call.id}/recordings`)).json()) as { recordings: Array<{ file: string; url: string }> };
    const files = list.recordings.map((r) => r.file);
    expect(files).toContain('mix.wav');
    expect(files).not.toContain('evil.wav');
    expect(files).not.toContain('passwd.opus');

    for (const name of ['evil.wav', 'passwd.opus']) {
      const res = await api(`/v1/calls/${call.id}/recordings/${name}`);
      const body = await res.text();
      expect(res.status).toBe(404);
      expect(body).not.toContain('TOP-SECRET');
      expect(body).not.toContain('root:');
      expect(body).not.toContain(root);
    }
    // The public prompt route (Graph fetches prompts without a token) does not follow one either.
    mkdirSync(join(worker.config.dataDir, 'prompts'), { recursive: true });
    symlinkSync('/etc/passwd', join(worker.config.dataDir, 'prompts', 'planted.wav'));
    const prompt = await fetch(`${worker.url}/media/prompts/planted.wav`);
    expect(prompt.status).toBe(404);
    expect(await prompt.text()).not.toContain('root:');

    const mix = await api(`/v1/calls/${call.id}/recordings/mix.wav`);
    expect(mix.status).toBe(200);
    expect(Buffer.from(await mix.arrayBuffer()).subarray(0, 4).toString('ascii')).toBe('RIFF');
  }, 90_000);
});
