import type { MediaEvent } from '../hooks/types.js';
import type { CallSpec } from './call-spec.js';
import type { ClockStats } from './clock.js';
import type { PipelineStageStats } from './pipeline.js';

/** Messages between the main thread and a media thread. */
export type ToMediaThread =
  | { id: number; type: 'create'; spec: CallSpec }
  | { id: number; type: 'end'; callId: string }
  | { id: number; type: 'stats'; callId: string }
  | { id: number; type: 'shutdown' };

export type FromMediaThread =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: { code: string; message: string } }
  | { type: 'events'; events: MediaEvent[] };

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
  }>;
  transport: Record<string, number> | null;
  stages: PipelineStageStats;
  /** The media thread's clock: ticks and late ticks across all its calls. */
  clock: ClockStats;
  hooks: unknown;
}

export interface CreatedCall {
  callId: string;
  rtp: { address: string; port: number } | null;
}
