import type { MediaEvent } from '../hooks/api.js';
import type { CallSpec } from '../session/spec.js';
import type { ClockStats } from '../core/clock.js';
import type { PipelineStageStats } from '../core/pipeline.js';

/** Messages between the main thread and a media thread. */
export type ToMediaThread =
  | { id: number; type: 'create'; spec: CallSpec }
  | { id: number; type: 'end'; callId: string }
  | { id: number; type: 'stats'; callId: string }
  | { id: number; type: 'shutdown' }
  /** PCM ingress frames for one call (fire and forget: no reply; sample buffers are transferred). */
  | { type: 'pcm'; callId: string; frames: PcmFrameMessage[] };

/** One 20 ms PCM frame of a source (see src/media/ingress/pcm-input.ts for rates and flags). */
export interface PcmFrameMessage {
  sourceId: string;
  rate: number;
  /** Media time of the first sample, ms (the sender's clock; only differences matter). */
  timestampMs: number;
  samples: Int16Array;
  flags: number;
}

/** One 20 ms frame of a call's outbound audio, 16 kHz mono int16 (320 samples). */
export interface OutboundFrame {
  callId: string;
  /** Call media time of the frame. */
  mediaTimeMs: number;
  samples: Int16Array;
}

export type FromMediaThread =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: { code: string; message: string } }
  | { type: 'events'; events: MediaEvent[] }
  | { type: 'outbound'; frames: OutboundFrame[] };

export interface CallMediaStats {
  callId: string;
  mediaTimeMs: number;
  ticks: number;
  encodes: number;
  lastEncodes: number;
  sources: Array<{
    sourceId: string;
    ssrc?: number;
    address?: string;
    port?: number;
    packetsSent?: number;
    jitter?: Record<string, number>;
    /** PCM ingress sources: the PcmFrameInput stats. */
    pcm?: Record<string, number>;
  }>;
  transport: Record<string, number> | null;
  stages: PipelineStageStats;
  /** The media thread's clock: ticks and late ticks across all its calls. */
  clock: ClockStats;
  /** worker_threads threadId of the media thread running the call (calls with the same id share `clock`). */
  threadId?: number;
  hooks: unknown;
}

export interface CreatedCall {
  callId: string;
  rtp: { address: string; port: number } | null;
}
