/**
 * Ingress benchmark: real WebSocket peers against a real fastify server and the
 * media thread pool, on the real clock, with the recorder (WAV) and talk events on.
 *
 *  - bridge: 20 calls × 4 unmixed speakers + the mixed stream (one sidecar
 *    connection per call, the bridge simulator), the call's mix sent back.
 *  - acs: 20 ACS calls × 2 unmixed participants in exact ACS JSON (base64 PCM), the mix sent back
 *    as AudioData. The peers run in their own process.
 *
 * Reports per phase: tick p99 (the worst call's per-tick time, ms), late ticks of
 * the media threads during the phase, frames in/out, and the main thread's
 * event-loop delay p99 (where the WebSocket servers run).
 * Run alone: `npx tsx benchmarks/ingress.ts [--quick]`.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import Fastify from 'fastify';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import type { PeersJob, PeersResult } from './ingress-peers.js';
import { DEFAULT_SCRIPT, defaultSpeechCacheDir, SpeechBank } from '../testing/emulator/speech.js';
import { parseWavPcm16 } from '../src/media/wire/wav.js';
import { Decimator48to16 } from '../src/media/codec/resampler.js';
import { MediaThreadPool, type CallMediaStats } from '../src/media/threads/pool.js';
import { AcsIngress, acsIngressPlugin } from '../src/ingress/acs/adapter.js';
import { BridgeIngress, bridgeIngressPlugin } from '../src/ingress/bridge/adapter.js';
import { ensureWebsocket } from '../src/ingress/common/shared.js';
import { progress, round } from './lib/stats.js';

export interface IngressPhaseResult {
  calls: number;
  tick_p99_ms: number;
  tick_p50_ms: number;
  late_ticks: number;
  ticks: number;
  seconds: number;
  frames_in: number;
  outbound_frames: number;
  main_loop_delay_p99_ms: number;
  /** CPU of mediabot's process (main thread + media threads) in cores, over the measured window. */
  server_cpu_cores: number;
  /** CPU of the simulated peers' process (sidecars or ACS), in cores: on a small machine they compete with mediabot. */
  peers_cpu_cores: number;
}

export interface IngressBenchResult {
  media_threads: number;
  bridge: IngressPhaseResult & { speakers: number };
  acs: IngressPhaseResult & { participants: number };
}

/**
 * Tick figures over the measured window only: per-call tick histograms (bucketed, µs) are
 * differenced between two snapshots and pooled across calls; late ticks of each media thread
 * likewise.
 */
function steadyState(first: CallMediaStats[], last: CallMediaStats[]): { p99: number; p50: number; late: number; ticks: number } {
  const pooled = new Map<number, number>();
  let total = 0;
  last.forEach((s, i) => {
    const before = new Map(first[i]!.stages.tick.buckets);
    for (const [bound, count] of s.stages.tick.buckets) {
      const d = count - (before.get(bound) ?? 0);
      pooled.set(bound, (pooled.get(bound) ?? 0) + d);
      total += d;
    }
  });
  const q = (p: number): number => {
    let acc = 0;
    for (const [bound, count] of [...pooled].sort((x, y) => x[0] - y[0])) {
      acc += count;
      if (acc >= p * total) return bound;
    }
    return Infinity;
  };
  const clocks = (stats: CallMediaStats[]): Map<number, { ticks: number; lateTicks: number }> => {
    const m = new Map<number, { ticks: number; lateTicks: number }>();
    for (const s of stats) if (s.threadId !== undefined) m.set(s.threadId, { ticks: s.clock.ticks, lateTicks: s.clock.lateTicks });
    return m;
  };
  const a = clocks(first);
  let late = 0;
  let ticks = 0;
  for (const [id, c] of clocks(last)) {
    const b0 = a.get(id) ?? { ticks: 0, lateTicks: 0 };
    late += c.lateTicks - b0.lateTicks;
    ticks += c.ticks - b0.ticks;
  }
  return { p99: q(0.99), p50: q(0.5), late, ticks };
}

/** The peers script, compiled (.js) or, under tsx, TypeScript. */
function peersEntry(): { path: string; execArgv: string[] } {
  const js = fileURLToPath(new URL('./ingress-peers.js', import.meta.url));
  if (existsSync(js)) return { path: js, execArgv: [] };
  return { path: fileURLToPath(new URL('./ingress-peers.ts', import.meta.url)), execArgv: ['--import', 'tsx'] };
}

