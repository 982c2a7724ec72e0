/**
 * A FrameInput fed with timestamped PCM frames (ACS media streaming, the media
 * bridge): 16/24/48 kHz mono int16, upsampled to 48 kHz at play-out.
 *
 * Frames are placed on a 20 ms grid by their media timestamp (relative to the
 * first frame), held in a small bounded reorder queue and played `playoutDelayMs`
 * behind the first arrival. Timestamps, not arrival times, drive the timeline:
 * - a missing frame, or a pause in the sender, plays silence for exactly its
 *   length (counted as `gapFrames`), so recordings keep media time;
 * - a frame whose slot was already played is `late` and dropped; a sender that keeps
 *   arriving late by a steady amount (its clock fell behind ours) gets its grid moved
 *   so its frames play again (`resyncs`); a burst of replayed old frames does not;
 * - a burst far faster than real time fills the queue: the oldest frames are
 *   dropped and counted (`dropped`), never unbounded memory;
 * - latency stays bounded: play-out starts from the newest frames (a backlog that
 *   arrived at once is dropped), and a queue that stays more than `catchUpMs` above
 *   the play-out delay for a second is trimmed back to it (counted in `dropped`);
 * - a timestamp jump of more than `resyncMs` either way restarts the grid (`resyncs`).
 * Steady state allocates nothing: slots are preallocated.
 */
import type { FrameOrigin } from '../../hooks/api.js';
import type { FrameInput } from '../../core/source.js';
import { MAX_OPUS_PACKET } from '../../codec/opus.js';
import type { FrameEncoder } from '../../codec/types.js';
import { SAMPLES_48K } from '../../core/frame.js';
import { MediabotError } from '../../../errors.js';
import { Upsampler } from '../../codec/upsampler.js';

export type PcmRate = 16_000 | 24_000 | 48_000;

/** Frame flags (same bits as the media bridge header). */
export const PCM_FLAG_SILENCE = 1;
export const PCM_FLAG_CONCEALED = 2;

export interface PcmInputOptions {
  /** Play-out delay behind the first frame, ms (reorder and jitter room). Default 60. */
  playoutDelayMs?: number;
  /** Queue bound in ms of audio; beyond it the oldest frames are dropped. Default 1000. */
  maxQueueMs?: number;
  /** A timestamp this far from the play-out point (either way) restarts the grid. Default 2000. */
  resyncMs?: number;
  /** Queue excess over the play-out delay tolerated for up to a second before trimming. Default 200. */
  catchUpMs?: number;
  /**
   * Encode each played frame to Opus and expose it as `lastPayload`, so hooks that want packets
   * (the recorder's Ogg Opus files) get this source's audio. Costs one encode per non-silent frame.
   */
  encoder?: FrameEncoder;
}

export interface PcmInputStats {
  /** Frames pushed (20 ms each). */
  received: number;
  /** Frames played from the queue. */
  played: number;
  /** Silence frames played where the timeline had no frame (losses, pauses, reconnect gaps). */
  gapFrames: number;
  /** Frames that arrived after their slot was played. */
  late: number;
  /** Frames with a slot already queued. */
  duplicates: number;
  /** Frames dropped because the queue was full (bursts faster than real time). */
  dropped: number;
  /** Frames flagged concealed by the sender. */
  concealed: number;
  /** Frames flagged silent by the sender. */
  silentFrames: number;
  /** Times the timestamp grid was restarted after a jump. */
  resyncs: number;
  /** Times a standing backlog was trimmed to keep latency bounded. */
  catchUps: number;
  /** Frames queued now. */
  depth: number;
}

const FRAME_MS = 20;

interface Slot {
  used: boolean;
  index: number;
  rate: PcmRate;
  flags: number;
  samples: Int16Array;
  length: number;
  /** Views of `samples` per input rate, made once (no per-frame subarray). */
  views: Record<PcmRate, Int16Array>;
}

export function samplesPerFrame(rate: number): number {
  return (rate / 1000) * FRAME_MS;
}

export function isPcmRate(rate: unknown): rate is PcmRate {
  return rate === 16_000 || rate === 24_000 || rate === 48_000;
}

