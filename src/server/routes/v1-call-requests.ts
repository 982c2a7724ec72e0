/**
 * Scheduled joins under /v1 (POST /v1/calls with a future `joinAt` creates one):
 *
 *   GET    /v1/scheduled-calls        waiting requests, earliest first
 *   GET    /v1/scheduled-calls/:id    one request (scheduled, creating, created with its callId, failed with the error)
 *   DELETE /v1/scheduled-calls/:id    cancels a waiting one
 */
import type { FastifyPluginAsync } from 'fastify';
import type { CallRequests } from '../../calls/call-requests.js';

export interface V1CallRequestsRoutesOptions {
  requests: CallRequests;
}

const errorSchema = {
  type: 'object',
  properties: { error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } }, required: ['code', 'message'] } },
} as const;
const scheduledSchema = { type: 'object', additionalProperties: true, properties: { id: { type: 'string' }, state: { type: 'string' }, joinAt: { type: ['string', 'null'] }, callId: { type: ['string', 'null'] } } } as const;
const idParams = { type: 'object', properties: { id: { type: 'string', minLength: 1, maxLength: 100 } }, required: ['id'] } as const;

export const v1CallRequestsRoutes: FastifyPluginAsync<V1CallRequestsRoutesOptions> = async (app, opts) => {
  app.get('/scheduled-calls', { schema: { tags: ['calls'], summary: 'Scheduled joins still waiting, earliest first', response: { 200: { type: 'object', properties: { scheduled: { type: 'array', items: scheduledSchema } } }, 401: errorSchema } } }, async () => ({
    scheduled: opts.requests.list(),
  }));
  app.get<{ Params: { id: string } }>(
    '/scheduled-calls/:id',
    { schema: { tags: ['calls'], summary: 'One scheduled join: waiting, created (with its callId) or failed (with the error)', params: idParams, response: { 200: scheduledSchema, 401: errorSchema, 404: errorSchema } } },
    async (request) => opts.requests.get(request.params.id),
  );
  app.delete<{ Params: { id: string } }>(
    '/scheduled-calls/:id',
    { schema: { tags: ['calls'], summary: 'Cancel a scheduled join that is still waiting', params: idParams, response: { 200: scheduledSchema, 401: errorSchema, 404: errorSchema } } },
    async (request) => opts.requests.cancel(request.params.id),
  );
};
