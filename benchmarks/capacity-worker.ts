/**
 * One media thread of the capacity benchmark: receive-only calls (decode,
 * talk detection, 16 kHz tap; no mixing) fed from pre-encoded speech packets,
 * ticking on the real drift-corrected clock for a fixed time. The calls are
 * speech-only: Opus decodes straight to the 16 kHz tap (the SILK-layer speech
 * decoder; `fullDecode`: libopus's own 16 kHz decode, to compare).
 *
 * With `floor` set, the same streams' packets are only decoded (the same
 * decoder, to 16 kHz, nothing else) on the same clock: the pure codec cost the
 * pipeline is compared with, measured under the same load on every thread at once.
 */
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { MediaClock } from '../src/media/core/clock.js';
import { createOpusDecoder } from '../src/media/codec/opus.js';
import type { FrameDecoder } from '../src/media/codec/types.js';
import { SAMPLES_16K } from '../src/media/core/frame.js';
import { CallPipeline } from '../src/media/core/pipeline.js';
import { addFeeds, type TrackFeed } from './lib/feed.js';
import { quantile, nowUs } from './lib/stats.js';

interface Job {
  streams: number;
  streamsPerCall: number;
  seconds: number;
  tracks: { speech: Uint8Array[][]; noise: Uint8Array[] };
  threadIndex: number;
  floor?: boolean;
  fullDecode?: boolean;
  /** Talker i starts i × talkerStride packets into its track (conversational streams take turns independently). */
  talkerStride?: number;
}

const job = workerData as Job;
const calls: Array<{ pipeline: CallPipeline; feeds: TrackFeed[] }> = [];
for (let made = 0, c = 0; made < job.streams; c++) {
  const n = Math.min(job.streamsPerCall, job.streams - made);
  const pipeline = new CallPipeline({ callId: `cap-${job.threadIndex}-${c}`, mixing: false, speechOnly: true, sourceIdleMs: 3_600_000 });
  // Every stream carries speech (a third of them talking at once is typical; decoding cost is the same).
  const feeds = addFeeds(pipeline, job.tracks, n, n, (job.threadIndex << 20) + c * 1000, job.talkerStride ?? 0, job.fullDecode ?? false);
  calls.push({ pipeline, feeds });
  made += n;
}

// Floor mode: one bare decoder per stream, fed the packets its feed would push.
const floorDecoders: FrameDecoder[] = job.floor ? calls.flatMap((c) => c.feeds.map(() => createOpusDecoder(16_000, { fullDecode: job.fullDecode ?? false }))) : [];
const floorOut = new Int16Array(SAMPLES_16K);
const floorFeeds = calls.flatMap((c) => c.feeds);

const durations: number[] = [];
// Garbage collections of this thread while measured: a full (mark-compact) one pauses the ticks.
let measuring = false;
let majorGcs = 0;
let maxGcPauseMs = 0;
new PerformanceObserver((list) => {
  if (!measuring) return;
  for (const e of list.getEntries()) {
    if ((e as unknown as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) majorGcs++;
    maxGcPauseMs = Math.max(maxGcPauseMs, e.duration);
  }
}).observe({ entryTypes: ['gc'] });
const warmupTicks = 50;
const totalTicks = warmupTicks + Math.round((job.seconds * 1000) / 20);
const clock = new MediaClock(
  (n) => {
    const t0 = nowUs();
    const nowMs = performance.now();
    if (job.floor) {
      for (let i = 0; i < floorFeeds.length; i++) floorDecoders[i]!.decode(floorFeeds[i]!.packetAt(n), floorOut);
    } else {
      for (const c of calls) {
        for (const f of c.feeds) f.push(nowMs);
        c.pipeline.tick();
      }
    }
    if (n >= warmupTicks) durations.push(nowUs() - t0);
    if (n === warmupTicks - 1) {
      // Count lateness only after warm-up (JIT compilation of the first ticks).
      clock.stats.lateTicks = 0;
      clock.stats.maxLatenessMs = 0;
      measuring = true;
    }
    if (n + 1 >= totalTicks) {
      clock.stop();
      parentPort!.postMessage({
        ticks: durations.length,
        lateTicks: clock.stats.lateTicks,
        skippedTicks: clock.stats.skippedTicks,
        maxLatenessMs: clock.stats.maxLatenessMs,
        tickP50Ms: quantile(durations, 0.5) / 1000,
        tickP99Ms: quantile(durations, 0.99) / 1000,
        majorGcs,
        maxGcPauseMs,
      });
    }
  },
  { lateThresholdMs: 5 },
);
clock.start();