export class PcmFrameInput implements FrameInput {
  lastPayload: Uint8Array | null = null;
  readonly lastAudioLevel: { voice: boolean; level: number } | null = null;
  readonly stats: PcmInputStats = { received: 0, played: 0, gapFrames: 0, late: 0, duplicates: 0, dropped: 0, concealed: 0, silentFrames: 0, resyncs: 0, catchUps: 0, depth: 0 };
  private readonly slots: Slot[];
  private readonly delayFrames: number;
  private readonly resyncFrames: number;
  private readonly catchUpFrames: number;
  /** Consecutive pulls with the queue above delay + catch-up slack. */
  private overPulls = 0;
  /** Consecutive late frames with about the same lateness, and the lateness the run began with (frames). */
  private lateRun = 0;
  private lastLateness = 0;
  private baseTs: number | null = null;
  /** Grid index of the next frame to play; valid once started. */
  private nextIndex = 0;
  private started = false;
  /** Pulls since the first frame arrived, while not started. */
  private waited = 0;
  private up16: Upsampler | null = null;
  private up24: Upsampler | null = null;
  /** Rate of the last frame played (a change resets the upsamplers' history). */
  private lastRate: PcmRate | 0 = 0;
  private readonly encoder: FrameEncoder | null;
  private readonly packet: Uint8Array;

  constructor(opts: PcmInputOptions = {}) {
    const delay = opts.playoutDelayMs ?? 60;
    const maxQueue = opts.maxQueueMs ?? 1000;
    const resync = opts.resyncMs ?? 2000;
    if (!(delay >= 0 && delay <= 1000) || !(maxQueue >= 100 && maxQueue <= 10_000) || !(resync > maxQueue)) {
      throw new MediabotError('MEDIABOT_CONFIG_INVALID', `PCM input needs 0 <= playoutDelayMs <= 1000, 100 <= maxQueueMs <= 10000 and resyncMs > maxQueueMs (got ${delay}, ${maxQueue}, ${resync})`);
    }
    this.delayFrames = Math.round(delay / FRAME_MS);
    this.resyncFrames = Math.round(resync / FRAME_MS);
    this.catchUpFrames = Math.max(1, Math.round((opts.catchUpMs ?? 200) / FRAME_MS));
    this.encoder = opts.encoder ?? null;
    this.packet = new Uint8Array(this.encoder ? MAX_OPUS_PACKET : 0);
    const n = Math.max(this.delayFrames + 2, Math.round(maxQueue / FRAME_MS));
    this.slots = Array.from({ length: n }, () => {
      const samples = new Int16Array(SAMPLES_48K);
      return { used: false, index: 0, rate: 16_000 as PcmRate, flags: 0, samples, length: 0, views: { 16_000: samples.subarray(0, 320), 24_000: samples.subarray(0, 480), 48_000: samples } };
    });
  }

  /**
   * Queues one frame: exactly 20 ms of mono int16 at `rate`, stamped with its media time
   * in ms (any origin; only differences matter). Throws MEDIABOT_INGRESS_BAD_FRAME /
   * MEDIABOT_INGRESS_BAD_RATE on bad input and changes nothing then.
   */
  push(rate: number, timestampMs: number, samples: Int16Array, flags = 0): void {
    if (!isPcmRate(rate)) throw new MediabotError('MEDIABOT_INGRESS_BAD_RATE', `PCM rate must be 16000, 24000 or 48000 (got ${String(rate)})`);
    if (!(samples instanceof Int16Array) || samples.length !== samplesPerFrame(rate)) {
      throw new MediabotError('MEDIABOT_INGRESS_BAD_FRAME', `a ${rate} Hz frame must have ${samplesPerFrame(rate)} samples (got ${samples?.length})`);
    }
    if (typeof timestampMs !== 'number' || !Number.isFinite(timestampMs)) throw new MediabotError('MEDIABOT_INGRESS_BAD_FRAME', `frame timestamp must be a finite number (got ${String(timestampMs)})`);
    this.stats.received++;
    if (this.baseTs === null) this.baseTs = timestampMs;
    let index = Math.round((timestampMs - this.baseTs) / FRAME_MS);
    if (this.started && Math.abs(index - this.nextIndex) > this.resyncFrames) {
      // The sender's clock jumped (restart, wrap): start a new grid at this frame.
      this.stats.resyncs++;
      this.clear(true);
      this.baseTs = timestampMs;
      index = 0;
    }
    if (this.started && index < this.nextIndex) {
      this.stats.late++;
      const lateness = this.nextIndex - index;
      // A run continues while the lateness stays within ±2 frames of where the run began.
      if (this.lateRun > 0 && Math.abs(lateness - this.lastLateness) <= 2) this.lateRun++;
      else {
        this.lateRun = 1;
        this.lastLateness = lateness;
      }
      if (this.lateRun < 10) return;
      // Steadily late (not a replayed burst, whose lateness shrinks frame by frame): move the grid
      // so this frame plays one delay from now. The time lost shows as a gap, as it should.
      this.stats.resyncs++;
      this.lateRun = 0;
      this.dropBefore(Infinity);
      this.baseTs = timestampMs - (this.nextIndex + this.delayFrames) * FRAME_MS;
      index = this.nextIndex + this.delayFrames;
    } else this.lateRun = 0;
    let free: Slot | null = null;
    let oldest: Slot | null = null;
    for (const s of this.slots) {
      if (s.used) {
        if (s.index === index) {
          this.stats.duplicates++;
          return;
        }
        if (oldest === null || s.index < oldest.index) oldest = s;
      } else if (free === null) free = s;
    }
    if (free === null) {
      // Full: a burst faster than real time. Drop the oldest and move play-out past it.
      const o = oldest!;
      if (index < o.index) {
        this.stats.dropped++;
        return;
      }
      o.used = false;
      this.stats.dropped++;
      this.stats.depth--;
      if (this.started && o.index >= this.nextIndex) this.nextIndex = o.index + 1;
      free = o;
    }
    free.used = true;
    free.index = index;
    free.rate = rate;
    free.flags = flags;
    free.length = samples.length;
    free.samples.set(samples);
    this.stats.depth++;
    if (flags & PCM_FLAG_CONCEALED) this.stats.concealed++;
    if (flags & PCM_FLAG_SILENCE) this.stats.silentFrames++;
  }

