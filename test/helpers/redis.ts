/**
 * A throwaway redis-server on 127.0.0.1 for the fleet tests: a free port, no persistence
 * (`--save '' --appendonly no`), stopped (and restartable on the same port) by the test.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createConnection, createServer } from 'node:net';

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
  let child: ChildProcess | null = null;
  const start = async (): Promise<void> => {
    let out = '';
    const c = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
    c.stdout!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-4000)));
    c.stderr!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-4000)));
    child = c;
    const deadline = Date.now() + 20_000;
    while (!(await answersPing(port))) {
      if (c.exitCode !== null || Date.now() > deadline) throw new Error(`redis-server did not start on ${port}:\n${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const stop = async (): Promise<void> => {
    const c = child;
    child = null;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill('SIGKILL');
    await exited;
  };
  await start();
  return { port, url: `redis://127.0.0.1:${port}`, stop, start };
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
