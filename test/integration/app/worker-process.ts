/**
 * A mediabot worker as an operator runs it: `mediabot start` in its own process, configured only
 * through MEDIABOT_* variables (the emulator's CA through MEDIABOT_CA_FILE), talking to an emulator
 * running elsewhere. Helpers for its operator API and the emulator's control API.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where a worker finds the emulator: its MEDIABOT_* variables, and its CA (written to MEDIABOT_CA_FILE) unless env names one. */
export interface EmulatorTarget {
  env: Record<string, string>;
  caPem?: string;
}
/** What the emulator's control API needs: its base URL, control token and CA. */
export interface EmulatorAccess {
  emulator: { baseUrl: string; controlToken: string };
  caPem: string;
}

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const HAVE_POCKETSPHINX = spawnSync('sh', ['-c', 'command -v pocketsphinx_continuous']).status === 0;

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      s.close(() => res(port));
    });
  });
}

export interface WorkerProcess {
  child: ChildProcess;
  url: string;
  token: string;
  dataDir: string;
  output: () => string;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  api<T = any>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
}

export async function startWorkerProcess(graph: EmulatorTarget, env: Record<string, string> = {}): Promise<WorkerProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), 'mediabot-worker-'));
  const caFile = join(dataDir, 'emulator-ca.pem');
  if (graph.caPem !== undefined) writeFileSync(caFile, graph.caPem);
  const port = await freePort();
  const rtp = 43000 + (process.pid % 100) * 40 + Math.floor(Math.random() * 2) * 20;
  const token = graph.env['MEDIABOT_API_TOKEN']!;
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'start'], {
    cwd: REPO,
    env: {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      HOME: process.env['HOME'] ?? tmpdir(),
      ...graph.env,
      MEDIABOT_HOST: '127.0.0.1',
      MEDIABOT_PORT: String(port),
      MEDIABOT_DATA_DIR: dataDir,
      ...(graph.caPem !== undefined ? { MEDIABOT_CA_FILE: caFile } : {}),
      MEDIABOT_RTP_PORTS: `${rtp}-${rtp + 19}`,
      MEDIABOT_MEDIA_THREADS: '1',
      MEDIABOT_LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const url = `http://127.0.0.1:${port}`;
  const api = async <T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    return { status: res.status, body: parsed as T };
  };
  const w: WorkerProcess = { child, url, token, dataDir, output: () => out, exited, api };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`mediabot start exited with ${child.exitCode}:\n${out}`);
    const ok = await fetch(`${url}/readyz`).then((r) => r.status === 200, () => false);
    if (ok) return w;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`mediabot start did not become ready:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A request to the emulator's control API (its control token; its CA). */
export function emulatorControl<T = any>(graph: EmulatorAccess, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const e = graph.emulator;
  return new Promise((res, rej) => {
    const req = httpsRequest(`${e.baseUrl}${path}`, { method, ca: graph.caPem, headers: { authorization: `Bearer ${e.controlToken}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) } }, (r) => {
      let text = '';
      r.on('data', (d: Buffer) => (text += d.toString()));
      r.on('end', () => {
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          /* empty */
        }
        res({ status: r.statusCode ?? 0, body: parsed as T });
      });
    });
    req.on('error', rej);
    req.end(body !== undefined ? JSON.stringify(body) : undefined);
  });
}

export async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000, everyMs = 200): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
