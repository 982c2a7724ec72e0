/**
 * `npm run bench [-- --quick]`: the media core's budgets, measured in one run.
 * Prints one JSON object on stdout; progress goes to stderr.
 *
 *  - codec_floor_us: pure libopus cost per 20 ms frame of real speech (decode, encode).
 *  - calls: a conference per size, on the real clock: tick time p50/p99, encodes
 *    per tick, late ticks, and overhead_ratio = mediabot's CPU per tick divided by
 *    the pure libopus work for the same frames (the same decodes and encodes,
 *    replayed right after, in the same process), and that bare codec work's own
 *    p50/p99 per tick (codec_tick_*_ms): a speech transient costs libopus more than a
 *    pause, so part of any tick's p99 is the codec's own.
 *  - latency: packet in to mixed packet out through `mediabot rtp` over UDP, on a
 *    clean and a jittered path, against the budget of playout depth + one tick.
 *  - capacity: the most receive-only participant streams (decode, talk detection,
 *    16 kHz tap) the media threads hold with no late tick (> 5 ms behind).
 *  - udp_batch: CPU per packet of a 10-participant tick's packets through the
 *    native batched UDP (recvmmsg/sendmmsg) and through node:dgram, and the ratio.
 *  - gc (full mode): the same streams with V8's memory reducer on and off.
 *
 * `--capacity N [--seconds S] [--talk-fraction F] [--libopus-16k]` runs only a capacity hold: N
 * streams on the media threads for S seconds (default 60), each talking F of the time (default 1)
 * and sending DTX frames the rest, and reports the late ticks. `--libopus-16k` decodes with
 * libopus's own 16 kHz decode instead of the SILK-layer speech decoder (the before of that change).
 * `--calls-only` runs the codec floor and the calls (tick times, overhead against bare libopus) alone.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';
import { codecBackend, createOpusDecoder, createOpusEncoder } from '../src/media/codec/opus.js';
import { SAMPLES_48K } from '../src/media/core/frame.js';
import { disableMemoryReducer } from '../src/media/threads/gc-tuning.js';
import { MediaClock } from '../src/media/core/clock.js';
import { CallPipeline, type TickHooks } from '../src/media/core/pipeline.js';
import type { AsyncHook, Hook, MediaEvent, TickFrame } from '../src/media/hooks/api.js';
import { HookRunner } from '../src/media/hooks/runner.js';
import { createTalkEventsHook } from '../src/media/hooks/builtin/talk-events.js';
import { createRecorderHook } from '../src/media/hooks/recorder/index.js';
import { addFeeds } from './lib/feed.js';
import { benchIngress } from './ingress.js';
import { benchUdpBatch } from './udp-batch.js';
import { latencyCases } from './latency.js';
import { packetTracks } from './lib/speech-packets.js';
import { median, nowUs, progress, quantile, round } from './lib/stats.js';

const quick = process.argv.includes('--quick');
/** `--capacity N`: only hold N receive-only streams for CAPACITY_HOLD_S (or `--seconds S`) and report late ticks. */
const argValue = (name: string): number | undefined => {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] !== undefined ? Number(process.argv[i + 1]) : undefined;
};
const holdStreams = argValue('--capacity');
/**
 * `--talk-fraction F` (with --capacity): each stream talks F of the time, in turns of 3 s, and sends
 * DTX frames (a TOC byte, as a sender with Opus DTX does) the rest; default 1: speech throughout.
 */
const talkFraction = argValue('--talk-fraction') ?? 1;
/** Capacity with libopus's full 16 kHz decode (CELT layer included) rather than the SILK-layer speech decoder. */
const fullDecode = process.argv.includes('--libopus-16k');
const callsOnly = process.argv.includes('--calls-only');

/** Each speech track as a conversation: TURN_FRAMES of speech, then DTX frames for the rest of its share. */
function conversational(tracks: Tracks, fraction: number): Tracks {
  if (fraction >= 1) return tracks;
  const TURN_FRAMES = 150;
  const quietFrames = Math.round((TURN_FRAMES * (1 - fraction)) / fraction);
  const speech = tracks.speech.map((t) => {
    const out: Uint8Array[] = [];
    for (let at = 0; at + TURN_FRAMES <= t.length; at += TURN_FRAMES) {
      out.push(...t.slice(at, at + TURN_FRAMES));
      const dtx = Uint8Array.of(t[at]![0]!); // the turn's TOC byte alone: no frame data
      for (let q = 0; q < quietFrames; q++) out.push(dtx);
    }
    return out;
  });
  // Streams take their turns independently, not all at once: each starts at its own point of the track.
  return { ...tracks, speech, talkerStride: 37 };
}
/** The capacity target's duration (full mode's search steps run this long too). */
const CAPACITY_HOLD_S = 60;
/** The bench's packet tracks; `talkerStride` staggers the talkers' starting points (conversational streams). */
type Tracks = Awaited<ReturnType<typeof packetTracks>> & { talkerStride?: number };

