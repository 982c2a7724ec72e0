/// <reference types="@fastify/swagger" />
import type { FastifyPluginAsync } from 'fastify';
import { MediabotError } from '../../errors.js';
import type { CallRegistry, CallView } from '../../signaling/registry.js';

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
