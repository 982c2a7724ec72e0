/**
 * `npm run bench:signaling`: how fast a worker acknowledges Graph's call notifications. A worker
 * (`mediabot start`, its own process) gets signed notifications on /api/calling at a rising rate,
 * open loop (each request is due at its time whether or not earlier ones were answered, and its
 * latency counts from that time, so a server falling behind shows as latency, not as a slower
 * client). Graph requires an acknowledgement within a few seconds; the goal is p99 < 100 ms at
 * 500 notifications per second.
 *
 * The notifications are what Graph sends most: call updates (`changeType: updated`, state
 * `established`, a new etag each) spread over 200 calls, each carrying a bearer JWT signed the way
 * Graph's calling service signs them (RS256, iss https://api.botframework.com, aud the app id, tid;
 * the emulator's CallbackSigner), checked against keys the worker fetches from an OpenID
 * configuration served here. Prints one JSON object on stdout; progress on stderr.
 *
 *   --quick        shorter steps (2 s instead of 5 s)
 *   --max-rate N   stop after this rate (default 6000/s)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { Agent, createServer, request, type Server } from 'node:http';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CallbackSigner, CALLBACK_ISSUER } from '../testing/emulator/callback-signer.js';
import { progress, quantile, round } from './lib/stats.js';

const GOAL_RATE = 500;
const GOAL_P99_MS = 100;
const LIMIT_P99_MS = 1000;
const CALLS = 200;
const RATES = [100, 250, 500, 750, 1000, 1500, 2000, 3000, 4000, 6000, 8000];

const here = dirname(fileURLToPath(import.meta.url));
const fromSource = import.meta.url.endsWith('.ts');
// benchmarks/ in the source tree, dist/benchmarks/ once built.
const repo = resolve(here, fromSource ? '..' : '../..');

interface Step {
  rate: number;
  sent: number;
  ok: number;
  errors: number;
  achievedRps: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

function listen(server: Server): Promise<number> {
  return new Promise((res) => server.listen(0, '127.0.0.1', () => res((server.address() as { port: number }).port)));
}

async function freePort(): Promise<number> {
  const s = createServer();
  const port = await listen(s);
  await new Promise((r) => s.close(r));
  return port;
}

/** Serves the OpenID configuration and the keys the worker checks callback tokens against. */
async function keyServer(signer: CallbackSigner): Promise<{ url: string; close: () => Promise<void> }> {
  let base = '';
  const server = createServer((req, res) => {
    const body =
      req.url === '/openid'
        ? { issuer: CALLBACK_ISSUER, jwks_uri: `${base}/keys`, id_token_signing_alg_values_supported: ['RS256'] }
        : req.url === '/keys'
          ? signer.jwks()
          : null;
    res.writeHead(body === null ? 404 : 200, { 'content-type': 'application/json' }).end(JSON.stringify(body ?? { error: 'not found' }));
  });
  const port = await listen(server);
  base = `http://127.0.0.1:${port}`;
  return { url: base, close: () => new Promise((r) => server.close(() => r())) };
}

