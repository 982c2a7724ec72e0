import { MediabotError } from '../../../errors.js';
import { FRAME_MS, SAMPLES_16K } from '../../core/frame.js';

/** One participant's audio going to a speech engine. */
export interface TranscriberStreamInfo {
  callId: string;
  sourceId: string;
  sampleRate: 16000;
}

export interface TranscriptResult {
  text: string;
  /** Partial results may still change; a final result is the engine's last word on that stretch. */
  final: boolean;
  /** Call media time (ms) of the first and last word. */
  startMs: number;
  endMs: number;
  /** 0..1 when the engine gives one. */
  confidence?: number;
}

/**
 * The one interface every speech engine adapter implements.
 * A Transcriber opens one stream per participant, so every result is attributed
 * to its speaker by construction.
 */
export interface Transcriber {
  readonly name: string;
  open(stream: TranscriberStreamInfo): TranscriberStream;
}

export interface TranscriberStream {
  /**
   * Audio at 16 kHz mono int16, a whole number of 20 ms frames (320 samples each),
   * stamped with the call media time of its first sample. Copied before it returns
   * (callers reuse the buffer). Throws MEDIABOT_TRANSCRIBER_BAD_AUDIO for bad audio,
   * MEDIABOT_TRANSCRIBER_CLOSED after end(), MEDIABOT_TRANSCRIBER_FAILED once the engine failed.
   */
  write(pcm16: Int16Array, mediaTimeMs: number): void;
  /** Flushes: resolves once the engine delivered its last results for the audio written. Idempotent. */
  end(): Promise<void>;
  onResult(cb: (r: TranscriptResult) => void): void;
}

/** Throws MEDIABOT_TRANSCRIBER_BAD_AUDIO unless the audio is whole 16 kHz 20 ms frames with a valid time. */
export function checkAudio(pcm16: unknown, mediaTimeMs: unknown): asserts pcm16 is Int16Array {
  if (!(pcm16 instanceof Int16Array)) throw new MediabotError('MEDIABOT_TRANSCRIBER_BAD_AUDIO', 'audio must be an Int16Array of 16 kHz mono samples');
  if (pcm16.length === 0 || pcm16.length % SAMPLES_16K !== 0) {
    throw new MediabotError('MEDIABOT_TRANSCRIBER_BAD_AUDIO', `audio must be whole 20 ms frames (a multiple of ${SAMPLES_16K} samples), got ${pcm16.length}`, { samples: pcm16.length });
  }
  if (typeof mediaTimeMs !== 'number' || !Number.isFinite(mediaTimeMs) || mediaTimeMs < 0) {
    throw new MediabotError('MEDIABOT_TRANSCRIBER_BAD_AUDIO', `media time must be a finite number >= 0, got ${String(mediaTimeMs)}`);
  }
}

/** Longest silence inserted for a gap in the audio; enough for any engine's end-of-utterance detection. */
const MAX_GAP_FILL_MS = 1000;

/**
 * Maps the engine's clock (ms of audio it received) to call media time.
 * Audio is sent contiguously; when the caller's media time jumps ahead (frames
 * dropped by a full queue, a source that paused), up to 1 s of silence is sent
 * and the rest of the gap becomes a breakpoint, so long gaps cost nothing.
 */
export class StreamClock {
  /** Breakpoints: from engine time `streamMs` on, media time = mediaMs + (t - streamMs). */
  private readonly points: Array<{ streamMs: number; mediaMs: number }> = [];
  private streamMs = 0;
  private nextMediaMs = 0;

  /** Ms of silence to send before audio stamped `mediaTimeMs` (0 when contiguous). */
  gapBefore(mediaTimeMs: number): number {
    if (this.points.length === 0) {
      this.points.push({ streamMs: 0, mediaMs: mediaTimeMs });
      this.nextMediaMs = mediaTimeMs;
      return 0;
    }
    const gap = mediaTimeMs - this.nextMediaMs;
    // Late or overlapping audio is sent as is (its time is approximate); small jitter ignored.
    if (gap < FRAME_MS) return 0;
    const fill = Math.min(gap, MAX_GAP_FILL_MS);
    if (gap > fill) this.points.push({ streamMs: this.streamMs + fill, mediaMs: mediaTimeMs });
    return Math.floor(fill / FRAME_MS) * FRAME_MS;
  }

  /** Records that `ms` of audio (or fill) was sent, the last of it stamped to end at `mediaEndMs`. */
  advance(ms: number, mediaEndMs: number): void {
    this.streamMs += ms;
    this.nextMediaMs = Math.max(this.nextMediaMs, mediaEndMs);
  }

  get sentMs(): number {
    return this.streamMs;
  }