function codecFloor(tracks: Tracks): { decode: number; decode_16k: number; decode_16k_libopus: number; encode: number } {
  const packets = tracks.speech[0]!.slice(0, 400);
  const pcm = tracks.speechPcm[1]!;
  const out = new Int16Array(SAMPLES_48K);
  const out16 = new Int16Array(SAMPLES_48K / 3);
  const buf = new Uint8Array(1276);
  const dec: number[] = [];
  const dec16: number[] = [];
  const dec16Full: number[] = [];
  const enc: number[] = [];
  for (let rep = 0; rep < 5; rep++) {
    const d = createOpusDecoder();
    let t = nowUs();
    for (const p of packets) d.decode(p, out);
    dec.push((nowUs() - t) / packets.length);
    const d16 = createOpusDecoder(16_000);
    t = nowUs();
    for (const p of packets) d16.decode(p, out16);
    dec16.push((nowUs() - t) / packets.length);
    const d16Full = createOpusDecoder(16_000, { fullDecode: true });
    t = nowUs();
    for (const p of packets) d16Full.decode(p, out16);
    dec16Full.push((nowUs() - t) / packets.length);
    const e = createOpusEncoder();
    const frames = Math.min(400, Math.floor(pcm.length / SAMPLES_48K));
    t = nowUs();
    for (let f = 0; f < frames; f++) e.encode(pcm.subarray(f * SAMPLES_48K, (f + 1) * SAMPLES_48K), buf);
    enc.push((nowUs() - t) / frames);
  }
  return { decode: round(median(dec), 2), decode_16k: round(median(dec16), 2), decode_16k_libopus: round(median(dec16Full), 2), encode: round(median(enc), 2) };
}

/**
 * Keeps what the floor replay needs (the full mix of each tick), then hands
 * the tick to the real hook runner when the scenario has hooks.
 */
class Probe implements TickHooks {
  constructor(
    private readonly mixes: Int16Array,
    private readonly runner: HookRunner | null,
  ) {}
  tick = 0;
  onTick(f: TickFrame): void {
    if (this.tick * SAMPLES_48K < this.mixes.length) this.mixes.set(f.mix48, this.tick * SAMPLES_48K);
    this.tick++;
    this.runner?.onTick(f);
  }
  onEvent(e: MediaEvent): void {
    this.runner?.onEvent(e);
  }
  async stop(): Promise<void> {
    await this.runner?.stop();
  }
}

/** An async hook that takes 50 ms per frame: far slower than real time. It must not slow the tick. */
function sleepyHook(): AsyncHook {
  return {
    name: 'sleepy',
    queueSize: 100,
    // Its backlog is not drained at the call's end (that would take 100 × 50 ms).
    stopTimeoutMs: 200,
    async run(items) {
      for await (const _ of items) await new Promise((r) => setTimeout(r, 50));
    },
  };
}

interface CallResult {
  participants: number;
  talkers: number;
  tick_p50_ms: number;
  tick_p99_ms: number;
  encodes_per_tick: number;
  /** talkers + 1 shared encode for the listeners (no shared encode when everyone talks). */
  encodes_expected: number;
  encodes_per_tick_mean: number;
  overhead_ratio: number;
  /** The bare codec work of the same ticks (phase 2), per tick: what the tick times stand on. */
  codec_tick_p50_ms: number;
  codec_tick_p99_ms: number;
  /** The pipeline's ticks back to back (phase 2, hot caches), beside the bare codec's. */
  hot_tick_p50_ms: number;
  hot_tick_p99_ms: number;
  late_ticks: number;
  ticks: number;
}

/**
 * One conference. Phase 1 runs on the real 20 ms clock (tick time, late ticks,
 * encodes). Phase 2 measures overhead in interleaved blocks: a block of ticks
 * back to back, then the same codec work bare (the same packets through plain
 * decoders, the same number of encodes of the same mixes); the ratio is the
 * median over blocks, so a change of machine load hits both sides alike.
 */
