import type { FastifyInstance } from 'fastify';
import { identityOf, rolesOf } from '../graph-auth.js';
import type { SubscriptionStore } from '../subscriptions.js';

export function registerSubscriptionRoutes(app: FastifyInstance, subs: SubscriptionStore, graphUrl: string): void {
  app.post('/subscriptions', async (req, reply) => {
    const who = identityOf(req);
    const sub = await subs.create(req.body, rolesOf(req), { delegated: who?.userId !== undefined, tenantId: who?.tenantId ?? '' });
    return reply.code(201).send(subs.resource(sub));
  });
  app.get('/subscriptions', async () => ({
    '@odata.context': `${graphUrl}/v1.0/$metadata#subscriptions`,
    value: subs.list().map((s) => {
      const { ['@odata.context']: _c, ...rest } = subs.resource(s);
      return rest;
    }),
  }));
  app.get<{ Params: { id: string } }>('/subscriptions/:id', async (req) => subs.resource(subs.get(req.params.id)));
  app.patch<{ Params: { id: string } }>('/subscriptions/:id', async (req) => subs.resource(subs.renew(req.params.id, req.body)));
  app.delete<{ Params: { id: string } }>('/subscriptions/:id', async (req, reply) => {
    subs.delete(req.params.id);
    return reply.code(204).send();
  });
  app.post<{ Params: { id: string } }>('/subscriptions/:id/reauthorize', async (req, reply) => {
    subs.get(req.params.id);
    return reply.code(204).send();
  });
}
