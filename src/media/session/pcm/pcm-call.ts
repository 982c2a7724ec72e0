/**
 * The PCM ingress side of one call inside a media thread: one PcmFrameInput per
 * source, added to the call's pipeline on its first frame (and again if idle
 * detection removed it), plus the call's outbound audio for the main thread.
 */
import { isMediabotError } from '../../../errors.js';
import type { PcmCallOptions } from '../spec.js';
import { createOpusEncoder } from '../../codec/opus.js';
import type { EncoderSettings } from '../../codec/types.js';
import { SAMPLES_16K } from '../../core/frame.js';
import type { CallPipeline } from '../../core/pipeline.js';
import type { PcmFrameMessage } from '../media-session.js';
import { PcmFrameInput } from './pcm-input.js';

/** Not a wire bit: marks frames of a playback source (what the bot says), kept in the 'mix-minus' outbound. */
export const PCM_FLAG_PLAYBACK = 0x100;

export interface PcmCallCounters {
  frames: number;
  badFrames: number;
  lastError: string | null;
}

export class PcmCall {
  readonly inputs = new Map<string, PcmFrameInput>();
  /** Sources that came from ingress (left out of the 'mix-minus' outbound). */
  private readonly ingressSources = new Set<string>();
  readonly counters: PcmCallCounters = { frames: 0, badFrames: 0, lastError: null };
  private readonly acc = new Int32Array(SAMPLES_16K);
  readonly outboundMode: 'off' | 'mix' | 'mix-minus';

  constructor(
    private readonly pipeline: CallPipeline,
    private readonly opts: PcmCallOptions,
    private readonly encoderSettings: Partial<EncoderSettings> = {},
  ) {
    this.outboundMode = opts.outbound ?? 'off';
  }

  push(frames: readonly PcmFrameMessage[]): void {
    const p = this.pipeline;
    for (const f of frames) {
      this.counters.frames++;
      let input = this.inputs.get(f.sourceId);
      if (!input) {
        input = new PcmFrameInput({
          ...(this.opts.playoutDelayMs !== undefined ? { playoutDelayMs: this.opts.playoutDelayMs } : {}),
          ...(this.opts.maxQueueMs !== undefined ? { maxQueueMs: this.opts.maxQueueMs } : {}),
          ...(this.opts.encodeOpus ? { encoder: createOpusEncoder(this.encoderSettings) } : {}),
        });
        this.inputs.set(f.sourceId, input);
      }
      try {
        input.push(f.rate, f.timestampMs, f.samples, f.flags & 0xff);
      } catch (err) {
        this.counters.badFrames++;
        this.counters.lastError = isMediabotError(err) ? `${err.code}: ${err.message}` : String(err);
        continue;
      }
      if ((f.flags & PCM_FLAG_PLAYBACK) === 0) this.ingressSources.add(f.sourceId);
      let src = p.getSource(f.sourceId);
      if (!src) {
        src = p.addSource(f.sourceId, input, { receivesMix: false });
      }
      p.touch(src);
    }
  }

  /** This tick's outbound frame, valid until the next call (a reused buffer). */
  readonly outFrame = new Int16Array(SAMPLES_16K);

  /** Computes the outbound frame of this tick (after the pipeline ticked) into `outFrame`; false when silent or off. */
  outbound(): boolean {
    if (this.outboundMode === 'off') return false;
    const acc = this.acc;
    acc.fill(0);
    let any = false;
    const minus = this.outboundMode === 'mix-minus';
    for (const s of this.pipeline.listSources()) {
      if (!s.contributes) continue;
      if (minus && this.ingressSources.has(s.sourceId)) continue;
      any = true;
      const pcm = s.pcm16;
      for (let i = 0; i < SAMPLES_16K; i++) acc[i]! += pcm[i]!;
    }
    if (!any) return false;
    const out = this.outFrame;
    let energy = 0;
    for (let i = 0; i < SAMPLES_16K; i++) {
      const v = acc[i]!;
      out[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
      energy |= v;
    }
    return energy !== 0;
  }

  statsOf(sourceId: string): Record<string, number> | undefined {
    const input = this.inputs.get(sourceId);
    return input ? { ...input.stats } : undefined;
  }
}
