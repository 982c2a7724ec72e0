/**
 * A throwaway redis-server on 127.0.0.1 for the fleet tests: a free port, no persistence
 * (`--save '' --appendonly no`), stopped (and restartable on the same port) by the test.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createConnection, createServer } from 'node:net';
import { restartableChild } from './child-server.js';

/** Why the fleet tests cannot run here, or null when redis-server is installed. */
export function redisMissing(): string | null {
  const r = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  return r.error || r.status !== 0 ? 'redis-server is not installed (Debian: apt-get install redis-server); the fleet tests need a real one' : null;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection({ host: '127.0.0.1', port });
    let buf = '';
    c.setTimeout(1000, () => c.destroy());
    c.on('connect', () => c.write('PING\r\n'));
    c.on('data', (d) => {
      buf += d.toString();
      if (buf.includes('+PONG')) {
        c.end();
        resolve(true);
      }
    });
    c.on('error', () => resolve(false));
    c.on('close', () => resolve(buf.includes('+PONG')));
  });
}

export interface RedisServer {
  port: number;
  url: string;
  stop(): Promise<void>;
  /** Starts again on the same port (empty: nothing is persisted). */
  start(): Promise<void>;
}

export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  const server = restartableChild(
    `redis-server on ${port}`,
    () => spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] }),
    () => answersPing(port),
    20_000,
    50,
  );
  await server.start();
  return { port, url: `redis://127.0.0.1:${port}`, stop: server.stop, start: server.start };
}

/** Polls `probe` until it returns something other than undefined, or throws after `timeoutMs`. */
/** Polls `probe` until it gives a value; on timeout the error names `what`, the probe's last error and `diagnostics()`. */
export async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000, everyMs = 100, diagnostics?: () => string): Promise<T> {
  const end = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${lastErr ? `: ${String(lastErr)}` : ''}${diagnostics ? `\n${diagnostics()}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
