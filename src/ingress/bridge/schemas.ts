/**
 * JSON Schemas (draft-07) of every media bridge control message, both directions.
 * These objects are the source of truth; docs/schemas/bridge/<type>.json are the
 * same schemas as files (a unit test keeps them identical). Incoming messages are
 * validated with ajv before anything acts on them.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { MediabotError } from '../../errors.js';
import { EXTERNAL_ID_PATTERN } from '../common/ids.js';
import { parseJsonObject } from '../common/shared.js';
import type { BotMessage, BotMessageType, SidecarMessage, SidecarMessageType } from './messages.js';

export const BRIDGE_PROTOCOL = 'mediabot-bridge';
export const BRIDGE_VERSIONS = [1] as const;

type Schema = Record<string, unknown>;

const callId = { type: 'string', minLength: 1, maxLength: 128, pattern: EXTERNAL_ID_PATTERN, description: 'The Graph call id (or, before Graph assigned one, the correlation id the bot chose): a letter or digit, then letters, digits, _ . : -, never "..".' };
const msi = { type: 'integer', minimum: 0, maximum: 4294967294, description: 'Media source id (MSI) of a participant\'s audio stream, as the media platform reports it.' };
const requestId = { type: 'string', minLength: 1, maxLength: 128 };

function message(type: string, description: string, properties: Record<string, unknown>, required: string[]): Schema {
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: `urn:mediabot:bridge:${type}`,
    title: type,
    description,
    type: 'object',
    properties: { type: { const: type }, ...properties },
    required: ['type', ...required],
    additionalProperties: false,
  };
}

/** Messages the sidecar sends to mediabot. */
export const SIDECAR_MESSAGE_SCHEMAS: Record<SidecarMessageType, Schema> = {
  hello: message(
    'hello',
    'Sidecar → mediabot, first message on every connection: protocol, supported versions, credentials, and optionally the session to resume.',
    {
      protocol: { const: BRIDGE_PROTOCOL },
      versions: { type: 'array', items: { type: 'integer', minimum: 1, maximum: 255 }, minItems: 1, maxItems: 16, uniqueItems: true },
      token: { type: 'string', minLength: 1, maxLength: 4096 },
      sidecarId: { type: 'string', minLength: 1, maxLength: 128, pattern: EXTERNAL_ID_PATTERN },
      resume: { type: 'object', properties: { sessionToken: { type: 'string', minLength: 1, maxLength: 256 } }, required: ['sessionToken'], additionalProperties: false },
      capabilities: {
        type: 'object',
        properties: { opus: { type: 'boolean' }, maxUnmixed: { type: 'integer', minimum: 0, maximum: 16 } },
        additionalProperties: true,
      },
    },
    ['protocol', 'versions', 'token', 'sidecarId'],
  ),
  mediaSessionCreated: message('mediaSessionCreated', 'Sidecar → mediabot: the answer to createMediaSession, carrying the appHostedMediaConfig blob of the new media session.', { requestId, callId, blob: { type: 'string', minLength: 1, maxLength: 1_048_576 } }, ['requestId', 'callId', 'blob']),
  sessionStarted: message(
    'sessionStarted',
    'Sidecar → mediabot: media of a call flows. Assigns the callIndex used in binary frames of this call.',
    {
      callId,
      callIndex: { type: 'integer', minimum: 0, maximum: 65535 },
      audio: { enum: ['mixed', 'unmixed', 'both'] },
    },
    ['callId', 'callIndex'],
  ),
  sessionEnded: message('sessionEnded', 'Sidecar → mediabot: the call\'s media session ended.', { callId, reason: { type: 'string', maxLength: 512 } }, ['callId', 'reason']),
  activeSpeakers: message(
    'activeSpeakers',
    'Sidecar → mediabot: the media sources currently speaking (the ones with unmixed streams), loudest first.',
    { callId, sourceIds: { type: 'array', items: msi, maxItems: 64 } },
    ['callId', 'sourceIds'],
  ),
  dominantSpeaker: message(
    'dominantSpeaker',
    'Sidecar → mediabot: the dominant speaker changed (null: nobody).',
    { callId, sourceId: { oneOf: [msi, { type: 'null' }] } },
    ['callId', 'sourceId'],
  ),
  sourceMap: message(
    'sourceMap',
    'Sidecar → mediabot: which roster participant owns which media source id. Entries add to or replace earlier ones for the same sourceId; replace=true drops all earlier entries of the call first.',
    {
      callId,
      replace: { type: 'boolean' },
      entries: {
        type: 'array',
        maxItems: 1000,
        items: {
          type: 'object',
          properties: {
            sourceId: msi,
            participantId: { type: 'string', minLength: 1, maxLength: 256 },
            displayName: { type: ['string', 'null'], maxLength: 256 },
          },
          required: ['sourceId', 'participantId'],
          additionalProperties: false,
        },
      },
    },
    ['callId', 'entries'],
  ),
  dtmf: message('dtmf', 'Sidecar → mediabot: a DTMF tone received from the call, or confirmation that one was sent.', { callId, tone: { type: 'string', pattern: '^[0-9A-D*#]$' }, direction: { enum: ['received', 'sent'] }, sourceId: msi }, ['callId', 'tone', 'direction']),
  mediaHealth: message(
    'mediaHealth',
    'Sidecar → mediabot: periodic media quality of a call (all figures optional).',
    {
      callId,
      packetLossPct: { type: 'number', minimum: 0, maximum: 100 },
      jitterMs: { type: 'number', minimum: 0 },
      roundTripMs: { type: 'number', minimum: 0 },
      framesDropped: { type: 'integer', minimum: 0 },
      audioHealth: { enum: ['good', 'degraded', 'poor'] },
    },
    ['callId'],
  ),
  ping: message('ping', 'Either side: heartbeat; answer with pong.', { ts: { type: 'number' } }, []),
  pong: message('pong', 'Either side: the answer to ping (echoes ts).', { ts: { type: 'number' } }, []),
  error: message(
    'error',
    'Either side: something went wrong. With requestId it answers that request (createMediaSession).',
    { code: { type: 'string', minLength: 1, maxLength: 128 }, message: { type: 'string', maxLength: 4096 }, requestId, callId },
    ['code', 'message'],
  ),
};

