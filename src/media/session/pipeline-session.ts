/**
 * What every kind of media session shares: the call's pipeline and hook runner, playbacks, and
 * the stats common to all. The kinds (rtp/, pcm/) add what carries their audio.
 */
import type { EncoderSettings } from '../codec/types.js';
import type { CallPipeline } from '../core/pipeline.js';
import type { HookRunner } from '../hooks/runner.js';
import type { MediaSession, PcmFrameMessage, PlaybackRequest, PlaybackResult, RtpEndpoint, SessionStats, SourceStats } from './media-session.js';
import { Playbacks } from './playback.js';

export class PipelineSession implements MediaSession {
  readonly callId: string;
  readonly rtp: RtpEndpoint | null = null;
  readonly hasOutbound: boolean = false;
  protected readonly playbacks: Playbacks;
  private closed: Promise<SessionStats> | null = null;

  constructor(
    readonly pipeline: CallPipeline,
    protected readonly runner: HookRunner | null,
    encoder: Partial<EncoderSettings>,
  ) {
    this.callId = pipeline.callId;
    this.playbacks = new Playbacks(pipeline, encoder);
  }

  tick(): void {
    this.pipeline.tick();
    this.playbacks.afterTick();
  }

  pushPcm(_frames: readonly PcmFrameMessage[]): boolean {
    return false;
  }

  playPcm(request: PlaybackRequest): Promise<PlaybackResult> {
    return this.playbacks.start(request);
  }

  setRecordingPaused(paused: boolean): number {
    // Without hooks nothing is kept: there is nothing to pause.
    return this.runner ? this.runner.setRecordingPaused(paused) : this.pipeline.mediaTimeMs;
  }

  outbound(): Int16Array | null {
    return null;
  }

  /** A source's stats as this kind of session knows them (participant, PCM input, playback). */
  protected describeSource(sourceId: string): SourceStats {
    const playback = this.playbacks.statsOf(sourceId);
    return playback ? { sourceId, playback } : { sourceId };
  }

  /** Sources no longer in the pipeline that still report (left, idle, finished playing). */
  protected departedSources(): Iterable<string> {
    return this.playbacks.finishedIds();
  }

  protected transportStats(): Record<string, number> | null {
    return null;
  }

  stats(): SessionStats {
    const p = this.pipeline;
    const sources = p.listSources().map((s) => this.describeSource(s.sourceId));
    for (const id of this.departedSources()) if (!sources.some((s) => s.sourceId === id)) sources.push(this.describeSource(id));
    return {
      callId: p.callId,
      mediaTimeMs: p.mediaTimeMs,
      ticks: p.ticks,
      encodes: p.encodesTotal,
      lastEncodes: p.lastEncodes,
      sources,
      transport: this.transportStats(),
      stages: p.stageStats(),
      hooks: this.runner ? this.runner.stats() : null,
    };
  }

  close(): Promise<SessionStats> {
    this.closed ??= this.doClose();
    return this.closed;
  }

  /** Stats as the call ends, then the pipeline (and its hooks) stopped; kinds close their transport after. */
  protected async doClose(): Promise<SessionStats> {
    this.playbacks.stopAll();
    const stats = this.stats();
    await this.pipeline.stop();
    return stats;
  }
}
