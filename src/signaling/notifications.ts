import { MediabotError } from '../errors.js';

/**
 * Parsing of inbound notification bodies into a typed discriminated union.
 *
 * Two envelopes arrive:
 * - call callbacks (POST /api/calling): `{"@odata.type":"#microsoft.graph.commsNotifications","value":[…]}`
 *   or the legacy `{"value":[…]}` with `resource: "/app/calls/…"`;
 * - change notifications (POST /api/notifications): `{"value":[…]}` items with
 *   subscriptionId/clientState, or lifecycle items with `lifecycleEvent`.
 * Any item whose shape is not recognised becomes `{kind:'unknown'}`; nothing throws
 * except a body that is not an envelope at all.
 */

export type ChangeType = 'created' | 'updated' | 'deleted';

export interface ResultInfo {
  code: number | null;
  subcode: number | null;
  message: string | null;
}

export interface IdentityRef {
  /** user | application | applicationInstance | phone | guest | encrypted | device … */
  kind: string;
  id: string | null;
  displayName: string | null;
  tenantId: string | null;
}

export interface ParticipantRef {
  /** Participant id (null in some invite rosters). */
  id: string | null;
  identity: IdentityRef | null;
  isMuted: boolean;
  isInLobby: boolean;
  mediaStreams: Array<{ mediaType: string; direction: string | null; sourceId: string | null; serverMuted: boolean }>;
}

export interface IncomingCallInfo {
  callId: string;
  direction: string | null;
  source: { participantId: string | null; identity: IdentityRef | null } | null;
  targets: Array<{ participantId: string | null; identity: IdentityRef | null }>;
  requestedModalities: string[];
  tenantId: string | null;
  myParticipantId: string | null;
  callChainId: string | null;
  callbackUri: string | null;
  incomingContext: {
    sourceParticipantId: string | null;
    observedParticipantId: string | null;
    onBehalfOf: IdentityRef | null;
    transferor: IdentityRef | null;
  } | null;
  /** `applicationMetadata.botData.inviteReasons`, e.g. ["PolicyBasedRecording"]. */
  inviteReasons: string[];
  hasMeetingInfo: boolean;
  raw: Record<string, unknown>;
}

export type OperationType =
  | 'playPrompt'
  | 'recordResponse'
  | 'sendDtmfTones'
  | 'subscribeToTone'
  | 'invite'
  | 'startHoldMusic'
  | 'stopHoldMusic'
  | 'cancelMediaProcessing'
  | 'addLargeGalleryView'
  | 'updateRecordingStatus'
  | 'mute'
  | 'unmute'
  | 'commsOperation';

export type TransferPhase = 'transferring' | 'transferAccepted' | 'transferCompleted' | 'transferFailed';

export type CallNotification =
  | { kind: 'incomingCall'; callId: string; changeType: ChangeType; call: IncomingCallInfo }
  | {
      kind: 'callState';
      callId: string;
      changeType: ChangeType;
      /** Lower-case-first Graph callState (establishing, established, terminated, …). */
      state: string;
      resultInfo: ResultInfo | null;
      terminationReason: string | null;
      transfer: TransferPhase | null;
      etag: string | null;
    }
  | { kind: 'tone'; callId: string; tone: string; sequenceId: number | null; state: string | null }
  | { kind: 'roster'; callId: string; changeType: ChangeType; participants: ParticipantRef[] }
  | {
      kind: 'operation';
      callId: string;
      operationId: string | null;
      operationType: OperationType;
      status: 'notStarted' | 'running' | 'completed' | 'failed';
      resultInfo: ResultInfo | null;
      completionReason: string | null;
      clientContext: string | null;
      /** recordResponse only. */
      recording: { location: string; accessToken: string } | null;
      /** invite only. */
      invitedParticipants: IdentityRef[];
    }
  | { kind: 'contentSharing'; callId: string; changeType: ChangeType; sessionIds: string[] }
  | { kind: 'unknown'; callId: string | null; reason: string; raw: unknown };

/** What a rich notification item carries before it is opened (see rich-notifications.ts). */
export interface RichPayload {
  encryptedContent: unknown;
  /** The body's validationTokens (they prove every item of the body). */
  validationTokens: unknown[];
}

/** Fields a resource-data item has: the sealed payload, and the resource once decrypted. */
interface RichFields {
  rich?: RichPayload;
  /** The decrypted resource data, set by ChangeNotificationProcessor when it opened `rich`. */
  data?: unknown;
}

