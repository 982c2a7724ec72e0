/**
 * `mediabot demo` with a webhook URL: it waits for its call's deliveries before it exits and prints
 * their count, which matches what a verifying receiver on 127.0.0.1 accepted (after refusing the
 * first two attempts).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { newSecret, startReceiver } from './receiver.js';

const REPO = resolve(import.meta.dirname, '../../..');

describe('mediabot demo with MEDIABOT_WEBHOOK_URL', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mediabot-demo-webhooks-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('waits for its webhook deliveries and reports their count', async () => {
    const secret = newSecret();
    const receiver = await startReceiver(secret);
    receiver.refuse = (_r, i) => i < 2;
    const rtpBase = 57000 + (process.pid % 100) * 10;
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'demo', '--participants', '1', '--seconds', '4', '--media', 'rtp'], {
      cwd: REPO,
      env: {
        PATH: process.env['PATH'] ?? '',
        HOME: dir,
        MEDIABOT_DATA_DIR: join(dir, 'data'),
        MEDIABOT_PORT: '0',
        MEDIABOT_RTP_PORTS: `${rtpBase}-${rtpBase + 9}`,
        MEDIABOT_MEDIA_THREADS: '1',
        MEDIABOT_TRANSCRIBER: 'none',
        MEDIABOT_LOG_LEVEL: 'warn',
        MEDIABOT_WEBHOOK_URL: `${receiver.url}/demo`,
        MEDIABOT_WEBHOOK_SECRET: secret,
        MEDIABOT_FETCH_ALLOWLIST: '127.0.0.1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    await receiver.close();
    expect(code, out).toBe(0);
    const m = /webhooks: (\d+) of (\d+) delivered to (\S+)/.exec(out);
    expect(m, out).not.toBeNull();
    expect(m![1]).toBe(m![2]);
    expect(m![3]).toBe(`${receiver.url}/demo`);
    expect(receiver.bad).toEqual([]);
    expect(receiver.accepted()).toHaveLength(Number(m![1]));
    expect(receiver.accepted().map((a) => a.payload.type)).toEqual(expect.arrayContaining(['call.state', 'participant.joined', 'artifacts.written', 'recording.ready']));
    expect(out.indexOf('webhooks:')).toBeLessThan(out.indexOf('demo finished.'));
  }, 180_000);
});