export async function benchIngress(opts: { quick?: boolean } = {}): Promise<IngressBenchResult> {
  const seconds = opts.quick ? 4 : 20;
  const calls = 20;
  const threads = Math.max(1, Math.min(availableParallelism(), 4));
  const dir = mkdtempSync(join(tmpdir(), 'mediabot-bench-ingress-'));
  const pool = new MediaThreadPool(threads);
  const callSpec = (callId: string) => ({
    sourceIdleMs: 600_000,
    hooks: process.env.BENCH_INGRESS_HOOKS === 'off' ? [] : [{ builtin: 'recorder', options: { dir: join(dir, callId), format: 'wav' } }, { builtin: 'talk-events' }],
  });
  // Outbound 'mix' (the call's audio back every tick): the upper bound of outbound work.
  const outbound = process.env.BENCH_INGRESS_OUTBOUND === 'off' ? 'off' : 'mix';
  const bridge = new BridgeIngress({ pool, tokens: ['bench'], callSpec, heartbeatMs: 5000, outbound });
  const acs = new AcsIngress({ pool, callSpec, endGraceMs: 100, outbound, bargeIn: false });
  const app = Fastify();
  await ensureWebsocket(app);
  await app.register(bridgeIngressPlugin, { ingress: bridge });
  await app.register(acsIngressPlugin, { ingress: acs });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as { port: number }).port;

  try {
    const phase = async (mode: 'bridge' | 'acs', speakers: number): Promise<IngressPhaseResult> => {
      progress(`ingress bench: ${mode}, ${calls} calls × ${speakers} speakers, ${seconds} s, ${threads} media threads`);
      const callIds = Array.from({ length: calls }, (_, i) => `bench-${mode}-${i}`);
      const loop = monitorEventLoopDelay({ resolution: 10 });
      const job: PeersJob = { mode, port, callIds, speakers, seconds };
      const entry = peersEntry();
      const child = spawn(process.execPath, [...entry.execArgv, entry.path, JSON.stringify(job)], { stdio: ['ignore', 'pipe', 'inherit'] });
      let stdout = '';
      child.stdout.on('data', (d) => (stdout += d));
      const done = new Promise<PeersResult>((resolve, reject) => {
        child.once('close', () => {
          try {
            const m = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as PeersResult | { error: string };
            if ('error' in m) reject(new Error(m.error));
            else resolve(m);
          } catch (err) {
            reject(err);
          }
        });
      });
      // The peers connect once they have loaded their speech; wait for the calls to exist.
      // Generous: on a loaded machine the peers take a while to prepare their speech (not measured).
      const t0 = Date.now();
      while (!callIds.every((id) => pool.hasCall(id))) {
        if (child.exitCode !== null) throw new Error(`the benchmark peers exited before starting their calls: ${stdout.trim()}`);
        if (Date.now() - t0 > 120_000) throw new Error('the benchmark peers did not start their calls');
        await new Promise((r) => setTimeout(r, 50));
      }
      // Measure the steady state: from 2 s in to 1 s before the streams end.
      await new Promise((r) => setTimeout(r, 2000));
      const first = await Promise.all(callIds.map((id) => pool.callStats(id)));
      loop.enable();
      const cpu0 = process.cpuUsage();
      const wall0 = performance.now();
      await new Promise((r) => setTimeout(r, (seconds - 3) * 1000));
      const last = await Promise.all(callIds.map((id) => pool.callStats(id)));
      const cpu = process.cpuUsage(cpu0);
      const wallMs = performance.now() - wall0;
      loop.disable();
      const peers = await done;
      const r = steadyState(first, last);
      const out: IngressPhaseResult = {
        calls,
        tick_p99_ms: round(r.p99 / 1000, 3),
        tick_p50_ms: round(r.p50 / 1000, 3),
        late_ticks: r.late,
        ticks: r.ticks,
        seconds,
        frames_in: peers.framesIn,
        outbound_frames: peers.outboundFrames,
        main_loop_delay_p99_ms: round(loop.percentile(99) / 1e6, 2),
        server_cpu_cores: round((cpu.user + cpu.system) / 1000 / wallMs, 2),
        peers_cpu_cores: peers.cpuCores ?? 0,
      };
      progress(`ingress bench: ${mode} ${JSON.stringify(out)}`);
      await new Promise((r2) => setTimeout(r2, 500));
      return out;
    };
    const bridgeResult = await phase('bridge', 4);
    const acsResult = await phase('acs', 2);
    return { media_threads: threads, bridge: { ...bridgeResult, speakers: 4 }, acs: { ...acsResult, participants: 2 } };
  } finally {
    await bridge.close();
    await acs.close();
    await app.close();
    await pool.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  benchIngress({ quick: process.argv.includes('--quick') }).then(
    (r) => process.stdout.write(`${JSON.stringify(r)}\n`),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
