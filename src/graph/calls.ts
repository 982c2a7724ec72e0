/**
 * /communications/calls: create (P2P, group, PSTN, meeting join), answer/reject/redirect/transfer,
 * hang up, and the in-call actions. Actions resolve when Graph accepted them (ActionResult with the
 * operation and its Location); completion arrives later as a callback notification.
 */
import type {
  AudioRoutingGroup,
  Call,
  CommsOperation,
  ContentSharingSession,
  MediaInfo,
  Modality,
  RecordOperation,
  RejectReason,
  RecordingStatus,
  ScreenSharingRole,
  Tone,
  CallDirection,
} from '@microsoft/microsoft-graph-types';
import type { GraphRequester } from './http.js';
import { invalidArgument, segment } from './errors.js';
import type { CommsInvitationParticipantInfo, CommsParticipantInfo } from './identities.js';
import type { MediaConfigWire } from './media-config.js';
import { parseJoinUrl, type ChatInfoWire, type JoinMeetingIdMeetingInfoWire, type OrganizerMeetingInfoWire } from './join-url.js';
import { action, entity, page, rejectingApi, type ActionResult, type Page } from './result.js';

const CALLS = '/communications/calls';

/** The body of POST /communications/calls as sent. */
export interface CallWire {
  '@odata.type': '#microsoft.graph.call';
  callbackUri: string;
  direction?: CallDirection;
  subject?: string;
  source?: CommsParticipantInfo;
  targets?: CommsInvitationParticipantInfo[];
  requestedModalities: Modality[];
  callOptions?: { '@odata.type': '#microsoft.graph.outgoingCallOptions'; isContentSharingNotificationEnabled?: boolean; hideBotAfterEscalation?: boolean };
  mediaConfig: MediaConfigWire;
  chatInfo?: ChatInfoWire;
  meetingInfo?: OrganizerMeetingInfoWire | JoinMeetingIdMeetingInfoWire;
  tenantId?: string;
}

export interface CommonCallOptions {
  callbackUri: string;
  mediaConfig: MediaConfigWire;
  /** Default ['audio']. */
  requestedModalities?: Modality[];
  source?: CommsParticipantInfo;
  subject?: string;
  direction?: CallDirection;
  tenantId?: string;
  isContentSharingNotificationEnabled?: boolean;
}

export interface PlaceCallOptions extends CommonCallOptions {
  /** One target: a P2P call (user, bot or PSTN phone); several: a group call (up to 5 VoIP users). */
  targets: CommsInvitationParticipantInfo[];
}

export interface JoinMeetingOptions extends CommonCallOptions {
  /** Long (meetup-join) or short (/meet/<id>?p=) Teams URL. */
  joinWebUrl?: string;
  /** Or the meeting id (and passcode) directly; needs tenantId. */
  joinMeetingId?: string;
  passcode?: string | null;
  /** Optional display name put on the organizer identity (long form only). */
  organizerDisplayName?: string;
  allowConversationWithoutHost?: boolean;
}

