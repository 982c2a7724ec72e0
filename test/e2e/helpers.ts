import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = join(REPO, 'bin', 'mediabot.js');

export interface Run {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<number | null>;
  /** Resolves with the first stdout match. */
  waitFor(re: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
}

/** Runs `node bin/mediabot.js …` (the built CLI) with a fresh data folder and an ephemeral HTTP port. */
export function runCli(args: string[], env: Record<string, string> = {}): Run & { dataDir: string } {
  const dataDir = env['MEDIABOT_DATA_DIR'] ?? mkdtempSync(join(tmpdir(), 'mediabot-e2e-'));
  const base = 43000 + (process.pid % 150) * 40;
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: REPO,
    env: {
      ...process.env,
      MEDIABOT_CLIENT_ID: '',
      MEDIABOT_CLIENT_SECRET: '',
      MEDIABOT_CLIENT_CERT: '',
      MEDIABOT_DATA_DIR: dataDir,
      MEDIABOT_PORT: '0',
      MEDIABOT_RTP_PORTS: `${base}-${base + 39}`,
      MEDIABOT_LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const waiters: Array<{ re: RegExp; resolve: (m: RegExpMatchArray) => void }> = [];
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    for (const w of [...waiters]) {
      const m = out.match(w.re);
      if (m) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  });
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return {
    child,
    dataDir,
    stdout: () => out,
    stderr: () => err,
    exit,
    waitFor(re, timeoutMs) {
      const m = out.match(re);
      if (m) return Promise.resolve(m);
      return new Promise((resolvePromise, reject) => {
        const t = setTimeout(() => reject(new Error(`no ${re} in stdout within ${timeoutMs} ms:\n${out}\n${err}`)), timeoutMs);
        waiters.push({
          re,
          resolve: (m) => {
            clearTimeout(t);
            resolvePromise(m);
          },
        });
        void exit.then(() => {
          clearTimeout(t);
          reject(new Error(`exited before ${re} appeared:\n${out}\n${err}`));
        });
      });
    },
  };
}
