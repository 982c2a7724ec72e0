import type { EmuCall, EmuMeeting, EmuOperation, EmuParticipant, Json, ResultInfo } from './state.js';

/** Builders for every resource and notification body the emulator emits, in Graph's shapes. */

const NS = '#microsoft.graph.';

export function odataType(name: string): string {
  return `${NS}${name}`;
}

export function iso(d: Date): string {
  return d.toISOString();
}

/** Adds @odata.type identity / identitySet decorations to an identitySet as Graph does in call resources. */
export function decorateIdentitySet(set: unknown): Json {
  const out: Json = { '@odata.type': odataType('identitySet') };
  if (typeof set !== 'object' || set === null) return out;
  for (const [k, v] of Object.entries(set as Json)) {
    if (k === '@odata.type') continue;
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
      const ident = { ...(v as Json) };
      delete ident['@odata.type'];
      out[k] = { '@odata.type': odataType('identity'), ...ident };
    } else {
      out[k] = v;
    }
  }
  return out;
}

/** Every identitySet slot of the communications schema; Graph sends the unused ones as null. */
const IDENTITY_SLOTS = ['user', 'guest', 'encrypted', 'onPremises', 'applicationInstance', 'application', 'device', 'phone'];

/** An identitySet with @odata.type decorations and the unused slots present as null. */
export function fullIdentitySet(set: unknown): Json {
  const out = decorateIdentitySet(set);
  for (const k of IDENTITY_SLOTS) if (!(k in out)) out[k] = null;
  return out;
}

export function resultInfo(r: ResultInfo): Json {
  return { '@odata.type': odataType('resultInfo'), code: r.code, subcode: r.subcode, message: r.message };
}

export function participantInfo(p: EmuParticipant): Json {
  return {
    '@odata.type': odataType('participantInfo'),
    identity: fullIdentitySet(p.identity),
    endpointType: 'default',
    region: p.region,
    languageId: p.languageId,
    countryCode: null,
    id: p.endpointId,
  };
}

export function participantResource(p: EmuParticipant, call: EmuCall, graphUrl: string, withContext: boolean): Json {
  const streams: Json[] = [
    {
      '@odata.type': odataType('mediaStream'),
      mediaType: 'audio',
      label: 'main-audio',
      sourceId: p.sourceId,
      direction: p.onHold ? 'receiveOnly' : 'sendReceive',
      serverMuted: false,
    },
  ];
  if (p.screenSharingRole === 'sharer') {
    streams.push({
      '@odata.type': odataType('mediaStream'),
      mediaType: 'videoBasedScreenSharing',
      label: 'applicationsharing-video',
      sourceId: String(Number(p.sourceId) + 1000),
      direction: 'sendOnly',
      serverMuted: false,
    });
  }
  const out: Json = {
    '@odata.type': odataType('participant'),
    id: p.id,
    info: participantInfo(p),
    mediaStreams: streams,
    isMuted: p.isMuted,
    isInLobby: p.inLobby === true,
    metadata: null,
    recordingInfo: null,
    restrictedExperience: null,
  };
  if (withContext) out['@odata.context'] = `${graphUrl}/${call.version}/$metadata#communications/calls('${call.id}')/participants/$entity`;
  return out;
}

function echoParticipantInfo(info: unknown, invitation: boolean): Json {
  const src = typeof info === 'object' && info !== null ? (info as Json) : {};
  const out: Json = {
    ...src,
    '@odata.type': odataType(invitation ? 'invitationParticipantInfo' : 'participantInfo'),
    identity: decorateIdentitySet(src['identity']),
    endpointType: src['endpointType'] ?? null,
    region: src['region'] ?? null,
    languageId: src['languageId'] ?? null,
  };
  if (invitation) out['replacesCallId'] = src['replacesCallId'] ?? null;
  else out['countryCode'] = src['countryCode'] ?? null;
  return out;
}

function echoMediaConfig(call: EmuCall): Json {
  const mc = call.mediaConfig;
  if (call.appHostedMedia) {
    return { '@odata.type': odataType('appHostedMediaConfig'), blob: mc['blob'] ?? null, removeFromDefaultAudioGroup: mc['removeFromDefaultAudioGroup'] ?? false };
  }
  return { '@odata.type': odataType('serviceHostedMediaConfig'), preFetchMedia: Array.isArray(mc['preFetchMedia']) ? mc['preFetchMedia'] : [] };
}

export function chatInfoOf(meeting: EmuMeeting | undefined, requested: unknown): Json | null {
  const req = typeof requested === 'object' && requested !== null ? (requested as Json) : undefined;
  const threadId = meeting?.threadId ?? (typeof req?.['threadId'] === 'string' ? req['threadId'] : undefined);
  if (threadId === undefined) return null;
  return {
    '@odata.type': odataType('chatInfo'),
    threadId,
    messageId: typeof req?.['messageId'] === 'string' ? req['messageId'] : '0',
    replyChainMessageId: typeof req?.['replyChainMessageId'] === 'string' ? req['replyChainMessageId'] : null,
  };
}

function meetingInfoOf(requested: unknown): Json | null {
  if (typeof requested !== 'object' || requested === null) return null;
  const mi = { ...(requested as Json) };
  if (mi['organizer'] !== undefined) mi['organizer'] = decorateIdentitySet(mi['organizer']);
  return mi;
}

