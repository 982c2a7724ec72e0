import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runEmulatorCommand } from '../../../testing/emulator/cli.js';
import { MediabotError } from '../../../src/errors.js';

const repoRoot = resolve(import.meta.dirname, '../../..');

describe('mediabot emulator command', () => {
  it('prints usage and rejects bad options with a typed error', async () => {
    let text = '';
    expect(await runEmulatorCommand(['--help'], {}, (s) => (text += s))).toBe(0);
    expect(text).toContain('usage: mediabot emulator');
    await expect(runEmulatorCommand(['--port', 'x'], {})).rejects.toThrow(MediabotError);
    await expect(runEmulatorCommand(['--people', '9'], {})).rejects.toThrow(MediabotError);
    await expect(runEmulatorCommand(['--bogus'], {})).rejects.toThrow(MediabotError);
    await expect(runEmulatorCommand(['--hold'], {})).rejects.toThrow(/--hold/);
  });

  it('runs as a process: prints the MEDIABOT_* variables, writes the CA, serves, stops on SIGINT', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'emu-cli-'));
    try {
      const script = "import('./testing/emulator/cli.ts').then((m) => m.runEmulatorCommand(['--port', '0', '--meeting', '--people', '2'])).then((c) => { process.exitCode = c; })";
      const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], {
        cwd: repoRoot,
        env: { ...process.env, MEDIABOT_DATA_DIR: dataDir, MEDIABOT_TENANT_ID: 'tenant-x', MEDIABOT_LOG_LEVEL: 'silent' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      await new Promise<void>((res, rej) => {
        const t = setTimeout(() => rej(new Error(`no startup output: ${stdout}`)), 30_000);
        child.stdout.on('data', () => {
          if (stdout.includes('Ctrl-C')) {
            clearTimeout(t);
            res();
          }
        });
      });
      expect(stdout).toContain('MEDIABOT_TENANT_ID=tenant-x');
      expect(stdout).toMatch(/meeting joinWebUrl: https:\/\/teams\.microsoft\.com\/l\/meetup-join\//);
      const base = /listening on (https:\/\/127\.0\.0\.1:\d+)/.exec(stdout)![1]!;
      const ca = readFileSync(join(dataDir, 'emulator-ca.pem'), 'utf8');
      const controlToken = /control token: (\S+)/.exec(stdout)![1]!;
      const getStats = (authorization?: string): Promise<{ status: number; body: any }> =>
        new Promise((res, rej) => {
          https.get(`${base}/_emulator/stats`, { ca, headers: authorization === undefined ? {} : { authorization } }, (r) => {
            let b = '';
            r.on('data', (d) => (b += d));
            r.on('end', () => res({ status: r.statusCode ?? 0, body: JSON.parse(b) }));
          }).on('error', rej);
        });
      // Another process can drive the control API only with the printed token.
      expect((await getStats()).status).toBe(401);
      expect((await getStats('Bearer not-the-token')).status).toBe(401);
      const stats = await getStats(`Bearer ${controlToken}`);
      expect(stats.status).toBe(200);
      expect(stats.body.meetings).toBe(1);
      const code = await new Promise<number | null>((res) => {
        child.on('exit', (c) => res(c));
        child.kill('SIGINT');
      });
      expect(code).toBe(0);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
