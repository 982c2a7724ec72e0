import Fastify, { type FastifyInstance, type FastifyPluginAsync, type preHandlerAsyncHookHandler } from 'fastify';
import { MediabotError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { CallNotification } from '../signaling/notifications.js';
import type { CallbackGuard } from '../signaling/callback-guard.js';
import type { CallRegistry } from '../signaling/registry.js';
import type { ChangeNotificationProcessor } from '../signaling/subscriptions.js';
import { publicMessage, redactUrl } from '../util/redact.js';
import { REDACT_PATHS } from '../logger.js';
import { bearerTokenHook } from './auth.js';
import { sendError, toHttpError } from './errors.js';
import { capConnections, createConnectionMetrics, fastifyLimitOptions, HTTP_LIMIT_DEFAULTS, type HttpLimits } from './limits.js';
import { originGuard, type OriginPolicy } from './origin.js';
import { createMetrics, type Metrics } from './metrics.js';
import { Readiness } from './readiness.js';
import { callingRoutes, type CallbackAuthenticator } from './routes/calling.js';
import { healthRoutes } from './routes/health.js';
import { metricsRoutes } from './routes/metrics.js';
import { notificationsRoutes } from './routes/notifications.js';
import { v1CallsRoutes } from './routes/v1-calls.js';

export const DEFAULT_BODY_LIMIT = HTTP_LIMIT_DEFAULTS.bodyLimit;

export interface AppDeps {
  logger: Logger;
  /** Created when absent (pass one to register more metrics on its registry). */
  metrics?: Metrics;
  /** `/v1` requires `Authorization: Bearer <apiToken>` when set. */
  apiToken?: string | undefined;
  /** Largest accepted request body in bytes (default 1 MiB). */
  bodyLimit?: number;
  /** Timeouts and the connection cap (defaults in HTTP_LIMIT_DEFAULTS). */
  limits?: Partial<HttpLimits>;
  /** Host/Origin policy for /v1 (and the events socket); default: the loopback listen host, no public URL. */
  origin?: OriginPolicy;
  readiness?: Readiness;
  /** The call registry behind /v1/calls (and the calls_active gauge). */
  registry?: CallRegistry;
  /** POST /api/calling: enabled when given. */
  calling?: { auth: CallbackAuthenticator; dispatch: (items: CallNotification[]) => Promise<void>; guard?: CallbackGuard };
  /** POST /api/notifications: enabled when given. */
  notifications?: { processor: ChangeNotificationProcessor };
  /** Root-level plugins registered before any route (e.g. @fastify/swagger, which must see every route). */
  prePlugins?: Array<FastifyPluginAsync | { plugin: FastifyPluginAsync<never>; options?: Record<string, unknown> }>;
  /** More root-level plugins (events WebSocket, dashboard, docs …). */
  plugins?: Array<FastifyPluginAsync | { plugin: FastifyPluginAsync<never>; options?: Record<string, unknown> }>;
  /** preHandler hooks of every /v1 route, after authentication and validation (e.g. routing to the instance that owns a call). */
  v1PreHandlers?: preHandlerAsyncHookHandler[];
  /** More plugins under the authenticated `/v1` prefix (operator API). */
  v1Plugins?: Array<FastifyPluginAsync | { plugin: FastifyPluginAsync<never>; options?: Record<string, unknown> }>;
}

type PluginEntry = NonNullable<AppDeps['plugins']>[number];

async function registerAll(app: FastifyInstance, entries: PluginEntry[] | undefined): Promise<void> {
  for (const e of entries ?? []) {
    if (typeof e === 'function') await app.register(e);
    else await app.register(e.plugin as FastifyPluginAsync<Record<string, unknown>>, e.options ?? {});
  }
}

/**
 * Builds the fastify app: callback routes, /v1 (bearer-protected), health,
 * metrics; every error answered as `{"error":{"code":"MEDIABOT_…","message":…}}`.
 * It never listens: the caller does (`Mediabot.listen()`), or drives it with `inject()`.
 */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const metrics = deps.metrics ?? createMetrics();
  const readiness = deps.readiness ?? new Readiness();
  // Whatever logger is passed in, credentials on requests are never written out: headers are
  // censored by path, secret query values (?token=, ?code=, …) are cut from the logged URL.
  const httpLogger = deps.logger.child(
    {},
    {
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      serializers: {
        req: (req: { method?: string; url?: string; host?: string; ip?: string; socket?: { remotePort?: number } }) => ({
          method: req.method,
          url: redactUrl(req.url),
          host: req.host,
          remoteAddress: req.ip,
          remotePort: req.socket?.remotePort,
        }),
      },
    },
  );
  const limits: HttpLimits = { ...HTTP_LIMIT_DEFAULTS, ...(deps.bodyLimit !== undefined ? { bodyLimit: deps.bodyLimit } : {}), ...deps.limits };
  const app = Fastify({
    loggerInstance: httpLogger,
    ...fastifyLimitOptions(limits),
    return503OnClosing: true,
  }) as unknown as FastifyInstance;
  capConnections(app.server, limits.maxConnections, createConnectionMetrics(metrics.registry));
  const origin = deps.origin ?? { listenHost: '127.0.0.1' };

  app.setErrorHandler((err, request, reply) => {
    const { status, error } = toHttpError(err);
    metrics.httpErrors.inc({ code: error.code });
    // Callers see the first line without machine paths; the whole message stays in the log.
    const shown = publicMessage(error.message, [process.cwd()]);
    if (status >= 500) request.log.error({ err }, 'request failed');
    else if (shown !== error.message) request.log.warn({ err }, 'request failed (message shortened for the caller)');
    if (status === 401) void reply.header('www-authenticate', 'Bearer');
    return reply.code(status).type('application/json; charset=utf-8').send({ error: { code: error.code, message: shown } });
  });
  app.setNotFoundHandler((request, reply) => {
    metrics.httpErrors.inc({ code: 'MEDIABOT_NOT_FOUND' });
    return sendError(reply, new MediabotError('MEDIABOT_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`), request);
  });

  await registerAll(app, deps.prePlugins);
  await app.register(healthRoutes, { readiness });
  await app.register(metricsRoutes, {
    metrics,
    beforeScrape: () => {
      if (deps.registry) metrics.callsActive.set(deps.registry.list().filter((c) => c.state !== 'terminated').length);
    },
  });
  if (deps.calling) await app.register(callingRoutes, { ...deps.calling, metrics, logger: deps.logger });
  if (deps.notifications) await app.register(notificationsRoutes, { processor: deps.notifications.processor, metrics, logger: deps.logger });

  await app.register(
    async (v1) => {
      v1.addHook('onRequest', originGuard(origin, (reason) => metrics.authFailures.inc({ endpoint: 'api', reason })));
      v1.addHook('onRequest', bearerTokenHook(deps.apiToken, (reason) => metrics.authFailures.inc({ endpoint: 'api', reason })));
      for (const h of deps.v1PreHandlers ?? []) v1.addHook('preHandler', h);
      if (deps.registry) await v1.register(v1CallsRoutes, { registry: deps.registry });
      await registerAll(v1, deps.v1Plugins);
    },
    { prefix: '/v1' },
  );
  await registerAll(app, deps.plugins);
  if (deps.registry) {
    const registry = deps.registry;
    registry.onStateChange((call) => metrics.callStateChanges.inc({ state: call.state }));
  }
  // Not ready()-ed here, so the caller may still register plugins; listen()/inject() finish booting.
  return app;
}

/** @deprecated The former names of `buildApp` and `AppDeps`. */
export const buildServer = buildApp;
/** @deprecated */
export type ServerDeps = AppDeps;
