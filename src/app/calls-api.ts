/**
 * `Mediabot.calls`: what the operator API (/v1) does over HTTP, in code. One method per route,
 * same inputs, same results, same `MEDIABOT_*` errors (thrown as MediabotError):
 *
 *   GET /v1/calls, /v1/calls/:id        list(), get()
 *   POST /v1/calls                      join() (joinWebUrl) or place() (targets)
 *   DELETE /v1/calls/:id                hangUp()
 *   POST /v1/calls/:id/play             play()
 *   POST /v1/calls/:id/mute, /unmute    mute(), unmute()
 *   GET /v1/calls/:id/participants      participants()
 *   GET /v1/calls/:id/transcript        transcript(), transcriptVtt() (?format=vtt)
 *   GET /v1/calls/:id/recordings(/:f)   recordings(), recordingPath()
 *   GET /v1/calls/:id/analytics         analytics()
 *   GET /v1/calls/:id/meeting-artifacts meetingArtifacts()
 *   GET /v1/history, /v1/history/:id   history(), summary()
 *   DELETE /v1/calls/:id/data           deleteData()
 *   GET /v1/deletions                   deletions()
 *   GET /v1/events                      Mediabot.events
 *
 * plus what only code needs: the live speaker list and the artifacts once a call is finalized.
 */
import type { CallArtifacts, CallService, MediaMode, RecordingEntry, SpeakerInfo, TargetInput } from '../calls/service.js';
import type { LeaveOverride } from '../calls/leave/input.js';
import type { CallSettings } from '../calls/call-settings.js';
import type { MeetingArtifactsView } from '../calls/meeting-artifacts.js';
import { MediabotError } from '../errors.js';
import { callJson, type CallJson } from '../server/routes/v1-calls.js';
import type { CallRegistry } from '../signaling/registry.js';
import type { CallHistory, CallSummaryView, HistoryPage, HistoryQuery } from '../calls/history.js';
import type { CallDataDeleter, DeletionResult } from '../retention/call-data.js';
import type { DeletionFilter, DeletionRecord } from '../retention/deletion-log.js';

/** A call as GET /v1/calls/:id shows it, with how its media is hosted (null before it is known). */
export interface CallInfo extends CallJson {
  media: MediaMode | null;
}

/** `active` = every call not terminated, or one call state. */
export type CallStateFilter = 'active' | CallJson['state'];

export interface JoinInput {
  /** The meeting's join URL (Teams "Join" link). */
  joinWebUrl: string;
  /** `app` (default): mediabot hosts the media (mixes, records, transcribes); `service`: Graph does (prompts via playPrompt). */
  media?: MediaMode;
  /** Needed for /meet/<id> links when the config has no tenant. */
  tenantId?: string;
  subject?: string;
  /** Leave rules for this call, in seconds, over the MEDIABOT_LEAVE_* defaults; 0 turns one off (docs/leave-rules.md). */
  leave?: LeaveOverride;
  /** Per-call settings: transcription, recording, webhookUrl, metadata (POST /v1/calls takes the same). */
  settings?: CallSettings;
}

export interface PlaceInput {
  /** One target: a P2P call; up to 5: a group call. */
  targets: TargetInput[];
  media?: MediaMode;
  subject?: string;
  leave?: LeaveOverride;
  settings?: CallSettings;
}

/** Exactly one of `url` (an http(s) WAV) or `text` (spoken with the shipped speech or espeak-ng). */
export interface PromptInput {
  url?: string;
  text?: string;
  /** An espeak-ng voice name for `text`. */
  voice?: string;
}

export type PlayResult = Awaited<ReturnType<CallService['play']>>;
export type ParticipantInfo = ReturnType<CallService['participants']>[number];
export type Transcript = ReturnType<CallService['transcript']>;

