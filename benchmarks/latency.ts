/**
 * Added latency through `mediabot rtp` over real UDP: from a talker's packet
 * arriving to the mixed packet that carries it leaving for a listener. The
 * budget (DESIGN.md) is the jitter buffer's playout depth plus one tick.
 *
 * Talker A sends Opus RTP paced at 20 ms: silence, with a 20 ms tone burst every
 * 500 ms. Listener B sends silence (so it is a participant) and decodes the mix
 * it gets back. For each burst, the latency is when B's socket received the first
 * mix packet carrying the burst minus when A's socket sent the burst's packet.
 * Both sockets are on 127.0.0.1, so the network adds microseconds.
 *
 * With `jitterMs`, each of A's packets is held back a random 0..jitterMs before it
 * is sent (so packets also overtake each other): the jitter buffer deepens, and the
 * latency must follow its depth, not exceed it. The depth is the talker's mean
 * playout depth, as the mixer reports it in its stats; the median latency is what
 * is held against the budget (single bursts ride the depth's frame-to-frame moves).
 */
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createOpusDecoder, createOpusEncoder } from '../src/media/codec/opus.js';
import { SAMPLES_48K } from '../src/media/core/frame.js';
import { frameLevelDbov } from '../src/media/codec/level.js';
import { emptyRtpPacket, isRtcp, parseRtpInto, writeRtp } from '../src/media/wire/rtp.js';
import { startRtpMixer } from './lib/rtp-peers.js';
import { batchedRtpAvailable } from '../src/media/session/rtp/rtp-io.js';
import { median, progress, quantile, round } from './lib/stats.js';

const BURST_EVERY_TICKS = 25;
/** Bursts in the first second are not counted: the jitter buffer is still finding its depth. */
const WARMUP_TICKS = 50;
/** A mix packet whose decoded level is above this carries the burst (the rest of the mix is digital silence). */
const BURST_DBOV = -40;

export interface LatencyResult {
  /** The RTP session's socket I/O (session/rtp/rtp-io.ts). */
  rtp_io: 'batched' | 'dgram';
  jitter_ms: number;
  bursts: number;
  latency_p50_ms: number;
  latency_p95_ms: number;
  latency_max_ms: number;
  /** The talker's mean playout depth (the delay its jitter buffer added), from the mixer's stats. */
  depth_ms: number;
  /** The jitter buffer's target depth at the end. */
  target_ms: number;
  /** mean depth + one tick: the DESIGN.md budget. */
  budget_ms: number;
  /** Bursts whose latency went over the budget (the depth moves by a frame around its mean, so single bursts may). */
  over_budget: number;
}

/** One 20 ms-paced RTP sender: encodes `frame(n)` for tick n and sends it after `delay(n)` ms. */
class PacedSender {
  readonly socket: Socket = createSocket('udp4');
  private readonly encoder = createOpusEncoder();
  private readonly payload = new Uint8Array(1276);
  readonly ssrc = 0x10000 + Math.floor(Math.random() * 0x7fff0000);
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private n = 0;

  constructor(
    private readonly mixerPort: number,
    private readonly frame: (n: number) => Int16Array,
    private readonly delay: (n: number) => number,
    private readonly onSent: (n: number, atMs: number) => void = () => {},
  ) {}

  async bind(): Promise<void> {
    this.socket.bind(0, '127.0.0.1');
    await once(this.socket, 'listening');
  }

  start(): void {
    const t0 = performance.now();
    const step = (): void => {
      const n = this.n++;
      const bytes = this.encoder.encode(this.frame(n), this.payload);
      const buf = new Uint8Array(12 + bytes);
      writeRtp(buf, { payloadType: 111, marker: n === 0, sequence: n & 0xffff, timestamp: (n * SAMPLES_48K) >>> 0, ssrc: this.ssrc }, this.payload.subarray(0, bytes));
      const send = (): void => {
        if (this.stopped) return; // a held-back packet due after the end
        this.socket.send(buf, this.mixerPort, '127.0.0.1');
        this.onSent(n, performance.now());
      };
      const d = this.delay(n);
      if (d > 0) setTimeout(send, d);
      else send();
      // Drift-corrected: the next frame is due at t0 + 20 (n + 1), whatever this one cost.
      this.timer = setTimeout(step, Math.max(0, t0 + 20 * (n + 1) - performance.now()));
    };
    step();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.socket.close();
  }
}

