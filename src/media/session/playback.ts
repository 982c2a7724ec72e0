/**
 * What the bot says into a call: each `playPcm` becomes a source of the call's pipeline that plays
 * its audio once, 20 ms per tick, and leaves when it is done. It is mixed like any participant
 * (so RTP participants hear it in their mix-minus and a PCM session's outbound carries it) and
 * Opus-encoded as it plays, so the recorder writes it as a source of its own.
 */
import { MediabotError } from '../../errors.js';
import type { FrameOrigin } from '../hooks/api.js';
import { createOpusEncoder, MAX_OPUS_PACKET } from '../codec/opus.js';
import type { EncoderSettings, FrameEncoder } from '../codec/types.js';
import { Upsampler } from '../codec/upsampler.js';
import { FRAME_MS, SAMPLES_48K } from '../core/frame.js';
import type { CallPipeline } from '../core/pipeline.js';
import type { FrameInput, MediaSource } from '../core/source.js';
import type { PlaybackRequest, PlaybackResult, SourceStats } from './media-session.js';

/** Longest audio one playPcm takes (10 minutes at 48 kHz). */
export const MAX_PLAYBACK_SAMPLES_48K = 10 * 60 * 48_000;

/** The whole audio at 48 kHz (16/24 kHz upsampled once, up front). */
export function playbackSamples48k(rate: number, samples: Int16Array): Int16Array {
  if (!(samples instanceof Int16Array) || samples.length === 0) throw new MediabotError('MEDIABOT_BAD_REQUEST', 'playPcm needs a non-empty Int16Array of samples');
  if (rate !== 16_000 && rate !== 24_000 && rate !== 48_000) throw new MediabotError('MEDIABOT_INGRESS_BAD_RATE', `playPcm rate must be 16000, 24000 or 48000 (got ${String(rate)})`);
  const factor = 48_000 / rate;
  if (samples.length * factor > MAX_PLAYBACK_SAMPLES_48K) throw new MediabotError('MEDIABOT_BAD_REQUEST', `playPcm takes at most ${MAX_PLAYBACK_SAMPLES_48K / 48_000} s of audio`);
  if (rate === 48_000) return samples;
  const out = new Int16Array(samples.length * factor);
  new Upsampler(rate, samples.length).process(samples, out);
  return out;
}

/** A FrameInput that plays a buffer once, then silence. */
export class PlaybackInput implements FrameInput {
  lastPayload: Uint8Array | null = null;
  readonly lastAudioLevel = null;
  readonly totalFrames: number;
  playedFrames = 0;
  private readonly packet = new Uint8Array(MAX_OPUS_PACKET);

  constructor(
    private readonly samples48: Int16Array,
    private readonly encoder: FrameEncoder,
  ) {
    this.totalFrames = Math.ceil(samples48.length / SAMPLES_48K);
  }

  get done(): boolean {
    return this.playedFrames >= this.totalFrames;
  }

  pull(out: Int16Array): FrameOrigin {
    this.lastPayload = null;
    if (this.done) {
      out.fill(0);
      return 'silence';
    }
    const from = this.playedFrames * SAMPLES_48K;
    const n = Math.min(SAMPLES_48K, this.samples48.length - from);
    const src = this.samples48;
    for (let i = 0; i < n; i++) out[i] = src[from + i]!;
    if (n < SAMPLES_48K) out.fill(0, n);
    this.playedFrames++;
    this.lastPayload = this.packet.subarray(0, this.encoder.encode(out, this.packet));
    return 'packet';
  }
}

interface Playing {
  input: PlaybackInput;
  source: MediaSource;
  resolve: (r: PlaybackResult) => void;
}

/** The playbacks of one call. */
export class Playbacks {
  private playing: Playing[] = [];
  /** Playback sources that finished, for stats. */
  private readonly finished = new Map<string, { playedFrames: number; totalFrames: number }>();

  constructor(
    private readonly pipeline: CallPipeline,
    private readonly encoder: Partial<EncoderSettings>,
  ) {}

  start(req: PlaybackRequest): Promise<PlaybackResult> {
    const p = this.pipeline;
    if (p.speechOnly) throw new MediabotError('MEDIABOT_BAD_REQUEST', `call ${p.callId} is speech-only: it has no mix to play into`);
    if (typeof req.sourceId !== 'string' || req.sourceId === '') throw new MediabotError('MEDIABOT_BAD_REQUEST', 'playPcm needs a source id');
    if (p.getSource(req.sourceId)) throw new MediabotError('MEDIABOT_BAD_REQUEST', `call ${p.callId} already has a source ${req.sourceId}`);
    const input = new PlaybackInput(playbackSamples48k(req.rate, req.samples), createOpusEncoder(this.encoder));
    const source = p.addSource(req.sourceId, input, { receivesMix: false });
    return new Promise<PlaybackResult>((resolve) => {
      this.playing = [...this.playing, { input, source, resolve }];
    });
  }

  /** After each tick: finished playbacks leave the call; the others stay clear of idle removal. */
  afterTick(): void {
    const list = this.playing;
    if (list.length === 0) return;
    let ended = false;
    for (let i = 0; i < list.length; i++) {
      const pl = list[i]!;
      if (pl.input.done) ended = true;
      else this.pipeline.touch(pl.source);
    }
    if (ended) this.settle((pl) => pl.input.done);
  }

  /** Ends every playback (the call is closing). */
  stopAll(): void {
    this.settle(() => true);
  }

  statsOf(sourceId: string): SourceStats['playback'] | undefined {
    const pl = this.playing.find((x) => x.source.sourceId === sourceId);
    return pl ? { playedFrames: pl.input.playedFrames, totalFrames: pl.input.totalFrames } : this.finished.get(sourceId);
  }

  finishedIds(): IterableIterator<string> {
    return this.finished.keys();
  }

  private settle(which: (pl: Playing) => boolean): void {
    const keep: Playing[] = [];
    for (const pl of this.playing) {
      if (!which(pl)) {
        keep.push(pl);
        continue;
      }
      const { input, source } = pl;
      this.pipeline.removeSource(source.sourceId);
      this.finished.set(source.sourceId, { playedFrames: input.playedFrames, totalFrames: input.totalFrames });
      pl.resolve({ sourceId: source.sourceId, frames: input.playedFrames, durationMs: input.playedFrames * FRAME_MS, completed: input.done });
    }
    this.playing = keep;
  }
}
