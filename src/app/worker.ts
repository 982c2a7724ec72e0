/**
 * The composition root: one function that wires the whole worker from the config.
 *
 *   Graph client (msal tokens + HTTP with retry) ─┐
 *   signaling (registry, operations, callback JWT, incoming policy: answer with app-hosted media)
 *   media thread pool (RTP conference per call, hooks) → events → bus → call service, events WS
 *   SQLite (call records), fastify server (callbacks, /v1 operator API, /v1/events, /metrics, dashboard)
 *
 * With no Graph credentials (config.useEmulator) the embedded Graph emulator is started first and
 * the same code path runs against it: only the base URLs and the trusted CA differ.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { MediabotConfig } from '../config/config.js';
import { isLoopback } from '../config/config.js';
import type { Emulator, EmulatorOptions } from '../../testing/emulator/index.js';
import { EventBus } from '../events/bus.js';
import { createGraphFromConfig, type GraphBundle } from '../graph/from-config.js';
import type { MediaSessionProvider } from '../graph/media-config.js';
import { createLogger, type Logger } from '../logger.js';
import type { HookSpec } from '../media/session/spec.js';
import { MediaThreadPool } from '../media/threads/pool.js';
import { azureFromEnv, checkHookModules, parseHookModules, resolveHooksFromConfig } from '../media/hooks/transcribe/engines.js';
import { buildServer } from '../server/app.js';
import { createMetrics, type Metrics } from '../server/metrics.js';
import { Readiness } from '../server/readiness.js';
import { websocketWithLimits } from '../server/ws-limits.js';
import { dashboardRoutes } from '../server/routes/dashboard.js';
import { eventsWsRoutes } from '../server/routes/events-ws.js';
import { callJson } from '../server/routes/v1-calls.js';
import { promptMediaRoutes, v1OperatorRoutes } from '../server/routes/v1-operator.js';
import { CallbackGuard } from '../signaling/callback-guard.js';
import { incomingCallPolicy } from '../signaling/incoming-policy.js';
import { publicEvent } from '../util/public-event.js';
import { CallbackTokenValidator } from '../signaling/jwt.js';
import { createSignaling, type Signaling } from '../signaling/signaling.js';
import { ChangeNotificationProcessor, SubscriptionManager, newClientState } from '../signaling/subscriptions.js';
import { openDatabase, type Database } from '../store/db.js';
import { CallRecordStore } from '../store/callrecords.js';
import { SpeechStore } from '../store/speech-store.js';
import { CallService } from '../calls/service.js';
import { LiveEvents, type LiveEvent } from '../events/live.js';
import { createCallOperationsPort, createCallRecordsPort, createSubscriptionsPort } from '../graph/ports-adapter.js';
import { WorkerIngress } from '../calls/ingress.js';
import { ingressTokens } from '../ingress/common/tokens.js';
import { createMediaMetrics } from './media-metrics.js';
import { RtpMediaSessions } from '../calls/media-sessions.js';
import { PromptStore } from '../calls/prompts.js';

export interface WorkerOptions {
  logger?: Logger;
  /** Options for the emulator the worker starts itself. */
  emulatorOptions?: Partial<Omit<EmulatorOptions, 'tenantId' | 'clientId' | 'clientSecret'>>;
  /** Supplies app-hosted media blobs (the bridge ingress); default: RTP sessions on the media threads. */
  mediaSessions?: MediaSessionProvider;
  /** Where MEDIABOT_HOOKS and the Azure speech settings are read (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Subscribe to callRecords change notifications (default true when Graph can reach us). */
  subscribeCallRecords?: boolean;
}

export interface Worker {
  /** The effective config (with the emulator's URLs and credentials when emulated). */
  config: MediabotConfig;
  server: FastifyInstance;
  /** Base URL the server listens on, e.g. http://127.0.0.1:3978 */
  url: string;
  /** The callback URL given to Graph. */
  callbackUri: string;
  pool: MediaThreadPool;
  signaling: Signaling;
  graph: GraphBundle;
  store: { db: Database; callRecords: CallRecordStore; speech: SpeechStore };
  bus: EventBus;
  calls: CallService;
  metrics: Metrics;
  /** The embedded emulator, when running against it. */
  emulator: Emulator | null;
  /** The CA trusted in addition to the system's (the emulator's). */
  caPem: string | undefined;
  /** The WebSocket media ingresses on the main port: /media/acs and /media/bridge. */
  ingress: WorkerIngress;
  /** Every live event: bus events (with Graph call ids) and the worker's own. */
  subscribe(listener: (e: LiveEvent) => void): () => void;
  close(): Promise<void>;
}