async function benchCall(tracks: Tracks, participants: number, talkers: number, ticks: number, hooks: Hook[] = []): Promise<CallResult> {
  const warmup = quick ? 50 : 100;
  const block = 50;
  const mixes = new Int16Array(block * SAMPLES_48K);
  const callId = `bench-${participants}-${hooks.length}`;
  const runner = hooks.length > 0 ? new HookRunner({ callId, hooks, emit: () => {} }) : null;
  const probe = new Probe(mixes, runner);
  const pipeline = new CallPipeline({ callId, hooks: probe, sourceIdleMs: 3_600_000, alwaysEncodeMix: hooks.length > 0 });
  const feeds = addFeeds(pipeline, tracks, participants, talkers, participants * 1000);
  const durations = new Float64Array(ticks);
  const encodes = new Int32Array(ticks);
  let measured = 0;
  let lateTicks = 0;
  await new Promise<void>((resolve) => {
    const clock = new MediaClock((n) => {
      const nowMs = performance.now();
      for (const f of feeds) f.push(nowMs);
      if (n === warmup) clock.stats.lateTicks = 0;
      const t0 = nowUs();
      pipeline.tick();
      const dt = nowUs() - t0;
      if (n < warmup) return;
      durations[measured] = dt;
      encodes[measured] = pipeline.lastEncodes;
      measured++;
      if (measured === ticks) {
        clock.stop();
        lateTicks = clock.stats.lateTicks;
        resolve();
      }
    });
    clock.start();
  });

  const out = new Int16Array(SAMPLES_48K);
  const pkt = new Uint8Array(1276);
  const decoders = feeds.map(() => createOpusDecoder());
  const encoders = Array.from({ length: participants + 1 }, () => createOpusEncoder());
  const blockEncodes = new Int32Array(block);
  const ratios: number[] = [];
  const blocks = Math.max(4, Math.round(ticks / block / 2));
  const codecTicks = new Float64Array(blocks * block);
  // The pipeline's own ticks in these back-to-back blocks: beside codecTicks, they tell the
  // media core's spikes from the real clock's (a tick after a 20 ms sleep starts on cold caches).
  const hotTicks = new Float64Array(blocks * block);
  let now = performance.now();
  for (let b = 0; b < blocks; b++) {
    const start = feeds.map((f) => f.sent);
    probe.tick = 0;
    let pipeUs = 0;
    for (let t = 0; t < block; t++) {
      now += 20;
      for (const f of feeds) f.push(now);
      const t0 = nowUs();
      pipeline.tick();
      const us = nowUs() - t0;
      hotTicks[b * block + t] = us;
      pipeUs += us;
      blockEncodes[t] = pipeline.lastEncodes;
    }
    let floorUs = 0;
    for (let t = 0; t < block; t++) {
      const t0 = nowUs();
      for (let i = 0; i < decoders.length; i++) decoders[i]!.decode(feeds[i]!.packetAt(start[i]! + t), out);
      const mix = mixes.subarray(t * SAMPLES_48K, (t + 1) * SAMPLES_48K);
      for (let e = 0; e < blockEncodes[t]!; e++) encoders[e]!.encode(mix, pkt);
      const us = nowUs() - t0;
      codecTicks[b * block + t] = us;
      floorUs += us;
    }
    ratios.push(pipeUs / floorUs);
  }
  await pipeline.stop();
  return {
    participants,
    talkers,
    tick_p50_ms: round(quantile(durations, 0.5) / 1000),
    tick_p99_ms: round(quantile(durations, 0.99) / 1000),
    encodes_per_tick: median(encodes),
    encodes_expected: talkers + (participants > talkers ? 1 : 0),
    encodes_per_tick_mean: round(encodes.reduce((a, b) => a + b, 0) / ticks, 2),
    overhead_ratio: round(median(ratios)),
    codec_tick_p50_ms: round(quantile(codecTicks, 0.5) / 1000),
    codec_tick_p99_ms: round(quantile(codecTicks, 0.99) / 1000),
    hot_tick_p50_ms: round(quantile(hotTicks, 0.5) / 1000),
    hot_tick_p99_ms: round(quantile(hotTicks, 0.99) / 1000),
    late_ticks: lateTicks,
    ticks,
  };
}