  pull(out: Int16Array): FrameOrigin {
    this.lastPayload = null;
    if (!this.started) {
      if (this.stats.depth === 0) {
        out.fill(0);
        return 'silence';
      }
      this.waited++;
      if (this.waited <= this.delayFrames) {
        out.fill(0);
        return 'silence';
      }
      this.started = true;
      // Start from the newest frames: a backlog that arrived at once would otherwise be latency forever.
      this.nextIndex = Math.max(this.minIndex(), this.maxIndex() - this.delayFrames);
      this.dropBefore(this.nextIndex);
    } else if (this.stats.depth > this.delayFrames + this.catchUpFrames) {
      if (++this.overPulls >= 50) {
        // A standing backlog (sender clock faster, or a stall then a burst): trim it back to the delay.
        this.overPulls = 0;
        this.stats.catchUps++;
        this.nextIndex = Math.max(this.nextIndex, this.maxIndex() - this.delayFrames);
        this.dropBefore(this.nextIndex);
      }
    } else this.overPulls = 0;
    const idx = this.nextIndex++;
    for (const s of this.slots) {
      if (!s.used || s.index !== idx) continue;
      s.used = false;
      this.stats.depth--;
      this.stats.played++;
      if (s.flags & PCM_FLAG_SILENCE) {
        out.fill(0);
        this.resetHistoryIfRateChanged(s.rate);
        return 'silence';
      }
      this.upsample(s, out);
      if (s.flags & PCM_FLAG_CONCEALED) return 'plc';
      if (this.encoder) this.lastPayload = this.packet.subarray(0, this.encoder.encode(out, this.packet));
      return 'packet';
    }
    // Nothing for this slot: a loss or a pause. Silence of exactly one frame keeps media time.
    this.stats.gapFrames++;
    out.fill(0);
    return 'silence';
  }

  /** Forgets queued audio and the timeline (a new stream starts from its next frame). */
  reset(): void {
    this.clear(false);
    this.baseTs = null;
  }

  private clear(countDropped: boolean): void {
    for (const s of this.slots) {
      if (s.used && countDropped) this.stats.dropped++;
      s.used = false;
    }
    this.stats.depth = 0;
    this.started = false;
    this.waited = 0;
    this.nextIndex = 0;
  }

  private dropBefore(index: number): void {
    for (const s of this.slots) {
      if (s.used && s.index < index) {
        s.used = false;
        this.stats.depth--;
        this.stats.dropped++;
      }
    }
  }

  private maxIndex(): number {
    let m = -Infinity;
    for (const s of this.slots) if (s.used && s.index > m) m = s.index;
    return m === -Infinity ? 0 : m;
  }

  private minIndex(): number {
    let m = Infinity;
    for (const s of this.slots) if (s.used && s.index < m) m = s.index;
    return m === Infinity ? 0 : m;
  }

  private resetHistoryIfRateChanged(rate: PcmRate): void {
    if (rate === this.lastRate) return;
    this.up16?.reset();
    this.up24?.reset();
    this.lastRate = rate;
  }

  private upsample(s: Slot, out: Int16Array): void {
    this.resetHistoryIfRateChanged(s.rate);
    const input = s.views[s.rate];
    if (s.rate === 48_000) out.set(input);
    else if (s.rate === 16_000) (this.up16 ??= new Upsampler(16_000, 320)).process(input, out);
    else (this.up24 ??= new Upsampler(24_000, 480)).process(input, out);
  }
}