  /** Media time of the first audio, or null before any. */
  get firstMediaMs(): number | null {
    return this.points[0]?.mediaMs ?? null;
  }

  /** Media time just after the last audio sent. */
  get endMediaMs(): number {
    return this.nextMediaMs;
  }

  toMedia(streamMs: number): number {
    let p = this.points[0];
    if (p === undefined) return streamMs;
    for (const q of this.points) if (q.streamMs <= streamMs) p = q;
    return Math.round(p.mediaMs + (streamMs - p.streamMs));
  }
}

/**
 * What all adapters share: argument checks, the closed state, the media clock,
 * result fan-out and the normalisation of final results (in order, never
 * overlapping the previous final, inside the audio sent).
 */
export abstract class BaseTranscriberStream implements TranscriberStream {
  protected readonly clock = new StreamClock();
  private readonly listeners: Array<(r: TranscriptResult) => void> = [];
  private ending: Promise<void> | null = null;
  private lastFinalEndMs = -Infinity;
  protected failure: MediabotError | null = null;
  private readonly silence = new Int16Array(SAMPLES_16K * (MAX_GAP_FILL_MS / FRAME_MS));

  constructor(readonly info: TranscriberStreamInfo) {}

  get ended(): boolean {
    return this.ending !== null;
  }

  write(pcm16: Int16Array, mediaTimeMs: number): void {
    if (this.ending !== null) throw new MediabotError('MEDIABOT_TRANSCRIBER_CLOSED', `stream ${this.info.callId}/${this.info.sourceId} has ended`);
    checkAudio(pcm16, mediaTimeMs);
    if (this.failure !== null) throw this.failure;
    if (this.backlogFull()) {
      // The engine is too far behind: skip this audio rather than grow without bound. The clock
      // does not advance, so the next accepted write is seen as a gap and stays in media time.
      this.droppedMs += (pcm16.length / SAMPLES_16K) * FRAME_MS;
      return;
    }
    const gap = this.clock.gapBefore(mediaTimeMs);
    if (gap > 0) {
      this.sendAudio(this.silence.subarray(0, (gap / FRAME_MS) * SAMPLES_16K));
      this.clock.advance(gap, mediaTimeMs);
    }
    this.sendAudio(pcm16);
    const ms = (pcm16.length / SAMPLES_16K) * FRAME_MS;
    this.clock.advance(ms, mediaTimeMs + ms);
  }

  end(): Promise<void> {
    this.ending ??= this.finish().finally(() => {
      this.listeners.length = 0;
    });
    return this.ending;
  }

  onResult(cb: (r: TranscriptResult) => void): void {
    this.listeners.push(cb);
  }

  /** Ms of audio skipped because the engine's backlog was full. */
  droppedMs = 0;

  /** True while the engine is too far behind to take more audio (default: never). */
  protected backlogFull(): boolean {
    return false;
  }

  /** Sends audio to the engine; must copy what it keeps. */
  protected abstract sendAudio(pcm16: Int16Array): void;
  /** Flushes the engine and releases it; results emitted before it resolves are delivered. */
  protected abstract finish(): Promise<void>;

  /** Marks the engine failed: later writes throw this error. */
  protected fail(message: string, details?: Record<string, unknown>): void {
    this.failure ??= new MediabotError('MEDIABOT_TRANSCRIBER_FAILED', `${this.info.sourceId}: ${message}`, details);
  }

  /** Delivers a result given in engine time (ms of audio received). */
  protected emitStreamResult(r: { text: string; final: boolean; startMs: number; endMs: number; confidence?: number }): void {
    this.emitResult({ ...r, startMs: this.clock.toMedia(r.startMs), endMs: this.clock.toMedia(r.endMs) });
  }

  /** Delivers a result given in media time, normalising finals. */
  protected emitResult(r: TranscriptResult): void {
    const text = r.text.trim();
    if (text === '') return;
    const first = this.clock.firstMediaMs ?? 0;
    const last = Math.max(first, this.clock.endMediaMs);
    let startMs = clamp(r.startMs, first, last);
    let endMs = clamp(r.endMs, startMs, last);
    if (r.final) {
      if (startMs < this.lastFinalEndMs) startMs = Math.min(this.lastFinalEndMs, last);
      if (endMs < startMs) endMs = startMs;
      this.lastFinalEndMs = endMs;
    }
    const out: TranscriptResult = { text, final: r.final, startMs, endMs };
    if (r.confidence !== undefined && Number.isFinite(r.confidence)) out.confidence = clamp(r.confidence, 0, 1);
    for (const l of this.listeners) {
      try {
        l(out);
      } catch {
        // A listener's failure is its own; the stream carries on.
      }
    }
  }
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}