async function startWorker(env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort();
  const args = fromSource ? ['--import', 'tsx', join(repo, 'src/cli/main.ts'), 'start'] : [join(repo, 'bin/mediabot.js'), 'start'];
  const child = spawn(process.execPath, args, {
    cwd: repo,
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? tmpdir(), ...env, MEDIABOT_PORT: String(port), MEDIABOT_HOST: '127.0.0.1' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  while ((await fetch(`${url}/healthz`).then((r) => r.status, () => 0)) !== 200) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the worker did not start: ${err}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return { child, url };
}

function notification(callId: string, etag: number, tenantId: string, callbackUri: string): string {
  return JSON.stringify({
    '@odata.type': '#microsoft.graph.commsNotifications',
    value: [
      {
        '@odata.type': '#microsoft.graph.commsNotification',
        changeType: 'updated',
        resourceUrl: `/communications/calls/${callId}`,
        callbackUri,
        resourceData: {
          '@odata.type': '#microsoft.graph.call',
          '@odata.id': `/communications/calls/${callId}`,
          '@odata.etag': `W/"${etag}"`,
          id: callId,
          state: 'established',
          direction: 'outgoing',
          tenantId,
          callbackUri,
        },
      },
    ],
  });
}

/** Posts `rate` notifications a second for `seconds`, open loop; latencies from each request's due time. */
async function runStep(o: { url: string; rate: number; seconds: number; token: string; tenantId: string; agent: Agent; etag: { n: number }; callIds: string[] }): Promise<Step> {
  const total = Math.round(o.rate * o.seconds);
  const latencies: number[] = [];
  let ok = 0;
  let errors = 0;
  let pending = 0;
  const target = new URL(`${o.url}/api/calling`);
  const callbackUri = target.href;
  const t0 = performance.now();
  let sent = 0;
  const done = new Promise<void>((resolveAll) => {
    const finishOne = (): void => {
      pending--;
      if (sent === total && pending === 0) resolveAll();
    };
    const send = (due: number): void => {
      const body = notification(o.callIds[sent % o.callIds.length]!, ++o.etag.n, o.tenantId, callbackUri);
      pending++;
      const req = request(
        { host: target.hostname, port: target.port, path: target.pathname, method: 'POST', agent: o.agent, headers: { authorization: `Bearer ${o.token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
        (res) => {
          res.resume();
          res.on('end', () => {
            latencies.push(performance.now() - due);
            if (res.statusCode === 202 || res.statusCode === 200) ok++;
            else errors++;
            finishOne();
          });
        },
      );
      req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
      req.on('error', () => {
        latencies.push(performance.now() - due);
        errors++;
        finishOne();
      });
      req.end(body);
    };
    // Every 5 ms, send what has come due since.
    const tick = (): void => {
      const now = performance.now();
      const due = Math.min(total, Math.floor(((now - t0) / 1000) * o.rate));
      while (sent < due) {
        send(t0 + (sent * 1000) / o.rate);
        sent++;
      }
      if (sent < total) setTimeout(tick, 5);
      else if (pending === 0) resolveAll();
    };
    tick();
  });
  await done;
  const elapsed = (performance.now() - t0) / 1000;
  return { rate: o.rate, sent, ok, errors, achievedRps: round(ok / elapsed, 0), p50Ms: round(quantile(latencies, 0.5), 2), p99Ms: round(quantile(latencies, 0.99), 2), maxMs: round(Math.max(...latencies), 2) };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { quick: { type: 'boolean' }, 'max-rate': { type: 'string' } } });
  const seconds = values.quick ? 2 : 5;
  const maxRate = values['max-rate'] !== undefined ? Number(values['max-rate']) : RATES[RATES.length - 1]!;
  const signer = await CallbackSigner.create();
  const keys = await keyServer(signer);
  const tenantId = randomUUID();
  const clientId = randomUUID();
  const worker = await startWorker({
    MEDIABOT_TENANT_ID: tenantId,
    MEDIABOT_CLIENT_ID: clientId,
    MEDIABOT_CLIENT_SECRET: randomBytes(24).toString('base64url'),
    // Only the callback keys are fetched; Graph and the authority are never called for these notifications.
    MEDIABOT_GRAPH_URL: `${keys.url}/graph`,
    MEDIABOT_AUTHORITY_URL: keys.url,
    MEDIABOT_CALLBACK_OPENID_URL: `${keys.url}/openid`,
    MEDIABOT_API_TOKEN: randomBytes(32).toString('base64url'),
    MEDIABOT_DATA_DIR: mkdtempSync(join(tmpdir(), 'mediabot-bench-signaling-')),
    MEDIABOT_MEDIA_THREADS: '1',
    MEDIABOT_LOG_LEVEL: 'warn',
  });
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const token = await signer.sign(clientId, tenantId);
  const callIds = Array.from({ length: CALLS }, () => randomUUID());
  const etag = { n: 0 };
  const steps: Step[] = [];
  try {
    progress(`worker at ${worker.url}; warming up`);
    await runStep({ url: worker.url, rate: 250, seconds: 3, token, tenantId, agent, etag, callIds });
    for (const rate of RATES.filter((r) => r <= maxRate)) {
      const s = await runStep({ url: worker.url, rate, seconds, token, tenantId, agent, etag, callIds });
      steps.push(s);
      progress(`${rate}/s: p50 ${s.p50Ms} ms, p99 ${s.p99Ms} ms, ${s.achievedRps}/s acknowledged, ${s.errors} errors`);
      if (s.p99Ms > LIMIT_P99_MS || s.errors > s.sent * 0.01) break;
    }
  } finally {
    agent.destroy();
    // A throwaway worker: its 200 calls exist only in its memory, and a drain would wait for them.
    const exited = new Promise((r) => worker.child.once('exit', r));
    worker.child.kill('SIGKILL');
    await exited;
    await keys.close();
  }
  const atGoal = steps.find((s) => s.rate === GOAL_RATE);
  const crossing = steps.find((s) => s.p99Ms > LIMIT_P99_MS || s.errors > s.sent * 0.01);
  const result = {
    benchmark: 'signaling',
    notifications: `signed call updates over ${CALLS} calls, open loop, ${seconds} s per rate, keep-alive connections`,
    cpus: availableParallelism(),
    at500PerSecond: atGoal ? { p50Ms: atGoal.p50Ms, p99Ms: atGoal.p99Ms, errors: atGoal.errors, goalP99Ms: GOAL_P99_MS, meetsGoal: atGoal.p99Ms < GOAL_P99_MS && atGoal.errors === 0 } : null,
    // The first rate at which p99 passed 1 s (or 1 % of requests failed); null: not within the rates tried.
    p99Over1sAtRate: crossing?.rate ?? null,
    highestRateTried: steps[steps.length - 1]?.rate ?? null,
    steps,
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:signaling failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