/** Messages mediabot sends to the sidecar. */
export const BOT_MESSAGE_SCHEMAS: Record<BotMessageType, Schema> = {
  welcome: message(
    'welcome',
    'mediabot → sidecar: the hello was accepted. The session token resumes this session after a dropped connection.',
    {
      version: { type: 'integer', minimum: 1 },
      sessionResume: {
        type: 'object',
        properties: { sessionToken: { type: 'string', minLength: 1 }, windowMs: { type: 'integer', minimum: 0 } },
        required: ['sessionToken', 'windowMs'],
        additionalProperties: false,
      },
      resumed: { type: 'boolean' },
      calls: {
        type: 'array',
        items: { type: 'object', properties: { callId, callIndex: { type: 'integer', minimum: 0, maximum: 65535 } }, required: ['callId', 'callIndex'], additionalProperties: false },
      },
      heartbeatMs: { type: 'integer', minimum: 100 },
    },
    ['version', 'sessionResume', 'resumed', 'calls', 'heartbeatMs'],
  ),
  createMediaSession: message('createMediaSession', 'mediabot → sidecar: create a media session for a call and answer with its blob.', { requestId, callId }, ['requestId', 'callId']),
  endMediaSession: message('endMediaSession', 'mediabot → sidecar: the bot is done with this call\'s media; tear the session down.', { callId, reason: { type: 'string', maxLength: 512 } }, ['callId']),
  sendDtmf: message('sendDtmf', 'mediabot → sidecar: send these DTMF tones into the call, in order.', { callId, tones: { type: 'string', pattern: '^[0-9A-D*#]{1,64}$' } }, ['callId', 'tones']),
  ping: SIDECAR_MESSAGE_SCHEMAS.ping,
  pong: SIDECAR_MESSAGE_SCHEMAS.pong,
  error: SIDECAR_MESSAGE_SCHEMAS.error,
};

/** Every schema by file name (docs/schemas/bridge/<name>.json). */
export function allBridgeSchemas(): Record<string, Schema> {
  return { ...SIDECAR_MESSAGE_SCHEMAS, ...BOT_MESSAGE_SCHEMAS };
}

const ajv = new Ajv({ allErrors: false, strict: true });

/** One validator per message type and direction; a passing message is that direction's union. */
function compileAll<T>(schemas: Record<string, Schema>): Map<string, ValidateFunction<T>> {
  return new Map(Object.entries(schemas).map(([type, schema]) => [type, ajv.compile<T>(schema)]));
}
const fromSidecar = compileAll<SidecarMessage>(SIDECAR_MESSAGE_SCHEMAS);
const fromBot = compileAll<BotMessage>(BOT_MESSAGE_SCHEMAS);

function describe(errors: ErrorObject[] | null | undefined): string {
  const e = errors?.[0];
  if (!e) return 'invalid';
  return `${e.instancePath || '(message)'} ${e.message ?? 'is invalid'}${e.params && 'allowedValues' in e.params ? ` (${JSON.stringify(e.params.allowedValues)})` : ''}`;
}

export type MessageDirection = 'fromSidecar' | 'fromBot';

const bad = (message: string, details?: Record<string, unknown>): MediabotError => new MediabotError('MEDIABOT_INGRESS_BAD_MESSAGE', message, details);

function validated<T>(text: string, validators: Map<string, ValidateFunction<T>>): T {
  const msg = parseJsonObject(text, 'control message');
  const type = msg['type'];
  const validate = typeof type === 'string' ? validators.get(type) : undefined;
  if (!validate) throw bad(`unknown control message type ${JSON.stringify(type)} (known: ${[...validators.keys()].join(', ')})`);
  if (!validate(msg)) throw bad(`${String(type)}: ${describe(validate.errors)}`, { type });
  return msg;
}

/**
 * Parses a control message (text frame) and validates it against its schema: a message the
 * sidecar sends (default) or one mediabot sends, as its typed union.
 * Throws MEDIABOT_INGRESS_BAD_MESSAGE (bad JSON, unknown type, schema violation).
 */
export function parseControlMessage(text: string, direction?: 'fromSidecar'): SidecarMessage;
export function parseControlMessage(text: string, direction: 'fromBot'): BotMessage;
export function parseControlMessage(text: string, direction: MessageDirection): SidecarMessage | BotMessage;
export function parseControlMessage(text: string, direction: MessageDirection = 'fromSidecar'): SidecarMessage | BotMessage {
  return direction === 'fromSidecar' ? validated(text, fromSidecar) : validated(text, fromBot);
}