async function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** Starts the embedded emulator with fresh credentials and returns the config pointed at it. */
export async function startEmbeddedEmulator(config: MediabotConfig, logger: Logger, o: WorkerOptions['emulatorOptions'] = {}): Promise<{ emulator: Emulator; config: MediabotConfig }> {
  const tenantId = config.tenantId ?? randomUUID();
  const clientId = randomUUID();
  const clientSecret = randomBytes(24).toString('base64url');
  // Loaded on demand: a worker with Graph credentials never loads the emulator.
  const { createEmulator } = await import('../../testing/emulator/index.js');
  const emulator = await createEmulator({ tenantId, clientId, clientSecret, logger: logger.child({ component: 'emulator' }), ...o });
  return { emulator, config: emulatedConfig(config, emulator, clientSecret) };
}

function emulatedConfig(config: MediabotConfig, e: Emulator, clientSecret: string): MediabotConfig {
  return { ...config, tenants: config.tenants.length > 0 ? config.tenants : [e.tenantId], tenantId: e.tenantId, clientId: e.clientId, clientSecret, clientCert: undefined, graphUrl: e.graphUrl, authorityUrl: e.authorityUrl, callbackOpenIdUrl: e.callbackOpenIdUrl };
}

export async function startWorker(config: MediabotConfig, opts: WorkerOptions = {}): Promise<Worker> {
  const log = opts.logger ?? createLogger(config.logLevel);
  const cleanups: Array<() => Promise<void> | void> = [];
  const cleanup = async (): Promise<void> => {
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch((err: unknown) => log.warn({ err }, 'shutdown step failed'));
  };
  try {
    const hooks = await resolveWorkerHooks(config, opts.env);
    let cfg = config;
    let emulator: Emulator | null = null;
    if (config.useEmulator) {
      const started = await startEmbeddedEmulator(config, log, opts.emulatorOptions);
      emulator = started.emulator;
      cfg = started.config;
      const own = emulator;
      cleanups.push(() => own.close());
      log.info({ graphUrl: cfg.graphUrl }, 'no Graph credentials: running against the embedded Graph emulator');
    }
    return await assemble(hooks, cfg, emulator, opts, log, cleanups, cleanup);
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** Starts a worker against an emulator the caller runs (tests); `clientSecret` is the one the emulator was created with. */
export async function startWorkerWithEmulator(config: MediabotConfig, emulator: Emulator, clientSecret: string, opts: WorkerOptions = {}): Promise<Worker> {
  const log = opts.logger ?? createLogger(config.logLevel);
  const cleanups: Array<() => Promise<void> | void> = [];
  const cleanup = async (): Promise<void> => {
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch((err: unknown) => log.warn({ err }, 'shutdown step failed'));
  };
  try {
    const hooks = await resolveWorkerHooks(config, opts.env);
    return await assemble(hooks, emulatedConfig({ ...config, useEmulator: true }, emulator, clientSecret), emulator, opts, log, cleanups, cleanup);
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/**
 * The hooks every call gets: built-ins by name plus MEDIABOT_HOOKS modules, checked up front so a
 * bad setting stops start-up rather than the first call. Timeline and analytics come from the
 * worker's own module instead (it writes them out at call end).
 */
export async function resolveWorkerHooks(cfg: MediabotConfig, env: NodeJS.ProcessEnv = process.env): Promise<HookSpec[]> {
  const hookModules = parseHookModules(env['MEDIABOT_HOOKS']);
  await checkHookModules(hookModules);
  return resolveHooksFromConfig({
    transcriber: cfg.transcriber,
    transcriberWsUrl: cfg.transcriberWsUrl,
    azure: azureFromEnv(env),
    record: cfg.record,
    dataDir: cfg.dataDir,
    recordFormat: 'both',
    hookModules,
    speakerTimeline: false,
    analytics: false,
    transcript: false,
  });
}

async function assemble(
  hooks: HookSpec[],
  cfg: MediabotConfig,
  emulator: Emulator | null,
  opts: WorkerOptions,
  log: Logger,
  cleanups: Array<() => Promise<void> | void>,
  cleanup: () => Promise<void>,
): Promise<Worker> {
  const caPem = emulator?.caPem;
  const listenHost = cfg.host;
  const urlHost = listenHost === '0.0.0.0' || listenHost === '::' ? '127.0.0.1' : listenHost.includes(':') ? `[${listenHost}]` : listenHost;
  const port = cfg.port === 0 ? await freePort(listenHost) : cfg.port;
  const url = `http://${urlHost}:${port}`;
  const publicBase = cfg.publicUrl ?? url;
  const callbackUri = `${publicBase}/api/calling`;
  cfg = { ...cfg, port };

  const graph = createGraphFromConfig(cfg, { ...(caPem !== undefined ? { caPem } : {}), logger: log.child({ component: 'graph' }) });
  cleanups.push(() => graph.http.close());
  const bus = new EventBus((err) => log.warn({ err }, 'event listener failed'));

  const pool = new MediaThreadPool(cfg.mediaThreads > 0 ? cfg.mediaThreads : availableParallelism());
  cleanups.push(() => pool.close());

  const db = openDatabase(cfg.dataDir);
  cleanups.push(() => {
    db.close();
  });
  const callRecords = new CallRecordStore(db);
  // Calls, talk segments, transcript lines, recordings and analytics, from the bus.
  const speech = new SpeechStore(db, { logger: log.child({ component: 'speech-store' }) });
  cleanups.push(() => speech.close());
  bus.on((e) => {
    try {
      speech.recordEvent(e);
    } catch (err) {
      log.debug({ err, type: e.type }, 'speech store skipped an event');
    }
  });

  const prompts = new PromptStore(join(cfg.dataDir, 'prompts'), { fetchAllowlist: cfg.fetchAllowlist });
  const media = new RtpMediaSessions({
    pool,
    host: cfg.rtpHost ?? (isLoopback(listenHost) ? listenHost : '0.0.0.0'),
    allowedPeers: cfg.rtpPeers,
    ports: cfg.rtpPorts,
    scratchRoot: join(cfg.dataDir, 'tmp', 'media'),
    hooks,
  });

  let calls: CallService | undefined;
  // Who may connect to /media/acs and /media/bridge (the rules: ingress/common/tokens.ts).
  const tokens = ingressTokens(cfg);
  const ingress = new WorkerIngress({
    pool,
    hooks,
    scratchRoot: join(cfg.dataDir, 'tmp', 'media'),
    tokens: tokens.bridge,
    acsTokens: tokens.acs,
    acsJwt: cfg.acsResourceId !== undefined ? { audience: cfg.acsResourceId, openIdUrl: cfg.acsOpenIdUrl, ...(caPem !== undefined ? { caPem } : {}) } : undefined,
    logger: log,
    onCallStarted: (info) => calls?.ingressCallStarted(info),
    onCallEnded: (info) => calls?.ingressCallEnded(info),
  });
  const signaling = createSignaling({
    calls: createCallOperationsPort(graph.graph),
    callbackUri,
    bus,
    logger: log.child({ component: 'signaling' }),
    // Incoming calls the policy allows (MEDIABOT_INCOMING*) are answered with app-hosted media: mediabot hears and records them.
    policy: incomingCallPolicy({
      mode: cfg.incoming,
      tenants: cfg.incomingTenants.length > 0 ? cfg.incomingTenants : cfg.tenants,
      callers: cfg.incomingCallers,
      media: 'app',
      onRejected: (call, why) => log.info({ callId: call.callId, why }, 'incoming call rejected by MEDIABOT_INCOMING policy'),
    }),
    appMediaConfig: (call) => calls!.answerMedia(call.callId),
    // `metrics` is created below; this only runs once callbacks arrive.
    onTerminationUnconfirmed: () => metrics.callbackRejected.inc({ reason: 'unconfirmed' }),
  });
  cleanups.push(() => signaling.close());
  calls = new CallService({
    graph: graph.graph,
    signaling,
    bus,
    dataDir: cfg.dataDir,
    recordDir: cfg.record ? join(cfg.dataDir, 'recordings') : undefined,
    callbackUri,
    publicBaseUrl: () => publicBase,
    clientId: cfg.clientId!,
    tenantId: cfg.tenantId,
    media,
    speech,
    mediaSessions: opts.mediaSessions ?? ingress.sessionProvider(media),
    ingress,
    prompts,
    logger: log.child({ component: 'calls' }),
  });
  const service = calls;
  cleanups.push(() => service.closeAll());
  cleanups.push(() => ingress.close());
  ingress.bridge.onControl((e) => {
    if (e.type === 'sourceMap') service.ingressSourceMap(e.callId, e.entries);
  });
  pool.onEvent((e) => service.ingestMediaEvent(e));

  const metrics = createMetrics();
  const mediaMetrics = createMediaMetrics(metrics.registry, pool, () => media.ids());
  ingress.registerMetrics(metrics.registry);
  cleanups.push(() => mediaMetrics.stop());

  const validator = new CallbackTokenValidator({
    openIdConfigUrl: cfg.callbackOpenIdUrl,
    audience: cfg.clientId!,
    ...(caPem !== undefined ? { caPem } : {}),
    logger: log.child({ component: 'callback-auth' }),
  });

  const clientState = newClientState();
  // Graph can only post change notifications to a URL it reaches: a public URL, or the local emulator.
  const canNotify = opts.subscribeCallRecords ?? (emulator !== null || cfg.publicUrl !== undefined);
  const subscription = canNotify
    ? new SubscriptionManager({ port: createSubscriptionsPort(graph.graph), notificationUrl: `${publicBase}/api/notifications`, clientState, logger: log.child({ component: 'subscriptions' }) })
    : null;
  const processor = new ChangeNotificationProcessor({
    clientState,
    managers: subscription ? [subscription] : [],
    callRecords: createCallRecordsPort(graph.graph),
    store: callRecords,
    bus,
    logger: log.child({ component: 'notifications' }),
  });

  const readiness = new Readiness();
  readiness.setCheck('callbackKeys', () => validator.hasKeys || validator.warm());

  const live = new LiveEvents((err) => log.warn({ err }, 'live event listener failed'));
  live.feedFrom(bus);
  service.onWorkerEvent((e) => live.emit(e));
  const subscribe = (l: (e: LiveEvent) => void): (() => void) => live.on(l);
  // The events socket gets events without absolute paths or tool output; hook errors are logged whole here.
  const subscribePublic = (l: (e: LiveEvent) => void): (() => void) => live.on((e) => l(publicEvent(e)));
  bus.on((e) => {
    if (e.type === 'hook.error') log.warn({ callId: e.callId, hook: e.hook, detail: e.message }, 'hook error');
  });

  const openapi = {
    openapi: {
      info: { title: 'mediabot operator API', version: '0.1.0', description: 'Calls, prompts, participants, transcripts, recordings and live events. Errors are {"error":{"code":"MEDIABOT_…","message":"…"}}.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  };

  const originPolicy = { listenHost: listenHost, publicUrl: cfg.publicUrl, allowedOrigins: cfg.allowedOrigins };
  const server = await buildServer({
    logger: log.child({ component: 'http' }),
    metrics,
    apiToken: cfg.apiToken,
    limits: { maxConnections: cfg.maxConnections },
    origin: originPolicy,
    readiness,
    registry: signaling.registry,
    calling: { auth: validator, dispatch: (items) => signaling.dispatch(items), guard: new CallbackGuard({ tenants: cfg.tenants }) },
    notifications: { processor },
    prePlugins: [
      // Registered directly (they are fastify-plugin wrapped) so they see every route of the root.
      { plugin: fastifySwagger as unknown as FastifyPluginAsync<never>, options: openapi },
      { plugin: fastifySwaggerUi as unknown as FastifyPluginAsync<never>, options: { routePrefix: '/docs' } },
      // Per-route message limits and the bridge's authentication deadline, before any route.
      { plugin: websocketWithLimits({ onAuthTimeout: (path) => metrics.authFailures.inc({ endpoint: path === '/media/bridge' ? 'bridge' : path, reason: 'timeout' }) }) as FastifyPluginAsync<never> },
    ],
    v1Plugins: [{ plugin: v1OperatorRoutes as FastifyPluginAsync<never>, options: { calls: service, recordingsRoot: join(cfg.dataDir, 'recordings') } }],
    plugins: [
      {
        plugin: eventsWsRoutes as FastifyPluginAsync<never>,
        options: {
          apiToken: cfg.apiToken,
          metrics,
          origin: originPolicy,
          subscribe: subscribePublic,
          hello: () => ({ calls: signaling.registry.list().map((c) => ({ ...callJson(c), media: service.mediaMode(c.id), speakers: service.speakers(c.id) })) }),
        },
      },
      { plugin: promptMediaRoutes as FastifyPluginAsync<never>, options: { prompts } },
      { plugin: dashboardRoutes as FastifyPluginAsync<never> },
      ...ingress.plugins(),
    ],
  });
  cleanups.push(() => server.close());
  await server.listen({ host: listenHost, port });
  log.info({ url, callbackUri, emulated: emulator !== null }, 'mediabot worker listening');
  void validator.warm();
  if (subscription) {
    await subscription.start();
    cleanups.push(() => subscription.stop(false));
  }

  return {
    config: cfg,
    server,
    url,
    callbackUri,
    pool,
    signaling,
    graph,
    store: { db, callRecords, speech },
    bus,
    calls: service,
    metrics,
    emulator,
    caPem,
    ingress,
    subscribe,
    close: async () => {
      readiness.startDraining();
      await cleanup();
    },
  };
}