/** The full call resource (GET /communications/calls/{id}, POST response, notification resourceData). */
export function callResource(call: EmuCall, meeting: EmuMeeting | undefined, graphUrl: string): Json {
  const req = call.request;
  const targets = Array.isArray(req['targets']) ? req['targets'].map((t) => echoParticipantInfo(t, true)) : [];
  return {
    '@odata.type': odataType('call'),
    '@odata.context': `${graphUrl}/${call.version}/$metadata#communications/calls/$entity`,
    id: call.id,
    state: call.state,
    direction: call.direction,
    subject: typeof req['subject'] === 'string' ? req['subject'] : null,
    callbackUri: call.callbackUri,
    callChainId: call.callChainId,
    callRoutes: [],
    source: echoParticipantInfo(req['source'], false),
    targets,
    requestedModalities: Array.isArray(req['requestedModalities']) ? req['requestedModalities'] : ['audio'],
    activeModalities: call.state === 'established' ? ['audio'] : [],
    mediaConfig: echoMediaConfig(call),
    chatInfo: chatInfoOf(meeting, req['chatInfo']),
    meetingInfo: meetingInfoOf(req['meetingInfo']),
    transcription:
      call.kind === 'meeting'
        ? { '@odata.type': odataType('callTranscriptionInfo'), state: 'inactive', lastModifiedDateTime: iso(call.createdAt) }
        : null,
    routingPolicies: Array.isArray(req['routingPolicies']) ? req['routingPolicies'] : [],
    tenantId: call.tenantId,
    myParticipantId: call.myParticipantId,
    terminationReason: null,
    ringingTimeoutInSeconds: typeof req['ringingTimeoutInSeconds'] === 'number' ? req['ringingTimeoutInSeconds'] : null,
    mediaState: call.state === 'established' ? { '@odata.type': odataType('callMediaState'), audio: 'active' } : null,
    resultInfo: call.resultInfo ? resultInfo(call.resultInfo) : null,
    answeredBy: null,
    meetingCapability: null,
    toneInfo: call.toneInfo,
    incomingContext: req['incomingContext'] ?? null,
    callOptions: req['callOptions'] ?? null,
  };
}

/** A call resource as carried in a notification: no @odata.context, plus @odata.id and @odata.etag. */
export function callNotificationData(call: EmuCall, meeting: EmuMeeting | undefined, graphUrl: string): Json {
  const { ['@odata.context']: _ctx, ...rest } = callResource(call, meeting, graphUrl);
  return { ...rest, '@odata.id': `/communications/calls/${call.id}`, '@odata.etag': `W/"${call.etag}"` };
}

export function operationResource(call: EmuCall, op: EmuOperation, graphUrl: string): Json {
  return {
    '@odata.type': odataType(op.type),
    '@odata.context': `${graphUrl}/${call.version}/$metadata#${op.type}`,
    id: op.id,
    status: op.status,
    clientContext: op.clientContext,
    resultInfo: op.resultInfo ? resultInfo(op.resultInfo) : null,
    createdDateTime: iso(op.createdAt),
    lastActionDateTime: iso(op.lastActionAt),
    ...op.extra,
  };
}

export function operationNotificationData(call: EmuCall, op: EmuOperation, graphUrl: string): Json {
  const { ['@odata.context']: _ctx, ...rest } = operationResource(call, op, graphUrl);
  return { ...rest, '@odata.id': `/communications/calls/${call.id}/operations/${op.id}`, '@odata.etag': `W/"${call.etag}"` };
}

export function commsNotification(changeType: 'created' | 'updated' | 'deleted', resourceUrl: string, resourceData: unknown, callbackUri: string): Json {
  return { '@odata.type': odataType('commsNotification'), changeType, resourceUrl, callbackUri, resourceData };
}

export function commsNotifications(items: Json[]): Json {
  return { '@odata.type': odataType('commsNotifications'), value: items };
}

function meetingParticipantInfo(info: unknown): Json {
  const i = typeof info === 'object' && info !== null ? (info as Json) : {};
  return { '@odata.type': odataType('meetingParticipantInfo'), ...i, identity: decorateIdentitySet(i['identity']) };
}

export function meetingResource(m: EmuMeeting, graphUrl: string, userId: string): Json {
  const parts = (m.resource['participants'] ?? {}) as Json;
  const list = (v: unknown): Json[] => (Array.isArray(v) ? v.map(meetingParticipantInfo) : []);
  return {
    '@odata.type': odataType('onlineMeeting'),
    '@odata.context': `${graphUrl}/v1.0/$metadata#users('${userId}')/onlineMeetings/$entity`,
    id: m.id,
    ...m.resource,
    participants: {
      '@odata.type': odataType('meetingParticipants'),
      organizer: meetingParticipantInfo(parts['organizer']),
      attendees: list(parts['attendees']),
      producers: list(parts['producers']),
      contributors: list(parts['contributors']),
    },
    joinWebUrl: m.joinWebUrl,
    videoTeleconferenceId: m.videoTeleconferenceId,
    externalId: m.externalId,
    chatInfo: { '@odata.type': odataType('chatInfo'), threadId: m.threadId, messageId: '0', replyChainMessageId: '0' },
    joinMeetingIdSettings: { isPasscodeRequired: m.passcode !== null, joinMeetingId: m.joinMeetingId, passcode: m.passcode },
  };
}

export function presenceResource(p: { id: string; availability: string; activity: string; statusMessage: Json | null }, graphUrl: string, withContext: boolean): Json {
  const out: Json = {
    id: p.id,
    availability: p.availability,
    activity: p.activity,
    statusMessage: p.statusMessage,
    outOfOfficeSettings: { message: null, isOutOfOffice: false },
  };
  return withContext ? { '@odata.context': `${graphUrl}/v1.0/$metadata#users('${p.id}')/presence/$entity`, ...out } : out;
}
