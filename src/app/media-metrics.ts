/**
 * Media metrics for /metrics, sampled from the media threads' call stats every few seconds
 * (the media threads own the figures; scraping never waits on them).
 */
import { Gauge, type Registry } from 'prom-client';
import type { CallMediaStats, MediaThreadPool } from '../media/threads/pool.js';

export interface MediaMetrics {
  /** Samples the given media calls now (also runs on its own timer). */
  sample(): Promise<void>;
  stop(): void;
}

interface HookStat {
  name: string;
  dropped?: number;
  overBudget?: number;
  errors?: number;
}

export function createMediaMetrics(registry: Registry, pool: MediaThreadPool, mediaIds: () => string[], intervalMs = 5000, prefix = 'mediabot_'): MediaMetrics {
  const registers = [registry];
  const tick = new Gauge({ name: `${prefix}media_tick_us`, help: 'Per-call tick time in microseconds (worst call), by quantile', labelNames: ['quantile'] as const, registers });
  const stage = new Gauge({ name: `${prefix}media_stage_p99_us`, help: 'p99 time per pipeline stage in microseconds (worst call)', labelNames: ['stage'] as const, registers });
  const lateTicks = new Gauge({ name: `${prefix}media_late_ticks`, help: 'Late ticks counted by a media thread clock (worst thread with calls)', registers });
  const skipped = new Gauge({ name: `${prefix}media_skipped_ticks`, help: 'Ticks skipped after stalls (worst thread with calls)', registers });
  const maxLateness = new Gauge({ name: `${prefix}media_max_lateness_ms`, help: 'Largest tick lateness seen, ms', registers });
  const calls = new Gauge({ name: `${prefix}media_calls`, help: 'Calls with media on the media threads', registers });
  const sources = new Gauge({ name: `${prefix}media_sources`, help: 'RTP sources across media calls', registers });
  const jitter = new Gauge({ name: `${prefix}media_jitter_ms`, help: 'RFC 3550 interarrival jitter across sources, ms', labelNames: ['stat'] as const, registers });
  const playout = new Gauge({ name: `${prefix}media_playout_delay_ms`, help: 'Mean playout delay the jitter buffers add, across sources, ms', labelNames: ['stat'] as const, registers });
  const packets = new Gauge({ name: `${prefix}media_packets`, help: 'Jitter buffer packet counters summed over current media calls', labelNames: ['kind'] as const, registers });
  const rtpGuard = new Gauge({ name: `${prefix}media_rtp_guard`, help: 'RTP source guard counters summed over current media calls (src/media/session/rtp/source-guard.ts)', labelNames: ['kind'] as const, registers });
  const hookDrops = new Gauge({ name: `${prefix}hook_dropped_items`, help: 'Items dropped by async hook queues (current media calls)', labelNames: ['hook'] as const, registers });
  const hookOver = new Gauge({ name: `${prefix}hook_over_budget`, help: 'Inline hook calls over their time budget (current media calls)', labelNames: ['hook'] as const, registers });

  const sample = async (): Promise<void> => {
    const ids = mediaIds();
    const stats = (await Promise.all(ids.map((id) => pool.callStats(id).catch(() => null)))).filter((s): s is CallMediaStats => s !== null);
    calls.set(stats.length);
    let p50 = 0;
    let p99 = 0;
    let max = 0;
    const stageP99: Record<string, number> = { decode: 0, mix: 0, encode: 0, hooks: 0 };
    let late = 0;
    let skip = 0;
    let worst = 0;
    let sourceCount = 0;
    const jit: number[] = [];
    const delay: number[] = [];
    const counters: Record<string, number> = { received: 0, lost: 0, late: 0, concealed: 0, duplicate: 0, fecRecovered: 0 };
    const guard: Record<string, number> = { sourcesAdmitted: 0, sourcesRefused: 0, probationPackets: 0, wrongAddress: 0, relatched: 0, peerRefused: 0, rtcpRefused: 0, withheld: 0 };
    const drops: Record<string, number> = {};
    const over: Record<string, number> = {};
    for (const s of stats) {
      p50 = Math.max(p50, s.stages.tick.p50Us);
      p99 = Math.max(p99, s.stages.tick.p99Us);
      max = Math.max(max, s.stages.tick.maxUs);
      for (const k of Object.keys(stageP99)) stageP99[k] = Math.max(stageP99[k]!, (s.stages as unknown as Record<string, { p99Us: number }>)[k]?.p99Us ?? 0);
      // Calls on one thread share its clock: report the worst thread.
      late = Math.max(late, s.clock.lateTicks);
      skip = Math.max(skip, s.clock.skippedTicks);
      worst = Math.max(worst, s.clock.maxLatenessMs);
      for (const src of s.sources) {
        sourceCount++;
        const j = src.jitter;
        if (!j) continue;
        if (typeof j['jitterMs'] === 'number') jit.push(j['jitterMs']);
        if (typeof j['meanDepthMs'] === 'number') delay.push(j['meanDepthMs']);
        for (const k of Object.keys(counters)) counters[k] = counters[k]! + (typeof j[k] === 'number' ? j[k]! : 0);
      }
      for (const k of Object.keys(guard)) guard[k] = guard[k]! + (s.transport?.[k] ?? 0);
      const hooks = (s.hooks as { hooks?: HookStat[] } | null)?.hooks ?? [];
      for (const h of hooks) {
        drops[h.name] = (drops[h.name] ?? 0) + (h.dropped ?? 0);
        over[h.name] = (over[h.name] ?? 0) + (h.overBudget ?? 0);
      }
    }
    tick.set({ quantile: '0.5' }, p50);
    tick.set({ quantile: '0.99' }, p99);
    tick.set({ quantile: 'max' }, max);
    for (const [k, v] of Object.entries(stageP99)) stage.set({ stage: k }, v);
    if (stats.length > 0) {
      lateTicks.set(late);
      skipped.set(skip);
      maxLateness.set(worst);
    }
    sources.set(sourceCount);
    jit.sort((a, b) => a - b);
    jitter.set({ stat: 'mean' }, jit.length ? jit.reduce((a, b) => a + b, 0) / jit.length : 0);
    jitter.set({ stat: 'max' }, jit.length ? jit[jit.length - 1]! : 0);
    playout.set({ stat: 'mean' }, delay.length ? delay.reduce((a, b) => a + b, 0) / delay.length : 0);
    playout.set({ stat: 'max' }, delay.length ? Math.max(...delay) : 0);
    for (const [k, v] of Object.entries(counters)) packets.set({ kind: k }, v);
    for (const [k, v] of Object.entries(guard)) rtpGuard.set({ kind: k }, v);
    for (const [k, v] of Object.entries(drops)) hookDrops.set({ hook: k }, v);
    for (const [k, v] of Object.entries(over)) hookOver.set({ hook: k }, v);
  };

  const timer = setInterval(() => void sample().catch(() => undefined), intervalMs);
  timer.unref();
  return { sample, stop: () => clearInterval(timer) };
}
