import type { FastifyPluginAsync } from 'fastify';
import type { Logger } from '../../logger.js';
import { parseChangeNotifications } from '../../signaling/notifications.js';
import type { ChangeNotificationProcessor } from '../../signaling/subscriptions.js';
import type { Metrics } from '../metrics.js';

export interface NotificationsRoutesOptions {
  processor: ChangeNotificationProcessor;
  metrics: Metrics;
  logger: Logger;
}

/**
 * POST /api/notifications: change notifications and lifecycle events.
 * A `validationToken` query is echoed as text/plain at once (subscription
 * validation); items with a wrong clientState are dropped; the rest are answered
 * 202 and processed afterwards.
 */
export const notificationsRoutes: FastifyPluginAsync<NotificationsRoutesOptions> = async (app, opts) => {
  app.post(
    '/api/notifications',
    {
      onRequest: async (request, reply) => {
        const q = request.query as Record<string, unknown>;
        const token = q['validationToken'];
        if (typeof token === 'string') {
          // The query parser already URL-decoded it.
          return reply.code(200).type('text/plain; charset=utf-8').header('x-content-type-options', 'nosniff').send(token);
        }
        return undefined;
      },
    },
    async (request, reply) => {
      const items = parseChangeNotifications(request.body);
      for (const item of items) opts.metrics.notificationsReceived.inc({ route: 'notifications', kind: item.kind });
      const accepted = opts.processor.authentic(items);
      await reply.code(202).send();
      setImmediate(() => {
        opts.processor.process(accepted).catch((err: unknown) => opts.logger.error({ err }, 'processing change notifications failed'));
      });
      return reply;
    },
  );
};