export interface MediabotCalls {
  list(filter?: { state?: CallStateFilter }): CallInfo[];
  /** Throws MEDIABOT_CALL_NOT_FOUND for an unknown id. */
  get(callId: string): CallInfo;
  /** Joins a Teams meeting by its join URL; resolves once Graph accepted the call (it is then establishing). */
  join(input: JoinInput): Promise<CallInfo>;
  /** Places a call to users, phone numbers or applications. */
  place(input: PlaceInput): Promise<CallInfo>;
  hangUp(callId: string): Promise<void>;
  /** Plays a prompt into the call and resolves when it finished playing. */
  play(callId: string, prompt: PromptInput): Promise<PlayResult>;
  mute(callId: string): Promise<{ muted: true; operationId: string | null }>;
  unmute(callId: string): Promise<{ muted: false; operationId: string | null }>;
  /** The roster with live media state (talking, level, talk time). */
  participants(callId: string): ParticipantInfo[];
  /** The media sources of the call and who is behind each (sourceId → participant). */
  speakers(callId: string): SpeakerInfo[];
  transcript(callId: string): Transcript;
  transcriptVtt(callId: string): string;
  recordings(callId: string): Promise<RecordingEntry[]>;
  /** The absolute path of one listed recording; MEDIABOT_NOT_FOUND for anything else. */
  recordingPath(callId: string, file: string): Promise<string>;
  /** Final analytics once the call ended, live talk times before. */
  analytics(callId: string): unknown;
  /** Teams' attendance report and transcript (WebVTT) of a meeting call, once fetched; MEDIABOT_NOT_FOUND before. */
  meetingArtifacts(callId: string): Promise<MeetingArtifactsView>;
  /** Resolves with the call's artifacts (recordings, transcript, analytics) once it ended and they were written. */
  whenFinalized(callId: string, timeoutMs?: number): Promise<CallArtifacts>;
  /** Ended calls from what is stored (survives restarts), the most recently ended first; page with `before: page.next`. */
  history(query?: HistoryQuery): HistoryPage;
  /**
   * One ended call: end reason, speakers with talk time, talk segments and overlaps, transcript,
   * recordings and files (with signed links), webhook deliveries. MEDIABOT_CALL_NOT_ENDED while it
   * is live, MEDIABOT_CALL_NOT_FOUND when nothing is stored for it.
   */
  summary(callId: string): Promise<CallSummaryView>;
  /**
   * Deletes an ended call's data everywhere (recordings, transcript, analytics, stored rows, objects
   * in storage), logs counts of what was removed and emits `data.deleted` (docs/retention.md).
   * MEDIABOT_CALL_ACTIVE while the call is live or its artifacts are being written; once nothing is
   * left, resolves with the earlier record (`alreadyDeleted: true`); MEDIABOT_CALL_NOT_FOUND for a
   * call that never had data stored.
   */
  deleteData(callId: string): Promise<DeletionResult>;
  /** The deletion log, newest first. */
  deletions(filter?: DeletionFilter): DeletionRecord[];
}

export function callsApi(service: CallService, registry: CallRegistry, deleter: CallDataDeleter, history?: CallHistory): MediabotCalls {
  const noHistory = (): never => {
    throw new MediabotError('MEDIABOT_NOT_FOUND', 'this mediabot keeps no call history');
  };
  const info = (view: Parameters<typeof callJson>[0]): CallInfo => ({ ...callJson(view), media: service.mediaMode(view.id) });
  return {
    list: (filter = {}) =>
      registry
        .list()
        .filter((c) => filter.state === undefined || (filter.state === 'active' ? c.state !== 'terminated' : c.state === filter.state))
        .map(info),
    get: (callId) => {
      const view = registry.get(callId);
      if (!view) throw new MediabotError('MEDIABOT_CALL_NOT_FOUND', `no call with id ${callId}`);
      return info(view);
    },
    join: async (input) => info(await service.join(input)),
    place: async (input) => info(await service.place(input)),
    hangUp: (callId) => service.hangUp(callId),
    play: (callId, prompt) => service.play(callId, prompt),
    mute: async (callId) => ({ muted: true, ...(await service.mute(callId, true)) }),
    unmute: async (callId) => ({ muted: false, ...(await service.mute(callId, false)) }),
    participants: (callId) => service.participants(callId),
    speakers: (callId) => service.speakers(callId),
    transcript: (callId) => service.transcript(callId),
    transcriptVtt: (callId) => service.transcriptVtt(callId),
    recordings: (callId) => service.recordings(callId),
    recordingPath: (callId, file) => service.recordingPath(callId, file),
    analytics: (callId) => service.analytics(callId),
    meetingArtifacts: (callId) => service.meetingArtifacts(callId),
    whenFinalized: (callId, timeoutMs) => service.whenFinalized(callId, timeoutMs),
    deleteData: (callId) => deleter.delete(callId, 'request'),
    deletions: (filter) => deleter.deletions(filter),
    history: (query) => (history ? history.list(query) : noHistory()),
    summary: async (callId) => (history ? history.summary(callId) : noHistory()),
  };
}
