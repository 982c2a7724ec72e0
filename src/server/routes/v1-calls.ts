/// <reference types="@fastify/swagger" />
import type { FastifyPluginAsync } from 'fastify';
import { MediabotError } from '../../errors.js';
import type { CallRegistry, CallView } from '../../signaling/registry.js';
import { callSettingsSchemaProperties, refuseUnknownSettings, type CallSettings } from '../../calls/call-settings.js';
import type { CallRequestInput } from '../../calls/call-requests.js';

export interface V1CallsRoutesOptions {
  registry: CallRegistry;
}

/** The public JSON view of a call: what GET /v1/calls/:id answers and what `Mediabot.calls.get()` returns. */
export interface CallJson {
  id: string;
  state: CallView['state'];
  previousState: CallView['previousState'];
  direction: string | null;
  createdAt: string;
  updatedAt: string;
  compliance: boolean;
  transfer: CallView['transfer'];
  participants: Array<{ id: string; displayName: string | null; identity: { kind: string; id: string | null } | null; muted: boolean; inLobby: boolean; media: string[] }>;
  contentSharingSessions: string[];
  lastResult: CallView['lastResult'];
  termination: CallView['termination'];
}

/** The public JSON view of a call. */
export function callJson(c: CallView): CallJson {
  return {
    id: c.id,
    state: c.state,
    previousState: c.previousState,
    direction: c.direction,
    createdAt: c.createdAt,
    updatedAt: c.updatedAt,
    compliance: c.compliance,
    transfer: c.transfer,
    participants: c.participants.map((p) => ({
      id: p.id,
      displayName: p.displayName,
      identity: p.identityKind === null ? null : { kind: p.identityKind, id: p.identityId },
      muted: p.muted,
      inLobby: p.inLobby,
      media: p.mediaTypes,
    })),
    contentSharingSessions: c.contentSharingSessions,
    lastResult: c.lastResult,
    termination: c.termination,
  };
}

const errorSchema = {
  type: 'object',
  properties: { error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } }, required: ['code', 'message'] } },
} as const;
const callSchema = { type: 'object', additionalProperties: true, properties: { id: { type: 'string' }, state: { type: 'string' } } } as const;

/** `?state=` filter: a call state, or `active` (not terminated). */
const STATE_FILTERS = ['active', 'incoming', 'ringing', 'establishing', 'redirecting', 'inLobby', 'established', 'hold', 'transferring', 'transferAccepted', 'terminating', 'terminated'] as const;

/** GET /v1/calls and GET /v1/calls/:id (registered under the authenticated /v1 scope). */
export const v1CallsRoutes: FastifyPluginAsync<V1CallsRoutesOptions> = async (app, opts) => {
  app.get<{ Querystring: { state?: (typeof STATE_FILTERS)[number] } }>(
    '/calls',
    {
      schema: {
        tags: ['calls'],
        summary: 'List calls with state, roster and (when ended) the explained end reason',
        querystring: { type: 'object', properties: { state: { type: 'string', enum: [...STATE_FILTERS] } }, additionalProperties: false },
        response: { 200: { type: 'object', properties: { calls: { type: 'array', items: callSchema } } }, 400: errorSchema, 401: errorSchema },
      },
    },
    async (request) => {
      const filter = request.query.state;
      const calls = opts.registry.list().filter((c) => filter === undefined || (filter === 'active' ? c.state !== 'terminated' : c.state === filter));
      return { calls: calls.map(callJson) };
    },
  );
  app.get<{ Params: { id: string } }>(
    '/calls/:id',
    {
      schema: {
        tags: ['calls'],
        summary: 'One call: state, participants, termination reason with explanation and hint',
        params: { type: 'object', properties: { id: { type: 'string', minLength: 1, maxLength: 200 } }, required: ['id'] },
        response: { 200: callSchema, 401: errorSchema, 404: errorSchema },
      },
    },
    async (request) => {
      const call = opts.registry.get(request.params.id);
      if (!call) throw new MediabotError('MEDIABOT_CALL_NOT_FOUND', `no call with id ${request.params.id}`);
      return callJson(call);
    },
  );
};

/**
 * The per-call settings POST /v1/calls takes beside joinWebUrl/targets (JSON schema, shown in the
 * OpenAPI document): transcription, recording, webhookUrl, metadata, fetchMeetingArtifacts, consent, dedupKey, joinAt.
 */
export const callCreateSettingsProperties = {
  ...callSettingsSchemaProperties,
  dedupKey: { type: 'string', minLength: 1, maxLength: 200, description: 'a second request with the same key returns the same call (200) instead of creating one' },
  joinAt: { type: 'string', format: 'date-time', description: 'join at this time (up to 7 days ahead; stored, so it survives a restart); answers 202 with the scheduled request' },
} as const;

export interface CallCreateSettingsBody {
  transcription?: CallSettings['transcription'];
  recording?: CallSettings['recording'];
  webhookUrl?: string;
  metadata?: Record<string, unknown>;
  fetchMeetingArtifacts?: boolean;
  consent?: CallSettings['consent'];
  dedupKey?: string;
  joinAt?: string;
}

/**
 * The request's per-call part, checked (unknown top-level and nested keys are refused by name,
 * `known` being the route schema's properties) and split into settings, dedupKey and joinAt.
 */
export function callRequestSettings(body: CallCreateSettingsBody & Record<string, unknown>, known: readonly string[]): Pick<CallRequestInput, 'settings' | 'dedupKey' | 'joinAt'> {
  for (const k of Object.keys(body)) {
    if (!known.includes(k)) throw new MediabotError('MEDIABOT_BAD_REQUEST', `${k} is not a known setting of POST /v1/calls (known: ${known.join(', ')})`);
  }
  refuseUnknownSettings(body);
  const settings: CallSettings = {
    ...(body.transcription !== undefined ? { transcription: body.transcription } : {}),
    ...(body.recording !== undefined ? { recording: body.recording } : {}),
    ...(body.webhookUrl !== undefined ? { webhookUrl: body.webhookUrl } : {}),
    ...(body.metadata !== undefined ? { metadata: body.metadata } : {}),
    ...(body.fetchMeetingArtifacts !== undefined ? { fetchMeetingArtifacts: body.fetchMeetingArtifacts } : {}),
    ...(body.consent !== undefined ? { consent: body.consent } : {}),
  };
  return {
    ...(Object.keys(settings).length > 0 ? { settings } : {}),
    ...(body.dedupKey !== undefined ? { dedupKey: body.dedupKey } : {}),
    ...(body.joinAt !== undefined ? { joinAt: body.joinAt } : {}),
  };
}
