/**
 * `mediabot/hooks`: write your own media hooks, and use the built-in ones.
 *
 * A hook runs on a media thread, so it reaches mediabot as a module: export a `HookFactory` from a
 * file and name it in `createMediabot(config, { hooks: [{ module, export }] })` (or MEDIABOT_HOOKS).
 * Inline hooks see every 20 ms frame (views: copy what you keep) within a time budget; async hooks
 * consume a bounded queue. `ctx.emit({ type: 'hook.custom', … })` sends your own typed event to
 * `Mediabot.events` and the events WebSocket.
 */
export type {
  AsyncHook,
  AsyncHookItem,
  CopiedSourceFrame,
  FrameOrigin,
  Hook,
  HookContext,
  InlineHook,
  MediaEvent,
  MediaEventType,
  SourceFrame,
  TickFrame,
} from './media/hooks/api.js';
export { isAsyncHook } from './media/hooks/api.js';
export type { HookFactory } from './media/hooks/api.js';
export type { HookSpec } from './media/session/spec.js';

// Built-in hooks.
export { createTalkEventsHook, type TalkEventsHook } from './media/hooks/builtin/talk-events.js';
export { createSpeakerTimelineHook, type SpeakerTimelineHook, type SpeakerTimelineOptions, type TimelineSegment } from './media/hooks/builtin/speaker-timeline.js';
export { createAnalyticsHook, AnalyticsAccumulator, type AnalyticsHook, type AnalyticsOptions, type CallAnalytics, type ParticipantAnalytics } from './media/hooks/builtin/analytics.js';
export { createTranscriptHook, type TranscriptHook } from './media/hooks/builtin/transcript.js';
export { createRecorderHook, type RecorderHook, type RecorderHookOptions, type RecordingFormat, type RecordingInfo } from './media/hooks/recorder/index.js';

// Transcription: the hook and two engines (Azure Speech is used through MEDIABOT_TRANSCRIBER=azure, loaded only then).
export { createTranscriptionHook, type TranscriptionHookOptions } from './media/hooks/transcribe/hook.js';
export { PocketsphinxTranscriber, pocketsphinxAvailable, type PocketsphinxOptions } from './media/hooks/transcribe/pocketsphinx.js';
export { WsTranscriber, type WsTranscriberOptions } from './media/hooks/transcribe/ws.js';
export type { Transcriber, TranscriberStream, TranscriptResult } from './media/hooks/transcribe/types.js';

// Transcript export.
export { transcriptToJson, transcriptToWebVtt, type TranscriptDocument, type TranscriptLine } from './media/hooks/export.js';
