import type { FastifyPluginAsync } from 'fastify';
import type { Metrics } from '../metrics.js';

export interface MetricsRoutesOptions {
  metrics: Metrics;
  /** Refreshes gauges right before a scrape. */
  beforeScrape?: () => void;
}

/** GET /metrics in the Prometheus text format. */
export const metricsRoutes: FastifyPluginAsync<MetricsRoutesOptions> = async (app, opts) => {
  app.get('/metrics', async (_req, reply) => {
    opts.beforeScrape?.();
    const body = await opts.metrics.registry.metrics();
    return reply.type(opts.metrics.registry.contentType).send(body);
  });
};