export type ChangeNotification =
  | {
      kind: 'callRecord';
      changeType: string;
      callRecordId: string;
      subscriptionId: string | null;
      clientState: string | null;
      tenantId: string | null;
    }
  | {
      kind: 'presence';
      changeType: string;
      userId: string;
      subscriptionId: string | null;
      clientState: string | null;
      tenantId: string | null;
      /** Rich notifications carry encrypted resource data (`rich`, opened into `resource` when a key is configured). */
      encrypted: boolean;
    } & RichFields
  | {
      kind: 'lifecycle';
      lifecycleEvent: 'reauthorizationRequired' | 'subscriptionRemoved' | 'missed' | string;
      subscriptionId: string | null;
      clientState: string | null;
      tenantId: string | null;
    }
  | {
      /** Teams made a transcript or recording of a meeting available. */
      kind: 'meetingArtifact';
      artifact: 'transcript' | 'recording';
      changeType: string;
      meetingId: string;
      artifactId: string;
      subscriptionId: string | null;
      clientState: string | null;
      tenantId: string | null;
    } & RichFields
  | {
      kind: 'resourceChange';
      changeType: string;
      resource: string;
      subscriptionId: string | null;
      clientState: string | null;
      tenantId: string | null;
    } & RichFields
  | { kind: 'unknown'; callId: null; reason: string; raw: unknown };

