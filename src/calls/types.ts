/** The call service's shared types: its options, what it returns, and one call's media state. */
import type { MediaSessionProvider } from '../graph/media-config.js';
import type { GraphClient } from '../graph/client.js';
import type { IdentityKind } from '../graph/identities.js';
import type { EventBus } from '../events/bus.js';
import type { SpeakerRef } from '../events/live.js';
import type { LeaveSettings } from '../config/leave-settings.js';
import type { LeaveOverride } from './leave/input.js';
import type { Logger } from '../logger.js';
import type { TranscriptLine } from '../media/hooks/export.js';
import type { CallMediaStats } from '../media/threads/pool.js';
import type { Signaling } from '../signaling/signaling.js';
import type { SpeechStore } from '../store/speech-store.js';
import type { IngressMediaPort } from './ingress.js';
import type { RtpMediaSessions } from './media-sessions.js';
import type { PromptStore } from './prompts.js';
import type { CallSettings, CallSettingsPort } from './call-settings.js';
import type { ConsentSettings } from '../config/consent-settings.js';

export type { SpeakerRef } from '../events/live.js';
export type { LiveEvent, WorkerEvent } from '../events/live.js';

export type MediaMode = 'app' | 'service';

export interface SpeakerInfo extends SpeakerRef {
  talking: boolean;
  talkMs: number;
  levelDbov: number | null;
}

export interface CallArtifacts {
  callId: string;
  dir: string;
  files: string[];
  recordings: RecordingEntry[];
  analytics: unknown;
  talkMsBySpeaker: Record<string, number>;
  transcript: TranscriptLine[];
  mediaStats: CallMediaStats | null;
}

export interface RecordingEntry {
  file: string;
  sourceId: string;
  speaker: string | null;
  format: 'ogg' | 'wav';
  bytes: number;
}

export interface TargetInput {
  kind: IdentityKind;
  id: string;
  displayName?: string;
  tenantId?: string;
}

/** What joining a meeting takes (CallService.join). */
export interface JoinCallInput {
  joinWebUrl: string;
  media?: MediaMode;
  tenantId?: string;
  subject?: string;
  /** Per-call settings (call-settings.ts): transcription, recording, webhook URL, metadata. */
  settings?: CallSettings;
  /** Leave rules for this call over the MEDIABOT_LEAVE_* defaults (docs/leave-rules.md). */
  leave?: LeaveOverride;
}

/** What placing a call takes (CallService.place). */
export interface PlaceCallInput {
  targets: TargetInput[];
  media?: MediaMode;
  subject?: string;
  settings?: CallSettings;
  leave?: LeaveOverride;
}

export interface OperatorParticipant {
  id: string;
  displayName: string | null;
  muted: boolean;
  inLobby: boolean;
  identity: { kind: string; id: string | null } | null;
  isBot: boolean;
  sourceIds: string[];
  talking: boolean;
  talkMs: number;
  levelDbov: number | null;
}

/** What the service knows of one call's media, from creation to its artifacts. */
export interface CallMedia {
  callId: string;
  mediaId: string | null;
  mode: MediaMode;
  speakers: Map<string, SpeakerInfo>;
  promptSources: Set<string>;
  transcript: TranscriptLine[];
  dominant: string | null;
  lastMediaTimeMs: number;
  finalizing: Promise<CallArtifacts> | null;
  artifacts: CallArtifacts | null;
  /** A call that exists only as an ingress stream (ACS, or a sidecar session mediabot did not ask for). */
  ingressOnly: boolean;
  /** The app-hosted media is an RTP session of `media` (prompts can be played into it). */
  rtpMedia: boolean;
  /** Who is behind each media source, as the media sidecar reported it (bridge sourceMap). */
  sourceMap: Map<string, { participantId: string; displayName: string | null }>;
  /** Stretches of call media time when nothing was recorded or transcribed (toMs null: to the end); in call.json. */
  recordingPauses: RecordingPause[];
}

export interface RecordingPause {
  fromMs: number;
  toMs: number | null;
  /** The operator paused, or the policy-based recording status was awaited or refused. */
  reason: 'operator' | 'policy';
}

export interface CallServiceOptions {
  graph: GraphClient;
  signaling: Signaling;
  bus: EventBus;
  /** Where calls' artifacts go: `<dataDir>/calls/<callId>/`. */
  dataDir: string;
  /** Folder the recorder writes under (`<recordDir>/<mediaId>/…`), when recording. */
  recordDir: string | undefined;
  callbackUri: string;
  /** Public base URL of this server (prompts are served from it). */
  publicBaseUrl: () => string;
  /** The app's client id: the bot's own roster entry is left out of the speaker mapping. */
  clientId: string;
  tenantId: string | undefined;
  media: RtpMediaSessions;
  /** Where final analytics are stored (SQLite), besides the files. */
  speech?: SpeechStore;
  /** Supplies blobs for app-hosted media (default: `media`, the RTP sessions). */
  mediaSessions?: MediaSessionProvider;
  /** Media of ingress calls (ACS streams, bridge sessions): scratch folders and ending. */
  ingress?: IngressMediaPort;
  prompts: PromptStore;
  logger: Logger;
  /** Gates outbound calls (join, place): refuses them while draining or at capacity (app/admission.ts). */
  admission?: { admit<T>(place: () => Promise<T>): Promise<T> };
  /** The leave rules' defaults (config `leave`); absent: LEAVE_DEFAULTS. */
  leave?: LeaveSettings;
  /** Per-call settings: validated before anything is created, applied to the call's media hooks, stored with the call. */
  callSettings?: CallSettingsPort;
  /**
   * The consent announcement (config `consent`) and whether a call's media keeps audio (its hooks
   * record or transcribe); absent: no announcement (docs/consent.md).
   */
  consent?: {
    settings: ConsentSettings;
    keepsMedia: (mediaId: string) => boolean;
    /** Quiet time after the last join before announcing (default 1000 ms). */
    settleMs?: number;
  };
  /** Teams' attendance report and transcript after a meeting (meeting-artifacts.ts); absent: off. */
  meetingArtifacts?: {
    /** MEDIABOT_FETCH_MEETING_ARTIFACTS: for every meeting call unless its settings say otherwise. */
    defaultOn: boolean;
    /** The tenant of a call (the Graph client's CallTenants). */
    callTenant?: (callId: string) => string | undefined;
    /** How long to keep asking Graph after the call, and between attempts (defaults 30 min, 30 s). */
    waitMs?: number;
    pollMs?: number;
  };
}
