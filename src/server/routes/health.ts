import type { FastifyPluginAsync } from 'fastify';
import type { Readiness } from '../readiness.js';

export interface HealthRoutesOptions {
  readiness: Readiness;
}

/** GET /healthz (the process is up) and GET /readyz (it should get traffic). */
export const healthRoutes: FastifyPluginAsync<HealthRoutesOptions> = async (app, opts) => {
  const startedAt = Date.now();
  app.get('/healthz', async () => ({ status: 'ok', uptimeSeconds: Math.round((Date.now() - startedAt) / 1000) }));
  app.get('/readyz', async (_req, reply) => {
    const report = await opts.readiness.evaluate();
    return reply.code(report.ready ? 200 : 503).send(report);
  });
};
