/**
 * Runs mediabot instances as separate processes (`mediabot start` from the sources, through tsx),
 * the way an operator runs a fleet against a test tenant: Graph credentials and URLs from the
 * emulator, its CA trusted through NODE_EXTRA_CA_CERTS, Redis, an instance id and internal URL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { until } from '../../helpers/redis.js';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

export interface Instance {
  id: string;
  url: string;
  port: number;
  child: ChildProcess;
  exit: Promise<number | null>;
  output: () => string;
  api(method: string, path: string, body?: unknown): Promise<{ status: number; json: any; headers: Headers }>;
}

export function writeCa(pem: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'mediabot-ca-')), 'emulator-ca.pem');
  writeFileSync(file, pem);
  return file;
}

export async function startInstance(o: { id: string; port: number; rtpBase: number; env: Record<string, string>; dataDir?: string }): Promise<Instance> {
  const url = `http://127.0.0.1:${o.port}`;
  const dataDir = o.dataDir ?? mkdtempSync(join(tmpdir(), `mediabot-fleet-${o.id}-`));
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'start'], {
    cwd: REPO,
    env: {
      ...process.env,
      MEDIABOT_HOST: '127.0.0.1',
      MEDIABOT_PORT: String(o.port),
      MEDIABOT_DATA_DIR: dataDir,
      MEDIABOT_RTP_PORTS: `${o.rtpBase}-${o.rtpBase + 19}`,
      MEDIABOT_MEDIA_THREADS: '1',
      MEDIABOT_LOG_LEVEL: 'warn',
      MEDIABOT_INSTANCE_ID: o.id,
      MEDIABOT_INTERNAL_URL: url,
      ...o.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (d: Buffer): void => {
    out = (out + d.toString()).slice(-20_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const token = o.env['MEDIABOT_API_TOKEN'];
  const api: Instance['api'] = async (method, path, body) => {
    const headers: Record<string, string> = {};
    if (token) headers['authorization'] = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${url}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}), signal: AbortSignal.timeout(30_000) });
    const text = await res.text();
    let json: any = null;
    try {
      json = JSON.parse(text);
    } catch {
      json = text;
    }
    return { status: res.status, json, headers: res.headers };
  };
  let exited = false;
  void exit.then(() => (exited = true));
  await until(
    `instance ${o.id} ready`,
    async () => {
      if (exited) throw new Error(`instance ${o.id} exited:\n${out}`);
      const r = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(3000) }).catch(() => null);
      return r?.status === 200 ? true : undefined;
    },
    120_000,
    250,
  ).catch((err: unknown) => {
    child.kill('SIGKILL');
    throw new Error(`${String(err)}\n${out}`);
  });
  return { id: o.id, url, port: o.port, child, exit, output: () => out, api };
}
