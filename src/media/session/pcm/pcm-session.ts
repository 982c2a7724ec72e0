/**
 * A call whose sources arrive as PCM frames from an ingress adapter (ACS, the media bridge), with
 * its outbound audio handed back each tick (see pcm-call.ts).
 */
import type { EncoderSettings } from '../../codec/types.js';
import type { CallPipeline } from '../../core/pipeline.js';
import type { HookRunner } from '../../hooks/runner.js';
import type { PcmFrameMessage, SourceStats } from '../media-session.js';
import { PipelineSession } from '../pipeline-session.js';
import type { PcmCallOptions } from '../spec.js';
import { PcmCall } from './pcm-call.js';

/** Counters kept by whoever feeds PCM sessions (frames for calls it does not run). */
export interface PcmFeedCounters {
  strayPcmFrames: number;
}

export class PcmMediaSession extends PipelineSession {
  override readonly hasOutbound: boolean;
  private readonly pcm: PcmCall;

  constructor(
    pipeline: CallPipeline,
    runner: HookRunner | null,
    encoder: Partial<EncoderSettings>,
    options: PcmCallOptions,
    private readonly feed: PcmFeedCounters,
  ) {
    super(pipeline, runner, encoder);
    this.pcm = new PcmCall(pipeline, options, encoder);
    this.hasOutbound = this.pcm.outboundMode !== 'off';
  }

  override pushPcm(frames: readonly PcmFrameMessage[]): boolean {
    this.pcm.push(frames);
    return true;
  }

  override outbound(): Int16Array | null {
    return this.pcm.outbound() ? this.pcm.outFrame : null;
  }

  protected override describeSource(sourceId: string): SourceStats {
    const pcm = this.pcm.statsOf(sourceId);
    return pcm ? { sourceId, pcm } : super.describeSource(sourceId);
  }

  protected override *departedSources(): Iterable<string> {
    yield* super.departedSources();
    // PCM sources removed as idle still report.
    yield* this.pcm.inputs.keys();
  }

  protected override transportStats(): Record<string, number> {
    const c = this.pcm.counters;
    return { pcmFrames: c.frames, pcmBadFrames: c.badFrames, strayPcmFrames: this.feed.strayPcmFrames };
  }
}
