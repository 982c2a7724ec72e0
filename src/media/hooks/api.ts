/**
 * The hook API of the media core (see DESIGN.md "Hooks contract").
 *
 * Inline hooks run synchronously on the media thread, once per tick per call,
 * and receive *views* of the tick's buffers: they must not keep references to
 * them past the call. Async hooks receive copies through a bounded queue.
 */

/** How a source's frame for this tick was produced. */
export type FrameOrigin = 'packet' | 'fec' | 'plc' | 'silence';

export interface SourceFrame {
  /** Stable id of the source within the call (participant id, or `ssrc-<n>` for raw RTP). */
  readonly sourceId: string;
  /** 20 ms at 48 kHz mono int16 (960 samples). A view, reused next tick. Silent in a speech-only call. */
  readonly pcm48: Int16Array;
  /** 20 ms at 16 kHz mono int16 (320 samples), the speech tap. A view. */
  readonly pcm16: Int16Array;
  readonly origin: FrameOrigin;
  /** The Opus packet received for this frame, or null when concealed/silent. A view. */
  readonly opus: Uint8Array | null;
  /** True while talk detection says the source is talking. */
  readonly talking: boolean;
  /** Frame level in dBov, -127 (silence) .. 0 (full scale). */
  readonly levelDbov: number;
}

export interface TickFrame {
  readonly callId: string;
  /** Tick index since the call started. */
  readonly tick: number;
  /** Media time of this frame since the call started, in ms (tick * 20). */
  readonly mediaTimeMs: number;
  /** Sources present this tick (a view of a reused array). */
  readonly sources: readonly SourceFrame[];
  /** The full mix, 48 kHz int16 (960 samples). A view. */
  readonly mix48: Int16Array;
  /** The full mix, 16 kHz int16 (320 samples). A view. */
  readonly mix16: Int16Array;
  /** The shared Opus encode of the full mix made this tick (what non-talkers hear), or null. A view. */
  readonly mixOpus: Uint8Array | null;
}

/** Typed media events. Every event carries the call, the participant (if any) and media time. */
export type MediaEvent =
  | { type: 'source.added'; callId: string; sourceId: string; mediaTimeMs: number }
  | { type: 'source.removed'; callId: string; sourceId: string; mediaTimeMs: number }
  | { type: 'talk.start'; callId: string; sourceId: string; mediaTimeMs: number }
  | { type: 'talk.stop'; callId: string; sourceId: string; mediaTimeMs: number; durationMs: number }
  | { type: 'speaker.dominant'; callId: string; sourceId: string | null; previous: string | null; mediaTimeMs: number }
  | {
      type: 'transcript.partial' | 'transcript.final';
      callId: string;
      sourceId: string;
      text: string;
      startMs: number;
      endMs: number;
      mediaTimeMs: number;
      confidence?: number;
    }
  | { type: 'level'; callId: string; mediaTimeMs: number; levels: Record<string, number> }
  | { type: 'hook.error'; callId: string; sourceId: null; hook: string; message: string; mediaTimeMs: number }
  | { type: 'recording.file'; callId: string; sourceId: string | null; path: string; format: 'ogg' | 'wav'; mediaTimeMs: number }
  /**
   * The call's recording and transcription were paused or resumed (HookRunner.setRecordingPaused).
   * Fed to the call's hooks only, in order with its frames; the call service reports it as `call.recording`.
   */
  | { type: 'recording.state'; callId: string; sourceId: null; state: 'paused' | 'recording'; mediaTimeMs: number }
  /** The analytics hook's figures (CallAnalytics, src/media/hooks/builtin/analytics.ts), emitted when the call's hooks stop. */
  | { type: 'analytics.snapshot'; callId: string; sourceId: null; mediaTimeMs: number; analytics: Record<string, unknown> }
  /**
   * A hook's own event (a user hook's figures): `hook` names the hook, `name` the event; `data` must
   * be plain data (it crosses from the media thread). Delivered like every event: the events
   * WebSocket, `Mediabot.events`, other hooks' onEvent; not stored.
   */
  | { type: 'hook.custom'; callId: string; sourceId: string | null; hook: string; name: string; data: Record<string, unknown>; mediaTimeMs: number };

export type MediaEventType = MediaEvent['type'];

/** What a hook may do back to the pipeline. */
export interface HookContext {
  readonly callId: string;
  /** Emits a typed event to the store and the events WebSocket. */
  emit(event: MediaEvent): void;
}

export interface InlineHook {
  readonly name: string;
  /** Per-tick time budget in microseconds; overruns log a warning and count a metric. Default 500. */
  readonly budgetUs?: number;
  /**
   * True for a hook that keeps or sends away the call's audio (a recorder, an uploader): while the
   * call's recording is paused it gets no frames (it still gets events, `recording.state` among them).
   */
  readonly keepsMedia?: boolean;
  /** Called once when attached to a call. */
  start?(ctx: HookContext): void;
  /** Called every tick with views of the frames. Must be synchronous and must not keep the views. */
  onFrame(frame: TickFrame, ctx: HookContext): void;
  /** Media events of the call (talk, dominant speaker, transcript...). */
  onEvent?(event: MediaEvent, ctx: HookContext): void;
  /** Called once when the call ends; may flush files. */
  stop?(ctx: HookContext): void | Promise<void>;
}

/** A frame copied out of the tick for an async hook. */
export interface CopiedSourceFrame {
  sourceId: string;
  pcm16: Int16Array;
  origin: FrameOrigin;
  talking: boolean;
  levelDbov: number;
}

export type AsyncHookItem =
  | { kind: 'frame'; callId: string; tick: number; mediaTimeMs: number; sources: CopiedSourceFrame[]; mix16: Int16Array }
  | { kind: 'event'; event: MediaEvent };

export interface AsyncHook {
  readonly name: string;
  /** Bounded queue size in items; on overflow the oldest items are dropped and counted. Default 500 (10 s of frames). */
  readonly queueSize?: number;
  /** Whether the hook wants frames (true) or only events (false). Default true. */
  readonly wantsFrames?: boolean;
  /** True for a hook that keeps or sends away the call's audio (a transcriber): no frames while the recording is paused. */
  readonly keepsMedia?: boolean;
  /** How long stop() waits for run() to finish after the items end (e.g. a transcriber flushing). Default: the runner's (5 s). */
  readonly stopTimeoutMs?: number;
  /** Consumes items until the iterable ends (the call ended). */
  run(items: AsyncIterable<AsyncHookItem>, ctx: HookContext): Promise<void>;
}

export type Hook = InlineHook | AsyncHook;

/**
 * Makes the hooks for one call: none (null or undefined), one, or several. `call` holds the call id
 * and, for a built-in or a MEDIABOT_HOOKS module, the spec's options (plain data when the factory
 * runs in a media thread).
 */
export type HookFactory = (call: { callId: string } & Record<string, unknown>) => Hook | Hook[] | null | undefined | Promise<Hook | Hook[] | null | undefined>;

export function isAsyncHook(h: Hook): h is AsyncHook {
  return typeof (h as AsyncHook).run === 'function';
}
