/**
 * The media bridge's control messages (docs/bridge-protocol.md §3) as TypeScript types, one per
 * JSON Schema in schemas.ts; `parseControlMessage` validates a text frame against its schema and
 * returns it as one of these.
 */
import type { BRIDGE_PROTOCOL } from './schemas.js';

export interface PingMessage {
  type: 'ping';
  ts?: number;
}
export interface PongMessage {
  type: 'pong';
  ts?: number;
}
export interface ErrorMessage {
  type: 'error';
  code: string;
  message: string;
  requestId?: string;
  callId?: string;
}

export interface HelloMessage {
  type: 'hello';
  protocol: typeof BRIDGE_PROTOCOL;
  versions: number[];
  token: string;
  sidecarId: string;
  resume?: { sessionToken: string };
  capabilities?: { opus?: boolean; maxUnmixed?: number; [key: string]: unknown };
}
export interface MediaSessionCreatedMessage {
  type: 'mediaSessionCreated';
  requestId: string;
  callId: string;
  blob: string;
}
export interface SessionStartedMessage {
  type: 'sessionStarted';
  callId: string;
  callIndex: number;
  audio?: 'mixed' | 'unmixed' | 'both';
}
export interface SessionEndedMessage {
  type: 'sessionEnded';
  callId: string;
  reason: string;
}
export interface ActiveSpeakersMessage {
  type: 'activeSpeakers';
  callId: string;
  sourceIds: number[];
}
export interface DominantSpeakerMessage {
  type: 'dominantSpeaker';
  callId: string;
  sourceId: number | null;
}
export interface SourceMapMessage {
  type: 'sourceMap';
  callId: string;
  replace?: boolean;
  entries: Array<{ sourceId: number; participantId: string; displayName?: string | null }>;
}
export interface DtmfMessage {
  type: 'dtmf';
  callId: string;
  tone: string;
  direction: 'received' | 'sent';
  sourceId?: number;
}
export interface MediaHealthMessage {
  type: 'mediaHealth';
  callId: string;
  packetLossPct?: number;
  jitterMs?: number;
  roundTripMs?: number;
  framesDropped?: number;
  audioHealth?: 'good' | 'degraded' | 'poor';
}

export interface WelcomeMessage {
  type: 'welcome';
  version: number;
  sessionResume: { sessionToken: string; windowMs: number };
  resumed: boolean;
  calls: Array<{ callId: string; callIndex: number }>;
  heartbeatMs: number;
}
export interface CreateMediaSessionMessage {
  type: 'createMediaSession';
  requestId: string;
  callId: string;
}
export interface EndMediaSessionMessage {
  type: 'endMediaSession';
  callId: string;
  reason?: string;
}
export interface SendDtmfMessage {
  type: 'sendDtmf';
  callId: string;
  tones: string;
}

/** Sidecar → mediabot. */
export type SidecarMessage =
  | HelloMessage
  | MediaSessionCreatedMessage
  | SessionStartedMessage
  | SessionEndedMessage
  | ActiveSpeakersMessage
  | DominantSpeakerMessage
  | SourceMapMessage
  | DtmfMessage
  | MediaHealthMessage
  | PingMessage
  | PongMessage
  | ErrorMessage;

/** mediabot → sidecar. */
export type BotMessage = WelcomeMessage | CreateMediaSessionMessage | EndMediaSessionMessage | SendDtmfMessage | PingMessage | PongMessage | ErrorMessage;

export type SidecarMessageType = SidecarMessage['type'];
export type BotMessageType = BotMessage['type'];

/** The figures of a mediaHealth message (everything but type and callId). */
export type MediaHealth = Omit<MediaHealthMessage, 'type' | 'callId'>;