/**
 * 50 participants, 3 talkers: without hooks, with the recorder (every source
 * and the mix, Ogg Opus) and talk events, and with those plus an async hook
 * that sleeps 50 ms per frame. All in the same run, back to back.
 */
async function hookCosts(tracks: Tracks, ticks: number): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'mediabot-bench-rec-'));
  const cases: Array<[string, () => Hook[]]> = [
    ['none', () => []],
    ['recorder_talk_events', () => [createTalkEventsHook(), createRecorderHook({ dir })]],
    ['recorder_talk_events_slow_async_hook', () => [createTalkEventsHook(), createRecorderHook({ dir }), sleepyHook()]],
  ];
  const out: Record<string, unknown> = { participants: 50, talkers: 3 };
  for (const [name, make] of cases) {
    progress(`hooks: 50 participants with ${name}`);
    const r = await benchCall(tracks, 50, 3, ticks, make());
    out[name] = { tick_p50_ms: r.tick_p50_ms, tick_p99_ms: r.tick_p99_ms, late_ticks: r.late_ticks };
    progress(`  tick p50 ${r.tick_p50_ms} ms, p99 ${r.tick_p99_ms} ms, late ${r.late_ticks}`);
  }
  rmSync(dir, { recursive: true, force: true });
  return out;
}

interface CapacityThreadResult {
  lateTicks: number;
  tickP50Ms: number;
  tickP99Ms: number;
  maxLatenessMs: number;
  ticks: number;
  majorGcs: number;
  maxGcPauseMs: number;
}

function runCapacityThread(tracks: Tracks, streams: number, seconds: number, threadIndex: number, floor = false): Promise<CapacityThreadResult> {
  const url = new URL('./capacity-worker.js', import.meta.url);
  const worker = new Worker(url, { workerData: { streams, streamsPerCall: 50, seconds, tracks: { speech: tracks.speech, noise: tracks.noise }, threadIndex, floor, fullDecode, talkerStride: tracks.talkerStride ?? 0 } });
  return new Promise((resolve, reject) => {
    worker.once('message', (m) => {
      void worker.terminate();
      resolve(m as CapacityThreadResult);
    });
    worker.once('error', reject);
  });
}

/**
 * Capacity: receive-only streams split across all media threads, on the real
 * clock. Starts at the 1000-stream target and climbs by 20 % while no tick is
 * late, or steps down by 20 % until none is, so the answer is the largest
 * count tried that held with zero late ticks.
 *
 * Two figures put the result in context, from the same run: the late ticks of
 * the clocks alone with no stream (what the machine itself costs), and the CPU
 * per stream and tick against the bare 16 kHz decode of the same
 * packets, both measured with 500 streams loading every thread at once.
 */
interface CapacityStep {
  lateTicks: number;
  /** Median over the threads. */
  tickP50Ms: number;
  /** Worst thread. */
  tickP99Ms: number;
  maxLatenessMs: number;
  majorGcs: number;
  maxGcPauseMs: number;
  /** Streams on each thread. */
  perThread: number;
}

/** `streams` spread over one capacity thread per core, run together for `seconds`. */
async function capacityStep(tracks: Tracks, streams: number, seconds: number, floor = false): Promise<CapacityStep> {
  const threads = availableParallelism();
  const per = Math.ceil(streams / threads);
  const r = await Promise.all(Array.from({ length: threads }, (_, i) => runCapacityThread(tracks, Math.max(0, Math.min(per, streams - i * per)), seconds, i, floor)));
  return {
    lateTicks: r.reduce((a, x) => a + x.lateTicks, 0),
    tickP50Ms: median(r.map((x) => x.tickP50Ms)),
    tickP99Ms: Math.max(...r.map((x) => x.tickP99Ms)),
    maxLatenessMs: Math.max(...r.map((x) => x.maxLatenessMs)),
    majorGcs: r.reduce((a, x) => a + x.majorGcs, 0),
    maxGcPauseMs: Math.max(...r.map((x) => x.maxGcPauseMs)),
    perThread: per,
  };
}