function checkCallbackUri(uri: unknown): string {
  if (typeof uri !== 'string') throw invalidArgument('callbackUri must be a string');
  let u: URL;
  try {
    u = new URL(uri);
  } catch {
    throw invalidArgument(`callbackUri ${JSON.stringify(uri)} is not an absolute URL`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw invalidArgument('callbackUri must be http(s)');
  return uri;
}

function commonBody(o: CommonCallOptions): CallWire {
  if (!o.mediaConfig || typeof o.mediaConfig !== 'object') throw invalidArgument('mediaConfig is required');
  const body: CallWire = {
    '@odata.type': '#microsoft.graph.call',
    callbackUri: checkCallbackUri(o.callbackUri),
    requestedModalities: o.requestedModalities ?? ['audio'],
    mediaConfig: o.mediaConfig,
  };
  if (o.direction !== undefined) body.direction = o.direction;
  if (o.subject !== undefined) body.subject = o.subject;
  if (o.source !== undefined) body.source = o.source;
  if (o.isContentSharingNotificationEnabled !== undefined) {
    body.callOptions = { '@odata.type': '#microsoft.graph.outgoingCallOptions', isContentSharingNotificationEnabled: o.isContentSharingNotificationEnabled };
  }
  if (o.tenantId !== undefined) body.tenantId = o.tenantId;
  return body;
}

/** Body for a P2P, group or PSTN call. */
export function buildPlaceCallBody(o: PlaceCallOptions): CallWire {
  if (!Array.isArray(o.targets) || o.targets.length === 0) throw invalidArgument('targets must be a non-empty array');
  const body = commonBody(o);
  body.targets = o.targets;
  return body;
}

/** Body for joining a Teams meeting from its join URL or join meeting id. */
export function buildJoinMeetingBody(o: JoinMeetingOptions): CallWire {
  const body = commonBody(o);
  if (o.joinWebUrl !== undefined) {
    const parsed = parseJoinUrl(o.joinWebUrl);
    if (parsed.kind === 'organizer') {
      body.chatInfo = parsed.chatInfo;
      const meetingInfo: OrganizerMeetingInfoWire = {
        ...parsed.meetingInfo,
        organizer: { ...parsed.meetingInfo.organizer, user: { ...parsed.meetingInfo.organizer.user } },
      };
      if (o.organizerDisplayName !== undefined) meetingInfo.organizer.user.displayName = o.organizerDisplayName;
      if (o.allowConversationWithoutHost !== undefined) meetingInfo.allowConversationWithoutHost = o.allowConversationWithoutHost;
      body.meetingInfo = meetingInfo;
      body.tenantId = o.tenantId ?? parsed.tenantId;
    } else {
      if (o.tenantId === undefined) throw invalidArgument('joining by a /meet/<id> URL needs tenantId (the URL does not carry it)');
      body.meetingInfo = { ...parsed.meetingInfo, ...(o.passcode !== undefined ? { passcode: o.passcode } : {}) };
    }
  } else if (o.joinMeetingId !== undefined) {
    if (!/^\d{5,20}$/.test(o.joinMeetingId)) throw invalidArgument('joinMeetingId must be 5-20 digits');
    if (o.tenantId === undefined) throw invalidArgument('joining by joinMeetingId needs tenantId');
    body.meetingInfo = { '@odata.type': '#microsoft.graph.joinMeetingIdMeetingInfo', joinMeetingId: o.joinMeetingId, passcode: o.passcode ?? null };
  } else {
    throw invalidArgument('joinMeeting needs joinWebUrl or joinMeetingId');
  }
  return body;
}

export interface AnswerBody {
  callbackUri: string;
  mediaConfig: MediaConfigWire;
  acceptedModalities?: Modality[];
  callOptions?: { '@odata.type'?: '#microsoft.graph.incomingCallOptions'; isContentSharingNotificationEnabled?: boolean };
  participantCapacity?: number;
}

export interface ClientContextBody {
  clientContext?: string;
}

export interface MediaPromptWire {
  '@odata.type': '#microsoft.graph.mediaPrompt';
  mediaInfo: MediaInfo & { '@odata.type'?: string };
}

export interface PlayPromptBody extends ClientContextBody {
  prompts: MediaPromptWire[];
}

export interface RecordResponseBody extends ClientContextBody {
  prompts?: MediaPromptWire[];
  bargeInAllowed?: boolean;
  initialSilenceTimeoutInSeconds?: number;
  maxSilenceTimeoutInSeconds?: number;
  maxRecordDurationInSeconds?: number;
  playBeep?: boolean;
  stopTones?: string[];
}

export interface RedirectBody {
  targets: CommsInvitationParticipantInfo[];
  timeout?: number;
  callbackUri?: string;
  /** Documented in the redirect examples (e.g. 'disableForwarding'). */
  routingPolicies?: string[];
}

export interface TransferBody extends ClientContextBody {
  transferTarget: CommsInvitationParticipantInfo;
  /** Required when transferring out of a group call: the participant being transferred. */
  transferee?: CommsParticipantInfo;
}

export interface SendDtmfTonesBody extends ClientContextBody {
  tones: Tone[];
  delayBetweenTonesMs?: number;
}

/** A prompt from a media URI, as playPrompt/recordResponse/startHoldMusic take it. */
export function mediaPrompt(uri: string, resourceId?: string): MediaPromptWire {
  if (typeof uri !== 'string' || uri.length === 0) throw invalidArgument('prompt uri must be a non-empty string');
  const mediaInfo: MediaPromptWire['mediaInfo'] = { '@odata.type': '#microsoft.graph.mediaInfo', uri };
  if (resourceId !== undefined) mediaInfo.resourceId = resourceId;
  return { '@odata.type': '#microsoft.graph.mediaPrompt', mediaInfo };
}

const callPath = (callId: string): string => `${CALLS}/${segment('callId', callId)}`;

function requireArray(name: string, v: unknown): void {
  if (!Array.isArray(v) || v.length === 0) throw invalidArgument(`${name} must be a non-empty array`);
}

export function createCallsApi(http: GraphRequester) {
  const post = <T = CommsOperation>(callId: string, verb: string, body: unknown): Promise<ActionResult<T>> =>
    action<T>(http, 'POST', `${callPath(callId)}/${verb}`, body);

  return rejectingApi({
    /** POST /communications/calls with a prepared body; returns the created call (201). */
    create: (body: CallWire | Call): Promise<Call> => entity<Call>(http, 'POST', CALLS, body),
    /** P2P / group / PSTN call. */
    placeCall: (o: PlaceCallOptions): Promise<Call> => entity<Call>(http, 'POST', CALLS, buildPlaceCallBody(o)),
    /** Join a Teams meeting by join URL or join meeting id. */
    joinMeeting: (o: JoinMeetingOptions): Promise<Call> => entity<Call>(http, 'POST', CALLS, buildJoinMeetingBody(o)),
    get: (callId: string): Promise<Call> => entity<Call>(http, 'GET', callPath(callId)),
    /** Hang up: DELETE /communications/calls/{id} (204). */
    delete: async (callId: string): Promise<ActionResult<undefined>> => action<undefined>(http, 'DELETE', callPath(callId)),
    answer: (callId: string, body: AnswerBody): Promise<ActionResult<undefined>> => {
      checkCallbackUri(body?.callbackUri);
      if (!body.mediaConfig) throw invalidArgument('answer needs mediaConfig');
      return post<undefined>(callId, 'answer', body);
    },
    reject: (callId: string, body: { reason?: RejectReason; callbackUri?: string } = {}): Promise<ActionResult<undefined>> => post<undefined>(callId, 'reject', body),
    redirect: (callId: string, body: RedirectBody): Promise<ActionResult<undefined>> => {
      requireArray('targets', body?.targets);
      return post<undefined>(callId, 'redirect', body);
    },
    transfer: (callId: string, body: TransferBody): Promise<ActionResult<undefined>> => {
      if (!body?.transferTarget?.identity) throw invalidArgument('transferTarget.identity is required');
      return post<undefined>(callId, 'transfer', body);
    },
    /** Keeps a call alive; Graph ends calls that get no keepAlive for 45 minutes. */
    keepAlive: (callId: string): Promise<ActionResult<undefined>> => post<undefined>(callId, 'keepAlive', undefined),
    mute: (callId: string, body: ClientContextBody = {}) => post(callId, 'mute', body),
    unmute: (callId: string, body: ClientContextBody = {}) => post(callId, 'unmute', body),
    changeScreenSharingRole: (callId: string, body: { role: ScreenSharingRole }): Promise<ActionResult<undefined>> => post<undefined>(callId, 'changeScreenSharingRole', body),
    updateRecordingStatus: (callId: string, body: ClientContextBody & { status: RecordingStatus }) => post(callId, 'updateRecordingStatus', body),
    addLargeGalleryView: (callId: string, body: ClientContextBody = {}) => post(callId, 'addLargeGalleryView', body),
    playPrompt: (callId: string, body: PlayPromptBody) => {
      requireArray('prompts', body?.prompts);
      return post(callId, 'playPrompt', body);
    },
    recordResponse: (callId: string, body: RecordResponseBody) => post<RecordOperation>(callId, 'recordResponse', body),
    /**
     * Downloads a recordResponse recording: GET recordingLocation with the operation's
     * recordingAccessToken (never the Graph token).
     */
    downloadRecording: async (recordingLocation: string, recordingAccessToken: string): Promise<Buffer> => {
      if (!/^https?:\/\//i.test(recordingLocation ?? '')) throw invalidArgument('recordingLocation must be an absolute http(s) URL');
      if (typeof recordingAccessToken !== 'string' || recordingAccessToken.length === 0) throw invalidArgument('recordingAccessToken is required');
      const res = await http.request<Buffer>('GET', recordingLocation, undefined, {
        authorization: `Bearer ${recordingAccessToken}`,
        responseType: 'buffer',
        headers: { accept: '*/*' },
      });
      return res.body ?? Buffer.alloc(0);
    },
    subscribeToTone: (callId: string, body: ClientContextBody = {}) => post(callId, 'subscribeToTone', body),
    sendDtmfTones: (callId: string, body: SendDtmfTonesBody) => {
      requireArray('tones', body?.tones);
      return post(callId, 'sendDtmfTones', body);
    },
    cancelMediaProcessing: (callId: string, body: ClientContextBody = {}) => post(callId, 'cancelMediaProcessing', body),
    /** POST /communications/calls/logTeleconferenceDeviceQuality (for VTC interop bots). */
    logTeleconferenceDeviceQuality: (quality: Record<string, unknown>): Promise<ActionResult<undefined>> =>
      action<undefined>(http, 'POST', `${CALLS}/logTeleconferenceDeviceQuality`, { quality }),
    getOperation: (callId: string, operationId: string): Promise<CommsOperation> =>
      entity<CommsOperation>(http, 'GET', `${callPath(callId)}/operations/${segment('operationId', operationId)}`),
    /** audioRoutingGroups (v1.0; application-hosted media): who hears whom. */
    audioRoutingGroups: {
      list: (callId: string): Promise<Page<AudioRoutingGroup>> => page<AudioRoutingGroup>(http, `${callPath(callId)}/audioRoutingGroups`),
      create: (callId: string, body: AudioRoutingGroup): Promise<AudioRoutingGroup> =>
        entity<AudioRoutingGroup>(http, 'POST', `${callPath(callId)}/audioRoutingGroups`, body),
      get: (callId: string, groupId: string): Promise<AudioRoutingGroup> =>
        entity<AudioRoutingGroup>(http, 'GET', `${callPath(callId)}/audioRoutingGroups/${segment('groupId', groupId)}`),
      update: (callId: string, groupId: string, body: AudioRoutingGroup): Promise<ActionResult<AudioRoutingGroup>> =>
        action<AudioRoutingGroup>(http, 'PATCH', `${callPath(callId)}/audioRoutingGroups/${segment('groupId', groupId)}`, body),
      delete: (callId: string, groupId: string): Promise<ActionResult<undefined>> =>
        action<undefined>(http, 'DELETE', `${callPath(callId)}/audioRoutingGroups/${segment('groupId', groupId)}`),
    },
    /** contentSharingSessions: what is being shared in the call now. */
    contentSharingSessions: {
      list: (callId: string): Promise<Page<ContentSharingSession>> => page<ContentSharingSession>(http, `${callPath(callId)}/contentSharingSessions`),
      get: (callId: string, sessionId: string): Promise<ContentSharingSession> =>
        entity<ContentSharingSession>(http, 'GET', `${callPath(callId)}/contentSharingSessions/${segment('sessionId', sessionId)}`),
    },
  });
}

export type CallsApi = ReturnType<typeof createCallsApi>;
