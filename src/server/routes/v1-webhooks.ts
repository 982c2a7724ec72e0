/**
 * Webhook deliveries under /v1 (bearer-protected): the outbox as the operator sees it, and replay of
 * a message (same webhook-id, sent again in its call's order).
 *
 *   GET  /v1/webhooks/deliveries?callId=&status=&limit=&before=   newest first
 *   GET  /v1/webhooks/deliveries/:id
 *   POST /v1/webhooks/deliveries/:id/replay
 */
import type { FastifyPluginAsync } from 'fastify';
import type { MediabotWebhooks } from '../../webhooks/api.js';

export interface V1WebhooksRoutesOptions {
  webhooks: MediabotWebhooks;
}

const errorSchema = {
  type: 'object',
  properties: { error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } }, required: ['code', 'message'] } },
} as const;

const deliverySchema = {
  type: 'object',
  additionalProperties: true,
  properties: {
    seq: { type: 'integer' },
    id: { type: 'string', description: 'the webhook-id header (the same on every attempt and replay)' },
    callId: { type: ['string', 'null'] },
    url: { type: 'string' },
    type: { type: 'string' },
    status: { type: 'string', enum: ['pending', 'delivered', 'failed'] },
    attempts: { type: 'integer' },
    createdAt: { type: 'string' },
    nextAttemptAt: { type: ['string', 'null'] },
    lastAttemptAt: { type: ['string', 'null'] },
    lastStatus: { type: ['integer', 'null'] },
    lastError: { type: ['string', 'null'] },
    deliveredAt: { type: ['string', 'null'] },
  },
} as const;

const idParams = { type: 'object', properties: { id: { type: 'string', minLength: 1, maxLength: 100 } }, required: ['id'] } as const;

export const v1WebhooksRoutes: FastifyPluginAsync<V1WebhooksRoutesOptions> = async (app, opts) => {
  const webhooks = opts.webhooks;
  app.get<{ Querystring: { callId?: string; status?: 'pending' | 'delivered' | 'failed'; limit?: number; before?: number } }>(
    '/webhooks/deliveries',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'Webhook deliveries, newest first: status, attempts, last error, the payload',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            callId: { type: 'string', minLength: 1, maxLength: 200 },
            status: { type: 'string', enum: ['pending', 'delivered', 'failed'] },
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
            before: { type: 'integer', minimum: 1, description: 'paging: only deliveries older than this sequence number (the `seq` of the last one seen)' },
          },
        },
        response: { 200: { type: 'object', properties: { deliveries: { type: 'array', items: deliverySchema }, pending: { type: 'integer' }, enabled: { type: 'boolean' } } }, 400: errorSchema, 401: errorSchema },
      },
    },
    async (request) => ({ deliveries: webhooks.deliveries(request.query), pending: webhooks.pending(), enabled: webhooks.enabled }),
  );
  app.get<{ Params: { id: string } }>(
    '/webhooks/deliveries/:id',
    { schema: { tags: ['webhooks'], summary: 'One webhook delivery', params: idParams, response: { 200: deliverySchema, 401: errorSchema, 404: errorSchema } } },
    async (request) => webhooks.delivery(request.params.id),
  );
  app.post<{ Params: { id: string } }>(
    '/webhooks/deliveries/:id/replay',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'Send a delivered or failed webhook again (same webhook-id, a fresh 24-hour retry window, in its call\'s order)',
        params: idParams,
        response: { 202: deliverySchema, 401: errorSchema, 404: errorSchema, 409: errorSchema },
      },
    },
    async (request, reply) => reply.code(202).send(webhooks.replay(request.params.id)),
  );
};
