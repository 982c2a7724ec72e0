/**
 * One call's media as a sidecar streams it, 20 ms at a time: per speaker a level, the active
 * speakers (above a threshold with hangover, loudest first, at most `maxUnmixed`, as Microsoft's
 * platform gives unmixed buffers), the dominant speaker (the loudest for 10 frames running),
 * unmixed frames for the active speakers and optionally the mixed stream.
 */
import type { SidecarMessage } from '../../src/ingress/bridge/messages.js';
import { encodeFrame, FLAG_SILENCE, FrameCodec, FrameKind, MIXED_SOURCE_ID, payloadFromPcm } from '../../src/ingress/bridge/wire.js';
import { SAMPLES_16K, SAMPLES_48K } from '../../src/media/core/frame.js';
import { Decimator48to16 } from '../../src/media/codec/resampler.js';

/** 20 ms at 16 kHz. */
export const FRAME = SAMPLES_16K;
const HANGOVER_FRAMES = 10;
const DOMINANT_FRAMES = 10;

export interface SidecarSpeaker {
  /** Media source id (MSI). */
  sourceId: number;
  participantId: string;
  displayName: string;
}

/** 48 kHz → 16 kHz with the media core's anti-aliased decimator (as the media platform delivers 16 kHz). */
export function to16k(track48: Int16Array): Int16Array {
  const d = new Decimator48to16();
  const frames = Math.floor(track48.length / SAMPLES_48K);
  const out = new Int16Array(frames * SAMPLES_16K);
  for (let f = 0; f < frames; f++) d.process(track48.subarray(f * SAMPLES_48K, (f + 1) * SAMPLES_48K), out.subarray(f * SAMPLES_16K, (f + 1) * SAMPLES_16K));
  return out;
}

export function frameRms(pcm: Int16Array): number {
  let s = 0;
  for (let i = 0; i < pcm.length; i++) s += pcm[i]! * pcm[i]!;
  return pcm.length === 0 ? 0 : Math.sqrt(s / pcm.length);
}

export interface SidecarCallOptions {
  callId: string;
  callIndex: number;
  send(msg: SidecarMessage): void;
  /** Sends one binary frame; false when it was not sent. */
  sendFrame(frame: Buffer): boolean;
  /** Send the mixed stream (default false). */
  mixed?: boolean;
  /** Send unmixed streams for the active speakers (default true). */
  unmixed?: boolean;
  /** At most this many unmixed streams at once (default 4). */
  maxUnmixed?: number;
  /** RMS above which a speaker frame counts as speech (default 300). */
  activeThreshold?: number;
}

/** What one tick did. */
export interface SidecarTick {
  activeChanged: boolean;
  /** The new dominant speaker's MSI when it changed this tick, else undefined. */
  dominantChanged: number | undefined;
  /** MSIs of the unmixed frames sent. */
  unmixed: number[];
  mixedSent: boolean;
}

export class SidecarCall {
  readonly callId: string;
  readonly callIndex: number;
  /** Per speaker (by index): smoothed level and frames of hangover left. */
  private readonly ema: number[] = [];
  private readonly hangover: number[] = [];
  private active: number[] = [];
  private dominant: number | null = null;
  private candidate: number | null = null;
  private candidateFrames = 0;
  private readonly seq = new Map<number, number>();
  private readonly mix = new Int16Array(FRAME);

  constructor(private readonly o: SidecarCallOptions) {
    this.callId = o.callId;
    this.callIndex = o.callIndex;
  }

  start(): void {
    this.o.send({ type: 'sessionStarted', callId: this.callId, callIndex: this.callIndex, audio: this.o.unmixed === false ? 'mixed' : this.o.mixed ? 'both' : 'unmixed' });
  }

  /** The whole source map (replace: true), as after a resume. */
  sendSourceMap(speakers: readonly SidecarSpeaker[]): void {
    this.o.send({ type: 'sourceMap', callId: this.callId, replace: true, entries: speakers.map((s) => ({ sourceId: s.sourceId, participantId: s.participantId, displayName: s.displayName })) });
  }

  /** Measures this tick's frame of every speaker (silence: zeros); their levels drive the speaker choice. */
  measure(frames: readonly Int16Array[]): void {
    for (let i = 0; i < frames.length; i++) {
      const level = frameRms(frames[i]!);
      this.ema[i] = 0.8 * (this.ema[i] ?? 0) + 0.2 * level;
      this.hangover[i] = level > (this.o.activeThreshold ?? 300) ? HANGOVER_FRAMES : Math.max(0, (this.hangover[i] ?? 0) - 1);
    }
  }

  /** After `measure`: announces speaker changes and sends this tick's frames at media time `ts`. */
  send(ts: number, speakers: readonly SidecarSpeaker[], frames: readonly Int16Array[]): SidecarTick {
    const tick: SidecarTick = { activeChanged: false, dominantChanged: undefined, unmixed: [], mixedSent: false };
    const nowActive = speakers
      .map((_, i) => i)
      .filter((i) => (this.hangover[i] ?? 0) > 0)
      .sort((a, b) => this.ema[b]! - this.ema[a]!)
      .slice(0, this.o.maxUnmixed ?? 4);
    if (nowActive.length !== this.active.length || nowActive.some((i) => !this.active.includes(i))) {
      this.active = nowActive;
      tick.activeChanged = true;
      this.o.send({ type: 'activeSpeakers', callId: this.callId, sourceIds: nowActive.map((i) => speakers[i]!.sourceId) });
    }
    const loudest = this.active.length > 0 ? speakers[this.active[0]!]!.sourceId : null;
    if (loudest !== this.dominant) {
      this.candidateFrames = this.candidate === loudest ? this.candidateFrames + 1 : 1;
      this.candidate = loudest;
      if (this.candidateFrames >= DOMINANT_FRAMES && loudest !== null) {
        this.dominant = loudest;
        tick.dominantChanged = loudest;
        this.o.send({ type: 'dominantSpeaker', callId: this.callId, sourceId: loudest });
      }
    } else this.candidateFrames = 0;
    if (this.o.unmixed !== false) {
      for (const i of this.active) {
        const msi = speakers[i]!.sourceId;
        if (this.sendStream(FrameKind.Unmixed, msi, 0, ts, frames[i]!)) tick.unmixed.push(msi);
      }
    }
    if (this.o.mixed === true) {
      this.mix.fill(0);
      let silent = true;
      for (const f of frames) {
        for (let k = 0; k < FRAME; k++) {
          if (f[k] !== 0) silent = false;
          const v = this.mix[k]! + f[k]!;
          this.mix[k] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
        }
      }
      tick.mixedSent = this.sendStream(FrameKind.Mixed, MIXED_SOURCE_ID, silent ? FLAG_SILENCE : 0, ts, this.mix);
    }
    return tick;
  }

  private sendStream(kind: FrameKind, sourceId: number, flags: number, ts: number, pcm: Int16Array): boolean {
    const q = this.seq.get(sourceId) ?? 0;
    this.seq.set(sourceId, q + 1);
    return this.o.sendFrame(encodeFrame({ kind, codec: FrameCodec.Pcm16k, flags, callIndex: this.callIndex, sourceId, sequence: q, timestampMs: ts }, payloadFromPcm(pcm)));
  }

  end(reason: string): void {
    this.o.send({ type: 'sessionEnded', callId: this.callId, reason });
  }
}
