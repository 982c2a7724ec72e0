/**
 * A call's media, whatever carries it: RTP participants on a UDP port, PCM frames from an ingress
 * adapter (ACS, the media bridge), or nothing but what the bot plays. The media thread holds every
 * call by this one interface: it ticks it, feeds it, plays into it, asks its stats, closes it.
 */
import type { ClockStats } from '../core/clock.js';
import type { CallPipeline, PipelineStageStats } from '../core/pipeline.js';
import type { HookStats } from '../hooks/runner.js';

/** One 20 ms PCM frame of a source (see pcm/pcm-input.ts for rates and flags). */
export interface PcmFrameMessage {
  sourceId: string;
  rate: number;
  /** Media time of the first sample, ms (the sender's clock; only differences matter). */
  timestampMs: number;
  samples: Int16Array;
  flags: number;
}

/** One source in a call's stats: RTP participants carry their SSRC and jitter figures, PCM sources their input's. */
export interface SourceStats {
  sourceId: string;
  ssrc?: number;
  address?: string;
  port?: number;
  packetsSent?: number;
  jitter?: Record<string, number>;
  /** PCM ingress sources: the PcmFrameInput stats. */
  pcm?: Record<string, number>;
  /** Playback sources (what the bot plays): frames played of the total. */
  playback?: { playedFrames: number; totalFrames: number };
}

/** What a session reports about itself. */
export interface SessionStats {
  callId: string;
  mediaTimeMs: number;
  ticks: number;
  encodes: number;
  lastEncodes: number;
  sources: SourceStats[];
  /** Counters of what carries the media (UDP packets, PCM frames); null when nothing does. */
  transport: Record<string, number> | null;
  stages: PipelineStageStats;
  hooks: { hooks: HookStats[] } | null;
}

/** A session's stats plus the media thread it runs on. */
export interface CallMediaStats extends SessionStats {
  /** The media thread's clock: ticks and late ticks across all its calls. */
  clock: ClockStats;
  /** worker_threads threadId of the media thread running the call (calls with the same id share `clock`). */
  threadId?: number;
}

export interface RtpEndpoint {
  address: string;
  port: number;
}

/** Audio for the bot to say into a call: mono int16 at 16, 24 or 48 kHz. */
export interface PlaybackRequest {
  /** The source id the audio appears under (events, recordings, stats). */
  sourceId: string;
  rate: number;
  samples: Int16Array;
}

export interface PlaybackResult {
  sourceId: string;
  /** 20 ms frames played. */
  frames: number;
  durationMs: number;
  /** False when the call ended before the audio did. */
  completed: boolean;
}

export interface MediaSession {
  readonly callId: string;
  readonly pipeline: CallPipeline;
  /** Where RTP participants send to, for an RTP session; null otherwise. */
  readonly rtp: RtpEndpoint | null;
  /** Whether `outbound()` ever has audio (a PCM session with an outbound mode). */
  readonly hasOutbound: boolean;
  /** One 20 ms tick: the pipeline, then the session's own bookkeeping (playbacks). */
  tick(): void;
  /** Called right before each tick (batched socket I/O reads the packets that arrived). */
  beforeTick?(): void;
  /** Called right after each tick (batched socket I/O sends the tick's packets). */
  afterTick?(): void;
  /** PCM ingress frames; false when this session takes none (the caller counts them as stray). */
  pushPcm(frames: readonly PcmFrameMessage[]): boolean;
  /**
   * Plays audio into the call as one more source, mixed like any participant's (everyone hears it,
   * the recorder and hooks see it under `sourceId`). Resolves when it has been played out.
   */
  playPcm(request: PlaybackRequest): Promise<PlaybackResult>;
  /**
   * Pauses or resumes recording and transcription (hooks marked `keepsMedia` get no frames while
   * paused); returns the media time it takes effect at.
   */
  setRecordingPaused(paused: boolean): number;
  /** This tick's outbound frame (16 kHz, 320 samples, a reused buffer), or null. */
  outbound(): Int16Array | null;
  stats(): SessionStats;
  /** Stops the media (hooks flushed, sockets closed); unfinished playbacks resolve not completed. */
  close(): Promise<SessionStats>;
}