async function capacity(tracks: Tracks): Promise<Record<string, unknown>> {
  const threads = availableParallelism();
  const seconds = quick ? 3 : CAPACITY_HOLD_S;
  const maxSteps = quick ? 1 : 7;
  // Quick mode (under a minute in all) keeps each side measurement short.
  const sideSeconds = quick ? 1 : seconds;
  progress(`capacity: the clocks alone (no stream) on ${threads} media threads for ${sideSeconds} s`);
  const idleLate = (await capacityStep(tracks, 0, sideSeconds)).lateTicks;
  progress(`  late ticks ${idleLate}`);
  const tried: Array<{ streams: number; late_ticks: number; tick_p50_ms: number; tick_p99_ms: number; max_lateness_ms: number; us_per_stream: number; major_gcs: number; max_gc_pause_ms: number }> = [];
  let best: { streams: number; late: number; p99: number } | null = null;
  let streams = 1000;
  let direction = 0;
  for (let step = 0; step < maxSteps; step++) {
    progress(`capacity: ${streams} streams on ${threads} media threads for ${seconds} s`);
    const r = await capacityStep(tracks, streams, seconds);
    const late = r.lateTicks;
    const p99 = r.tickP99Ms;
    tried.push({
      streams,
      late_ticks: late,
      tick_p50_ms: round(r.tickP50Ms),
      tick_p99_ms: round(p99),
      max_lateness_ms: round(r.maxLatenessMs),
      us_per_stream: round((r.tickP50Ms * 1000) / r.perThread, 1),
      major_gcs: r.majorGcs,
      max_gc_pause_ms: round(r.maxGcPauseMs, 1),
    });
    progress(`  late ticks ${late}, tick p99 ${round(p99)} ms, full GCs ${r.majorGcs}`);
    if (late === 0) {
      if (!best || streams > best.streams) best = { streams, late, p99 };
      if (direction < 0) break; // stepped down to a count that holds
      direction = 1;
      streams = Math.round((streams * 1.2) / 50) * 50;
    } else {
      if (direction > 0) break; // the step up failed: the previous count is the answer
      direction = -1;
      streams = Math.round((streams * 0.8) / 50) * 50;
    }
  }
  // Pipeline against the pure codec, same streams, same load on every thread.
  const n = 500;
  const costSeconds = quick ? 1 : 10;
  const usPerStream = async (floor: boolean): Promise<number> => {
    const r = await capacityStep(tracks, n, costSeconds, floor);
    return (r.tickP50Ms * 1000) / r.perThread;
  };
  progress(`capacity: cost per stream, ${n} streams, bare 16 kHz decode (the same speech decoder), then the pipeline (${costSeconds} s each)`);
  const floorUs = await usPerStream(true);
  const pipelineUs = await usPerStream(false);
  progress(`  ${round(pipelineUs, 1)} µs per stream and tick, decode alone ${round(floorUs, 1)} µs`);
  return {
    streams: best?.streams ?? 0,
    threads,
    late_ticks: best?.late ?? 0,
    seconds,
    tick_p99_ms: round(best?.p99 ?? 0),
    idle_late_ticks: idleLate,
    us_per_stream: round(pipelineUs, 1),
    decode_16k_floor_us_under_load: round(floorUs, 1),
    per_stream_overhead_ratio: round(pipelineUs / floorUs),
    tried,
  };
}

/**
 * Full mode: the same 400 receive-only streams for 20 s with V8's memory reducer
 * on (V8's default) and then off (what the media threads run with): full GCs,
 * their longest pause and the late ticks they cause.
 */
async function memoryReducerAb(tracks: Tracks): Promise<Record<string, unknown>> {
  const streams = 400;
  const seconds = 20;
  const one = async (reducer: boolean): Promise<Record<string, number>> => {
    setFlagsFromString(reducer ? '--memory-reducer' : '--no-memory-reducer');
    progress(`gc: ${streams} streams for ${seconds} s with V8's memory reducer ${reducer ? 'on' : 'off'}`);
    const r = await capacityStep(tracks, streams, seconds);
    const out = {
      late_ticks: r.lateTicks,
      max_lateness_ms: round(r.maxLatenessMs),
      major_gcs: r.majorGcs,
      max_gc_pause_ms: round(r.maxGcPauseMs, 1),
    };
    progress(`  late ticks ${out.late_ticks}, full GCs ${out.major_gcs}, longest GC pause ${out.max_gc_pause_ms} ms`);
    return out;
  };
  const on = await one(true);
  const off = await one(false);
  return { streams, seconds, memory_reducer_on: on, memory_reducer_off: off };
}

