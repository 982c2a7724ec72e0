/**
 * The messages between the main thread and a media thread. Requests are one discriminated union
 * whose result types are tied to their request types (`MediaResult<'end'>` is CallMediaStats), so
 * neither side casts a result; PCM frames go one way, with no reply.
 */
import type { MediaEvent } from '../hooks/api.js';
import type { CallMediaStats, PcmFrameMessage, PlaybackResult, RtpEndpoint } from '../session/media-session.js';
import type { CallSpec } from '../session/spec.js';

export type { CallMediaStats, PcmFrameMessage, PlaybackResult } from '../session/media-session.js';

export interface CreatedCall {
  callId: string;
  rtp: RtpEndpoint | null;
}

/** Each request's fields and its result. */
export interface MediaRequests {
  create: { request: { spec: CallSpec }; result: CreatedCall };
  end: { request: { callId: string }; result: CallMediaStats };
  stats: { request: { callId: string }; result: CallMediaStats };
  /** Plays audio into a call (the samples' buffer is transferred); replies once it has been played. */
  play: { request: { callId: string; sourceId: string; rate: number; samples: Int16Array }; result: PlaybackResult };
  /** Pauses or resumes the call's recording and transcription; the media time it takes effect at. */
  recording: { request: { callId: string; paused: boolean }; result: { mediaTimeMs: number } };
  shutdown: { request: Record<never, never>; result: { ok: true } };
}

export type MediaRequestType = keyof MediaRequests;
/** A request of one type, without its id (what the pool's caller gives). */
export type MediaRequestBody<K extends MediaRequestType = MediaRequestType> = K extends MediaRequestType ? { type: K } & MediaRequests[K]['request'] : never;
export type MediaRequest<K extends MediaRequestType = MediaRequestType> = K extends MediaRequestType ? { id: number } & MediaRequestBody<K> : never;
export type MediaResult<K extends MediaRequestType> = MediaRequests[K]['result'];

/** PCM ingress frames for one call (fire and forget: no reply; sample buffers are transferred). */
export interface PcmPush {
  type: 'pcm';
  callId: string;
  frames: PcmFrameMessage[];
}

export type ToMediaThread = MediaRequest | PcmPush;

/** One 20 ms frame of a call's outbound audio, 16 kHz mono int16 (320 samples). */
export interface OutboundFrame {
  callId: string;
  /** Call media time of the frame. */
  mediaTimeMs: number;
  samples: Int16Array;
}

export type MediaReply =
  | { id: number; ok: true; result: MediaResult<MediaRequestType> }
  | { id: number; ok: false; error: { code: string; message: string } };

export type FromMediaThread = MediaReply | { type: 'events'; events: MediaEvent[] } | { type: 'outbound'; frames: OutboundFrame[] };

/** What a media thread is started with. */
export interface MediaThreadData {
  /**
   * Its nice value (Linux: per thread). Below the process's, the kernel runs the thread sooner
   * when it wakes for a tick on a loaded machine; lowering it needs CAP_SYS_NICE.
   */
  nice?: number;
}