export async function benchLatency(opts: { seconds: number; jitterMs: number; io: 'batched' | 'dgram' }): Promise<LatencyResult> {
  const dir = mkdtempSync(join(tmpdir(), 'mediabot-latency-'));
  const statsFile = join(dir, 'stats.json');
  const mixer = await startRtpMixer(['--seconds', '600', '--stats', statsFile, '--rtp-io', opts.io]);
  const silence = new Int16Array(SAMPLES_48K);
  const tone = Int16Array.from({ length: SAMPLES_48K }, (_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 1000 * i) / 48_000)));
  const burstSentMs = new Map<number, number>();
  const talker = new PacedSender(
    mixer.port,
    (n) => (n % BURST_EVERY_TICKS === 0 && n > 0 ? tone : silence),
    () => (opts.jitterMs > 0 ? Math.random() * opts.jitterMs : 0),
    (n, at) => {
      if (n % BURST_EVERY_TICKS === 0 && n >= WARMUP_TICKS) burstSentMs.set(n, at);
    },
  );
  const listener = new PacedSender(mixer.port, () => silence, () => 0);
  await Promise.all([talker.bind(), listener.bind()]);

  // The listener's mix, decoded as it arrives: the arrival time of each packet above BURST_DBOV.
  const decoder = createOpusDecoder();
  const pcm = new Int16Array(SAMPLES_48K);
  const packet = emptyRtpPacket();
  const loudArrivals: number[] = [];
  listener.socket.on('message', (msg) => {
    const at = performance.now();
    if (isRtcp(msg)) return;
    parseRtpInto(msg, packet);
    decoder.decode(packet.payload, pcm);
    if (frameLevelDbov(pcm) > BURST_DBOV) loudArrivals.push(at);
  });

  talker.start();
  listener.start();
  await new Promise((r) => setTimeout(r, opts.seconds * 1000));
  // The mixer stops first, so its stats describe the stream while it was flowing.
  await mixer.stop();
  talker.stop();
  listener.stop();

  const stats = JSON.parse(readFileSync(statsFile, 'utf8')) as { sources: Array<{ ssrc: number | null; meanDepthMs: number; targetMs: number }> };
  const source = stats.sources.find((s) => s.ssrc === talker.ssrc);
  if (source === undefined) throw new Error('latency bench: the mixer reported no source for the talker');
  const depthMs = round(source.meanDepthMs, 1);
  const latencies: number[] = [];
  for (const sentAt of burstSentMs.values()) {
    const arrival = loudArrivals.find((t) => t > sentAt);
    if (arrival !== undefined && arrival - sentAt < 1000) latencies.push(arrival - sentAt);
  }
  if (latencies.length === 0) throw new Error('latency bench: no burst came back through the mixer');
  const budget = round(depthMs + 20, 1);
  return {
    rtp_io: opts.io,
    jitter_ms: opts.jitterMs,
    bursts: latencies.length,
    latency_p50_ms: round(median(latencies), 1),
    latency_p95_ms: round(quantile(latencies, 0.95), 1),
    latency_max_ms: round(Math.max(...latencies), 1),
    depth_ms: depthMs,
    target_ms: source.targetMs,
    budget_ms: budget,
    over_budget: latencies.filter((l) => l > budget).length,
  };
}

/** The clean and the jittered path, one after the other, on each socket I/O backend, with progress lines. */
export async function latencyCases(quick: boolean): Promise<LatencyResult[]> {
  const out: LatencyResult[] = [];
  const backends: Array<'batched' | 'dgram'> = batchedRtpAvailable() ? ['batched', 'dgram'] : ['dgram'];
  for (const io of backends) for (const jitterMs of [0, 40]) {
    const seconds = quick ? 2.5 : 15;
    progress(`latency: talker and listener through mediabot rtp (${io} socket I/O) over UDP, ${jitterMs} ms jitter, ${seconds} s`);
    const r = await benchLatency({ seconds, jitterMs, io });
    progress(`  packet in to mix out p50 ${r.latency_p50_ms} ms, p95 ${r.latency_p95_ms} ms, max ${r.latency_max_ms} ms; mean depth ${r.depth_ms} ms (target ${r.target_ms}), budget ${r.budget_ms} ms, over budget ${r.over_budget}/${r.bursts}`);
    out.push(r);
  }
  return out;
}
