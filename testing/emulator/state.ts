import type { EmulatorCallMedia } from './bridge-sidecar.js';

export type Json = Record<string, unknown>;

export interface ResultInfo {
  code: number;
  subcode: number;
  message: string;
}

/** Call end reasons from Graph's "Call end reason codes" table (call-delete.md). */
export const END_REASONS = {
  conversationEnded: { code: 200, subcode: 5001, message: 'The conversation has ended.' },
  allOthersLeft: { code: 200, subcode: 5002, message: 'The conversation has ended as all other participants have left the call.' },
  otherPartyEndedP2P: { code: 200, subcode: 4521, message: 'Call ended by the other participant in peer-to-peer call.' },
  pstnUserEnded: { code: 200, subcode: 540000, message: 'Call ended by the PSTN User.' },
  removedByParticipant: { code: 200, subcode: 5300, message: 'Participant was removed from the conversation by another participant.' },
  keepAliveTimeout: { code: 408, subcode: 8537, message: 'Keep Alive timeout, cleaned up inactive call.' },
  noAnswer: { code: 408, subcode: 10057, message: 'Call timed out due to no signaling from callee endpoints.' },
  transferCompleted: { code: 0, subcode: 7015, message: 'GracefulTransferCompleted' },
  rejected: { code: 200, subcode: 7000, message: 'The conversation has ended by bot.' },
} as const satisfies Record<string, ResultInfo>;

export type ParticipantKind = 'bot' | 'remote';

export interface EmuParticipant {
  id: string;
  kind: ParticipantKind;
  /** The participantInfo.identity identitySet (without @odata.type decorations). */
  identity: Json;
  displayName: string;
  endpointId: string;
  sourceId: string;
  isMuted: boolean;
  languageId: string | null;
  region: string | null;
  screenSharingRole: 'viewer' | 'sharer';
  onHold: boolean;
  /** Waiting in the meeting's lobby (Graph's isInLobby). */
  inLobby?: boolean;
  joinedAt: Date;
  leftAt?: Date;
  /** Media stats captured when the participant left (for call records). */
  sentPackets?: number;
}

export type OperationStatus = 'notStarted' | 'running' | 'completed' | 'failed';

export interface EmuOperation {
  id: string;
  /** Graph type name without namespace, e.g. playPromptOperation. */
  type: string;
  status: OperationStatus;
  clientContext: string | null;
  resultInfo: ResultInfo | null;
  /** Type-specific properties (recordingLocation, completionReason, participants...). */
  extra: Json;
  createdAt: Date;
  lastActionAt: Date;
  /** Set while a running media operation can be canceled by cancelMediaProcessing. */
  cancel?: () => void;
}

export type CallKind = 'peerToPeer' | 'groupCall' | 'meeting';

export interface EmuCall {
  id: string;
  version: 'v1.0' | 'beta';
  tenantId: string;
  callChainId: string;
  myParticipantId: string;
  state: string;
  direction: 'incoming' | 'outgoing';
  callbackUri: string;
  kind: CallKind;
  /** The request body's echoable properties (source, targets, mediaConfig, chatInfo, meetingInfo, subject...). */
  request: Json;
  mediaConfig: Json;
  appHostedMedia: boolean;
  meetingId: string | undefined;
  participants: Map<string, EmuParticipant>;
  departed: EmuParticipant[];
  operations: Map<string, EmuOperation>;
  timers: Set<NodeJS.Timeout>;
  /** RTP to the bot, or the emulator's bridge sidecar (bridge-sidecar mode). */
  media: EmulatorCallMedia | undefined;
  createdAt: Date;
  establishedAt: Date | undefined;
  endedAt: Date | undefined;
  resultInfo: ResultInfo | null;
  toneSubscribed: boolean;
  toneSequence: number;
  toneInfo: Json | null;
  etag: number;
  lastKeepAliveAt: number;
  recordingStatus: string | null;
  /** A call a compliance recording policy brought to the bot: only these accept updateRecordingStatus. */
  policyBasedRecording: boolean;
  /** The tenant whose token created (or was offered) the call: only its tokens may act on it. */
  ownerTenantId: string;
  /** audioRoutingGroups of the call (application-hosted media). */
  audioRoutingGroups: Map<string, Json>;
  /** contentSharingSessions of the call (someone sharing a screen). */
  contentSharingSessions: Map<string, Json>;
  notificationsQueued: number;
  /** A PSTN leg (a phone identity among the targets or source). */
  pstnNumber: string | undefined;
}

export interface EmuMeeting {
  id: string;
  threadId: string;
  joinMeetingId: string;
  passcode: string | null;
  videoTeleconferenceId: string;
  joinWebUrl: string;
  organizerId: string;
  organizerName: string;
  /** The organizer's tenant. */
  tenantId: string;
  externalId: string | null;
  /** Properties as stored (subject, start/end, participants...). */
  resource: Json;
  /** Index into the speech script for each simulated person. */
  people: { name: string; voice: string; sentences: string[] }[];
  endWhenEmpty: boolean;
  /** The lobby holds the bot until it is admitted through the control API. */
  lobby?: boolean;
}