export type NotificationItem = CallNotification | ChangeNotification;

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}
function num(v: unknown): number | null {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && /^-?\d+$/.test(v.trim())) return Number(v.trim());
  return null;
}
/** Graph enum values are camelCase; the legacy example sends "Established". */
function camel(v: string): string {
  return v.length === 0 ? v : v[0]!.toLowerCase() + v.slice(1);
}
function changeTypeOf(v: unknown): ChangeType | null {
  const s = str(v);
  if (s === null) return null;
  const c = camel(s);
  return c === 'created' || c === 'updated' || c === 'deleted' ? c : null;
}
function odataType(v: unknown): string {
  return isObj(v) ? (str(v['@odata.type']) ?? '').replace(/^#/, '').toLowerCase() : '';
}

/** The items of an envelope; throws MEDIABOT_NOTIFICATION_INVALID if the body is not one. */
function validationTokensOf(body: unknown): unknown[] {
  return isObj(body) && Array.isArray(body['validationTokens']) ? body['validationTokens'] : [];
}

function envelopeItems(body: unknown): unknown[] {
  if (!isObj(body) || !Array.isArray(body['value'])) {
    throw new MediabotError('MEDIABOT_NOTIFICATION_INVALID', 'expected a notification envelope: an object with a "value" array');
  }
  return body['value'];
}

const CALL_PATH = /^\/?(?:communications|app)\/calls\/([^/?#]+)(?:\/([^/?#]+)(?:\/([^/?#]+))?)?/i;

/** Splits a call resource path into call id, sub-collection and item id. */
export function parseCallResource(path: string | null): { callId: string; collection: string | null; itemId: string | null } | null {
  if (path === null) return null;
  let p = path;
  // Absolute URLs (https://graph.microsoft.com/v1.0/communications/…) are reduced to their path.
  const abs = /^https?:\/\/[^/]+(?:\/(?:v1\.0|beta))?(\/.*)$/i.exec(p);
  if (abs) p = abs[1]!;
  const m = CALL_PATH.exec(p);
  if (!m) return null;
  return { callId: m[1]!, collection: m[2] ?? null, itemId: m[3] ?? null };
}

export function parseResultInfo(v: unknown): ResultInfo | null {
  if (!isObj(v)) return null;
  // Docs spell it "subcode" and, in transfer examples, "subCode".
  return { code: num(v['code']), subcode: num(v['subcode'] ?? v['subCode']), message: str(v['message']) };
}

const IDENTITY_KINDS = ['user', 'application', 'applicationInstance', 'phone', 'guest', 'encrypted', 'device', 'acsUser', 'spoolUser', 'onPremises', 'azureCommunicationServicesUser'];

export function parseIdentitySet(v: unknown): IdentityRef | null {
  if (!isObj(v)) return null;
  for (const kind of IDENTITY_KINDS) {
    const id = v[kind];
    if (isObj(id)) return { kind, id: str(id['id']), displayName: str(id['displayName']), tenantId: str(id['tenantId']) };
  }
  for (const [kind, id] of Object.entries(v)) {
    if (!kind.startsWith('@') && isObj(id)) return { kind, id: str(id['id']), displayName: str(id['displayName']), tenantId: str(id['tenantId']) };
  }
  return null;
}

function parseParticipantInfo(v: unknown): { participantId: string | null; identity: IdentityRef | null } {
  if (!isObj(v)) return { participantId: null, identity: null };
  return { participantId: str(v['id']), identity: parseIdentitySet(v['identity']) };
}

export function parseParticipant(v: unknown): ParticipantRef | null {
  if (!isObj(v)) return null;
  const info = isObj(v['info']) ? v['info'] : {};
  const streams = Array.isArray(v['mediaStreams']) ? v['mediaStreams'] : [];
  return {
    id: str(v['id']),
    identity: parseIdentitySet(info['identity']),
    isMuted: v['isMuted'] === true,
    isInLobby: v['isInLobby'] === true,
    mediaStreams: streams.filter(isObj).map((s) => ({
      mediaType: str(s['mediaType']) ?? 'unknown',
      direction: str(s['direction']),
      sourceId: str(s['sourceId']),
      serverMuted: s['serverMuted'] === true,
    })),
  };
}

function parseIncoming(callId: string, d: Obj): IncomingCallInfo {
  const ctx = isObj(d['incomingContext']) ? d['incomingContext'] : null;
  const meta = isObj(d['applicationMetadata']) ? d['applicationMetadata'] : null;
  const botData = meta && isObj(meta['botData']) ? meta['botData'] : null;
  const reasons = botData && Array.isArray(botData['inviteReasons']) ? botData['inviteReasons'].filter((r): r is string => typeof r === 'string') : [];
  return {
    callId,
    direction: str(d['direction']),
    source: d['source'] === undefined ? null : parseParticipantInfo(d['source']),
    targets: Array.isArray(d['targets']) ? d['targets'].map(parseParticipantInfo) : [],
    requestedModalities: Array.isArray(d['requestedModalities']) ? d['requestedModalities'].filter((m): m is string => typeof m === 'string') : [],
    tenantId: str(d['tenantId']),
    myParticipantId: str(d['myParticipantId']),
    callChainId: str(d['callChainId']),
    callbackUri: str(d['callbackUri']),
    incomingContext: ctx
      ? {
          sourceParticipantId: str(ctx['sourceParticipantId']),
          observedParticipantId: str(ctx['observedParticipantId']),
          onBehalfOf: parseIdentitySet(ctx['onBehalfOf']),
          transferor: parseIdentitySet(ctx['transferor']),
        }
      : null,
    inviteReasons: reasons,
    hasMeetingInfo: isObj(d['meetingInfo']),
    raw: d,
  };
}

const OPERATION_TYPES: Record<string, OperationType> = {
  playpromptoperation: 'playPrompt',
  recordoperation: 'recordResponse',
  senddtmftonesoperation: 'sendDtmfTones',
  subscribetotoneoperation: 'subscribeToTone',
  inviteparticipantsoperation: 'invite',
  startholdmusicoperation: 'startHoldMusic',
  stopholdmusicoperation: 'stopHoldMusic',
  cancelmediaprocessingoperation: 'cancelMediaProcessing',
  addlargegalleryviewoperation: 'addLargeGalleryView',
  updaterecordingstatusoperation: 'updateRecordingStatus',
  muteparticipantoperation: 'mute',
  unmuteparticipantoperation: 'unmute',
  commsoperation: 'commsOperation',
};

function operationStatus(v: unknown): 'notStarted' | 'running' | 'completed' | 'failed' | null {
  const s = str(v);
  if (s === null) return null;
  const c = camel(s);
  return c === 'notStarted' || c === 'running' || c === 'completed' || c === 'failed' ? c : null;
}

function transferPhase(state: string, result: ResultInfo | null, terminationReason: string | null): TransferPhase | null {
  if (state === 'transferring') return 'transferring';
  if (state === 'transferAccepted') return 'transferAccepted';
  if (state === 'terminated' && (result?.subcode === 7015 || terminationReason?.toLowerCase() === 'apptransferred')) return 'transferCompleted';
  // A transfer that fails drops the call back to established with an error result.
  if (state === 'established' && result !== null && result.code !== null && result.code >= 400) return 'transferFailed';
  return null;
}

function unknown(callId: string | null, reason: string, raw: unknown): CallNotification {
  return { kind: 'unknown', callId, reason, raw };
}

/** One item of a call callback envelope. */
export function parseCallItem(item: unknown): CallNotification {
  if (!isObj(item)) return unknown(null, 'item is not an object', item);
  const resourcePath = str(item['resourceUrl']) ?? str(item['resource']);
  const res = parseCallResource(resourcePath);
  if (!res) return unknown(null, `not a call resource: ${resourcePath ?? '(none)'}`, item);
  const { callId } = res;
  const changeType = changeTypeOf(item['changeType']);
  if (changeType === null) return unknown(callId, 'missing or unknown changeType', item);
  const data = item['resourceData'];
  const collection = res.collection?.toLowerCase() ?? null;

  if (collection === 'participants' || (Array.isArray(data) && data.some((d) => odataType(d) === 'microsoft.graph.participant'))) {
    // Rosters arrive for …/participants; one doc example posts a roster to …/operations/participants.
    // …/participants/{id} carries one participant object rather than an array.
    const list = Array.isArray(data) ? data : isObj(data) ? [{ ...data, id: data['id'] ?? res.itemId }] : null;
    if (list === null) return unknown(callId, 'roster notification without participants', item);
    const participants = list.map(parseParticipant).filter((p): p is ParticipantRef => p !== null);
    return { kind: 'roster', callId, changeType, participants };
  }

  if (collection === 'operations') {
    if (!isObj(data)) return unknown(callId, 'operation notification without resourceData', item);
    const status = operationStatus(data['status']);
    if (status === null) return unknown(callId, 'operation without a status', item);
    // Some docs put the generic commsOperation type on the outer item only.
    const typeName = (v: unknown): string => odataType(v).replace(/^microsoft\.graph\./, '');
    const type = OPERATION_TYPES[typeName(data)] ?? OPERATION_TYPES[typeName(item)] ?? 'commsOperation';
    const idFromUrl = res.itemId !== null && res.itemId.toLowerCase() !== 'participants' ? res.itemId : null;
    const location = str(data['recordingLocation']);
    const token = str(data['recordingAccessToken']);
    return {
      kind: 'operation',
      callId,
      operationId: str(data['id']) ?? idFromUrl,
      operationType: type,
      status,
      resultInfo: parseResultInfo(data['resultInfo']),
      completionReason: str(data['completionReason']),
      clientContext: str(data['clientContext']),
      recording: type === 'recordResponse' && location ? { location, accessToken: token ?? '' } : null,
      invitedParticipants: Array.isArray(data['participants'])
        ? data['participants'].map((p) => (isObj(p) ? parseIdentitySet(p['identity']) : null)).filter((p): p is IdentityRef => p !== null)
        : [],
    };
  }

  if (collection === 'contentsharingsessions') {
    const ids: string[] = [];
    if (res.itemId !== null) ids.push(res.itemId);
    if (Array.isArray(data)) for (const d of data) if (isObj(d) && typeof d['id'] === 'string') ids.push(d['id']);
    return { kind: 'contentSharing', callId, changeType, sessionIds: ids };
  }

  if (collection !== null) return unknown(callId, `unhandled call sub-resource ${collection}`, item);

  // The call itself. Graph sometimes wraps the call in an array (resourceData: [call]); a
  // several-element array is split into one item per call by splitCallLevelArrays.
  if (Array.isArray(data)) {
    const first = data.find(isObj);
    if (first === undefined) return unknown(callId, 'call notification with an array resourceData holding no call', item);
    return parseCallItem({ ...item, resourceData: first });
  }
  if (data !== undefined && !isObj(data)) return unknown(callId, 'call notification with non-object resourceData', item);
  const d: Obj = data ?? {};
  const rawState = str(d['state']);
  const state = rawState !== null ? camel(rawState) : changeType === 'deleted' ? 'terminated' : null;
  if (isObj(d['toneInfo'])) {
    const t = d['toneInfo'];
    const tone = str(t['tone']);
    if (tone !== null) return { kind: 'tone', callId, tone, sequenceId: num(t['sequenceId']), state };
  }
  if (state === 'incoming') return { kind: 'incomingCall', callId, changeType, call: parseIncoming(callId, d) };
  if (state === null) return unknown(callId, 'call notification without a state', item);
  const resultInfo = parseResultInfo(d['resultInfo']);
  const terminationReason = str(d['terminationReason']);
  return {
    kind: 'callState',
    callId,
    changeType,
    state,
    resultInfo,
    terminationReason,
    transfer: transferPhase(state, resultInfo, terminationReason),
    etag: str(d['@odata.etag']),
  };
}

/**
 * A call-level item (resourceUrl is the call itself) whose resourceData is an array of calls
 * becomes one item per call, in order; every other item is returned as is.
 */
export function splitCallLevelArrays(item: unknown): unknown[] {
  if (!isObj(item) || !Array.isArray(item['resourceData'])) return [item];
  const res = parseCallResource(str(item['resourceUrl']) ?? str(item['resource']));
  if (!res || res.collection !== null) return [item];
  const calls = item['resourceData'].filter((d) => isObj(d) && odataType(d) !== 'microsoft.graph.participant');
  return calls.length > 1 ? calls.map((d) => ({ ...item, resourceData: d })) : [item];
}

/** Parses a call callback body (POST /api/calling). */
export function parseCallNotifications(body: unknown): CallNotification[] {
  return envelopeItems(body).flatMap(splitCallLevelArrays).map(parseCallItem);
}

/** One item of a change-notification collection (callRecords, presence, meeting artifacts, lifecycle). */
export function parseChangeItem(item: unknown, validationTokens: unknown[] = []): ChangeNotification {
  if (!isObj(item)) return { kind: 'unknown', callId: null, reason: 'item is not an object', raw: item };
  const subscriptionId = str(item['subscriptionId']);
  const clientState = str(item['clientState']);
  const tenantId = str(item['tenantId']) ?? str(item['organizationId']);
  const lifecycle = str(item['lifecycleEvent']);
  if (lifecycle !== null) return { kind: 'lifecycle', lifecycleEvent: lifecycle, subscriptionId, clientState, tenantId };
  const resource = str(item['resource']);
  const changeType = str(item['changeType']);
  if (resource === null || changeType === null) return { kind: 'unknown', callId: null, reason: 'change notification without resource/changeType', raw: item };
  const data = isObj(item['resourceData']) ? item['resourceData'] : {};
  const type = odataType(data);
  const rich = isObj(item['encryptedContent']) ? { rich: { encryptedContent: item['encryptedContent'], validationTokens } } : {};
  const rec = /(?:^|\/)communications\/callRecords\/([^/?#]+)/i.exec(resource);
  if (rec || type === 'microsoft.graph.callrecord' || type === 'microsoft.graph.callrecords.callrecord') {
    const id = str(data['id']) ?? rec?.[1] ?? null;
    if (id === null) return { kind: 'unknown', callId: null, reason: 'callRecord notification without an id', raw: item };
    return { kind: 'callRecord', changeType, callRecordId: id, subscriptionId, clientState, tenantId };
  }
  const pres = /(?:^|\/)communications\/presences\/([^/?#]+)/i.exec(resource);
  if (pres || type === 'microsoft.graph.presence') {
    const userId = str(data['id']) ?? pres?.[1] ?? '';
    return { kind: 'presence', changeType, userId, subscriptionId, clientState, tenantId, encrypted: isObj(item['encryptedContent']), ...rich };
  }
  const art = /onlineMeetings\('([^']+)'\)\/(transcripts|recordings)\('([^']+)'\)/i.exec(resource);
  if (art) {
    return { kind: 'meetingArtifact', artifact: art[2]!.toLowerCase() === 'transcripts' ? 'transcript' : 'recording', changeType, meetingId: art[1]!, artifactId: str(data['id']) ?? art[3]!, subscriptionId, clientState, tenantId, ...rich };
  }
  return { kind: 'resourceChange', changeType, resource, subscriptionId, clientState, tenantId, ...rich };
}

/** Parses a change-notification body (POST /api/notifications). */
export function parseChangeNotifications(body: unknown): ChangeNotification[] {
  const tokens = validationTokensOf(body);
  return envelopeItems(body).map((i) => parseChangeItem(i, tokens));
}

/**
 * Parses either envelope, picking the reader per item: items with a subscription
 * or lifecycle event are change notifications, the rest are call callbacks.
 */
export function parseNotificationBody(body: unknown): NotificationItem[] {
  return envelopeItems(body).flatMap(splitCallLevelArrays).map((item) =>
    isObj(item) && (item['lifecycleEvent'] !== undefined || (item['subscriptionId'] !== undefined && parseCallResource(str(item['resourceUrl']) ?? str(item['resource'])) === null))
      ? parseChangeItem(item, validationTokensOf(body))
      : parseCallItem(item),
  );
}