/** `--capacity N [--seconds S]`: N streams on every media thread's share, held for S seconds. */
async function capacityHold(tracks: Tracks, streams: number, seconds: number): Promise<Record<string, unknown>> {
  progress(`capacity hold: ${streams} streams on ${availableParallelism()} media threads for ${seconds} s`);
  const r = await capacityStep(tracks, streams, seconds);
  progress(`  late ticks ${r.lateTicks}, tick p50 ${round(r.tickP50Ms)} ms, p99 ${round(r.tickP99Ms)} ms, max lateness ${round(r.maxLatenessMs)} ms, full GCs ${r.majorGcs}`);
  return { streams, threads: availableParallelism(), seconds, late_ticks: r.lateTicks, tick_p50_ms: round(r.tickP50Ms), tick_p99_ms: round(r.tickP99Ms), max_lateness_ms: round(r.maxLatenessMs), us_per_stream: round((r.tickP50Ms * 1000) / r.perThread, 1), major_gcs: r.majorGcs };
}

async function main(): Promise<void> {
  const started = Date.now();
  if (holdStreams !== undefined) {
    if (!Number.isInteger(holdStreams) || holdStreams < 1) throw new Error('--capacity needs a stream count');
    disableMemoryReducer();
    const tracks = conversational(await packetTracks(), talkFraction);
    const hold = await capacityHold(tracks, holdStreams, argValue('--seconds') ?? CAPACITY_HOLD_S);
    process.stdout.write(`${JSON.stringify({ mode: 'capacity-hold', codec_backend: codecBackend, speech_decoder: fullDecode ? 'libopus-16k' : 'silk-layer', talk_fraction: talkFraction, capacity: hold }, null, 2)}\n`);
    return;
  }
  // As the worker's media threads run (see gc-tuning.ts); also covers the capacity threads.
  disableMemoryReducer();
  progress(`mode ${quick ? 'quick' : 'full'}, codec backend ${codecBackend}`);
  progress('preparing real speech packets (espeak-ng, cached)');
  const tracks = await packetTracks();
  const floor = codecFloor(tracks);
  progress(`codec floor: decode ${floor.decode} µs (to 16 kHz ${floor.decode_16k} µs, libopus's own 16 kHz decode ${floor.decode_16k_libopus} µs), encode ${floor.encode} µs per frame`);
  const ticks = quick ? 100 : 1500;
  const calls: CallResult[] = [];
  for (const [participants, talkers] of [
    [2, 2],
    [10, 2],
    [50, 3],
  ] as const) {
    progress(`call: ${participants} participants, ${talkers} talkers, ${ticks} ticks on the real clock`);
    const r = await benchCall(tracks, participants, talkers, ticks);
    progress(`  tick p50 ${r.tick_p50_ms} ms, p99 ${r.tick_p99_ms} ms (back to back ${r.hot_tick_p50_ms} / ${r.hot_tick_p99_ms} ms; bare codec work p50 ${r.codec_tick_p50_ms}, p99 ${r.codec_tick_p99_ms} ms), encodes/tick ${r.encodes_per_tick}, overhead ${r.overhead_ratio}, late ${r.late_ticks}`);
    calls.push(r);
  }
  if (callsOnly) {
    process.stdout.write(`${JSON.stringify({ mode: quick ? 'quick' : 'full', codec_backend: codecBackend, codec_floor_us: floor, calls }, null, 2)}\n`);
    return;
  }
  const latency = await latencyCases(quick);
  const hooksCase = await hookCosts(tracks, ticks);
  progress('ingress: 20 bridge calls of 4 unmixed speakers, 20 ACS unmixed calls (recorder and talk events on)');
  // A failed ingress step (its peers are a separate process) is reported, and the capacity search still runs.
  const ingress = await benchIngress({ quick }).catch((err: unknown) => {
    progress(`ingress bench failed: ${err instanceof Error ? err.message : String(err)}`);
    return { error: err instanceof Error ? err.message : String(err) };
  });
  const cap = await capacity(tracks);
  const udpBatch = await benchUdpBatch({ quick });
  const gc = quick ? undefined : await memoryReducerAb(tracks);
  const result = {
    mode: quick ? 'quick' : 'full',
    codec_backend: codecBackend,
    codec_floor_us: floor,
    calls,
    latency,
    hooks: hooksCase,
    ingress,
    capacity: cap,
    udp_batch: udpBatch,
    ...(gc ? { gc } : {}),
    seconds: round((Date.now() - started) / 1000, 1),
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
