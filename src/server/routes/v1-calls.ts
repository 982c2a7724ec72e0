import type { FastifyPluginAsync } from 'fastify';
import { MediabotError } from '../../errors.js';
import type { CallRegistry, CallView } from '../../signaling/registry.js';

export interface V1CallsRoutesOptions {
  registry: CallRegistry;
}

/** The public JSON view of a call. */
export function callJson(c: CallView): Record<string, unknown> {
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

/** GET /v1/calls and GET /v1/calls/:id (registered under the authenticated /v1 scope). */
export const v1CallsRoutes: FastifyPluginAsync<V1CallsRoutesOptions> = async (app, opts) => {
  app.get('/calls', async () => ({ calls: opts.registry.list().map(callJson) }));
  app.get<{ Params: { id: string } }>('/calls/:id', async (request) => {
    const call = opts.registry.get(request.params.id);
    if (!call) throw new MediabotError('MEDIABOT_CALL_NOT_FOUND', `no call with id ${request.params.id}`);
    return callJson(call);
  });
};
