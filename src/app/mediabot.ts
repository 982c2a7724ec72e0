/**
 * The composition root: `createMediabot` wires a whole mediabot from the config, and never listens;
 * `listen()` on the result opens the HTTP port.
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
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
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
import { checkHookModules, resolveHooksFromConfig } from '../media/hooks/transcribe/engines.js';
import { buildApp } from '../server/app.js';
import { createMetrics, type Metrics } from '../server/metrics.js';
import { Readiness } from '../server/readiness.js';
import { websocketWithLimits } from '../util/ws-limits.js';
import { dashboardRoutes } from '../server/routes/dashboard.js';
import { eventsWsRoutes } from '../server/routes/events-ws.js';
import { callJson } from '../server/routes/v1-calls.js';
import { promptMediaRoutes, v1OperatorRoutes } from '../server/routes/v1-operator.js';
import { CallbackGuard } from '../signaling/callback-guard.js';
import { incomingCallPolicy } from '../signaling/incoming-policy.js';
import { publicEvent } from '../util/public-event.js';
import type { LiveEvent } from '../events/live.js';
import { richNotificationReaderFrom } from '../signaling/rich-notifications.js';
import { CallbackTokenValidator } from '../signaling/jwt.js';
import { createSignaling, type Signaling } from '../signaling/signaling.js';
import { ChangeNotificationProcessor, SubscriptionManager, newClientState } from '../signaling/subscriptions.js';
import { openDatabase, type Database } from '../store/db.js';
import { CallRecordStore } from '../store/call-records.js';
import { SpeechStore } from '../store/speech-store.js';
import { CallService } from '../calls/service.js';
import { createCallOperationsPort, createCallRecordsPort, createSubscriptionsPort } from '../graph/ports-adapter.js';
import { MediabotError } from '../errors.js';
import { callsApi } from './calls-api.js';
import { MediabotEvents } from './events-api.js';
import type { Mediabot } from './api.js';
import { WorkerIngress } from '../calls/ingress.js';
import { ingressTokens } from '../ingress/common/tokens.js';
import { createMediaMetrics } from './media-metrics.js';
import { Admission } from './admission.js';
import { Drainer } from './drain.js';
import { RtpMediaSessions } from '../calls/media-sessions.js';
import { PromptStore } from '../calls/prompts.js';
import { composeCallSettings, composeWebhooks } from './webhooks.js';
import { v1WebhooksRoutes } from '../server/routes/v1-webhooks.js';
import { v1CallRequestsRoutes } from '../server/routes/v1-call-requests.js';
import { Fleet } from '../cluster/fleet.js';
import { composeStorage, uploadArtifactsOf } from './storage.js';
import type { StorageService } from '../storage/service.js';
import type { RetryPolicy } from '../storage/uploader.js';
import { clusterSettings } from '../cluster/settings.js';
import { composeHistory, recordEndings, type HistoryParts } from './history.js';
import { historyFileRoutes, v1HistoryRoutes } from '../server/routes/v1-history.js';
import { composeRetention, type Retention } from './retention.js';
import type { RemoteCallStore } from '../retention/call-data.js';
import { v1RetentionRoutes } from '../server/routes/v1-retention.js';

export interface MediabotOptions {
  logger?: Logger;
  /** More hooks for every call with app-hosted media, after the configured ones (built-ins by name, or modules). */
  hooks?: HookSpec[];
  /** A CA to trust besides the system's for Graph, the token authority and callback keys (a TLS-inspecting proxy, an emulator). */
  caPem?: string;
  /** Options for the emulator mediabot starts itself when the config has no Graph credentials. */
  emulatorOptions?: Partial<Omit<EmulatorOptions, 'tenantId' | 'clientId' | 'clientSecret'>>;
  /** Supplies app-hosted media blobs; default: the bridge sidecar when one is connected, else RTP sessions on the media threads. */
  mediaSessions?: MediaSessionProvider;
  /** Subscribe to callRecords change notifications (default true when Graph can reach us). */
  subscribeCallRecords?: boolean;
  /** Fetching Teams' meeting artifacts (MEDIABOT_FETCH_MEETING_ARTIFACTS): how long to keep asking Graph after a meeting, and between attempts (defaults 30 min, 30 s). */
  meetingArtifacts?: { waitMs?: number; pollMs?: number };
  /** Object storage uploads (MEDIABOT_STORAGE_URL): delays between attempts and attempts before giving up (defaults 2 s doubling to 5 min, 12). */
  storageRetry?: Partial<RetryPolicy>;
  /** Object storage holding calls' data (uploaded recordings, artifacts): deleting a call's data deletes its objects there too (default: the MEDIABOT_STORAGE_URL storage, when one is set). */
  remoteCallData?: RemoteCallStore;
}

/** A composed mediabot with its parts, for the CLI and tests; the public API narrows it to `Mediabot`. */
export interface ComposedMediabot extends Mediabot {
  pool: MediaThreadPool;
  signaling: Signaling;
  graph: GraphBundle;
  store: { db: Database; callRecords: CallRecordStore; speech: SpeechStore };
  /** The ended-call history, its `call_endings` table and the signed file links it hands out. */
  history: HistoryParts;
  bus: EventBus;
  /** The call service behind `calls` (every method of it, for the CLI and tests). */
  service: CallService;
  metrics: Metrics;
  /** The CA trusted in addition to the system's (the emulator's, or MediabotOptions.caPem). */
  caPem: string | undefined;
  /** The WebSocket media ingresses on the main port: /media/acs and /media/bridge. */
  ingress: WorkerIngress;
  /** Object storage (MEDIABOT_STORAGE_URL): uploads, signed URLs, `deleteCall`. */
  storage: StorageService;
  /** Deleting calls' data, the deletion log and the MEDIABOT_RETENTION_DAYS sweep (`retention.sweeper.sweep(at)`). */
  retention: Retention;
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
export async function startEmbeddedEmulator(config: MediabotConfig, logger: Logger, o: MediabotOptions['emulatorOptions'] = {}): Promise<{ emulator: Emulator; config: MediabotConfig }> {
  const tenantId = config.tenantId ?? randomUUID();
  const clientId = randomUUID();
  const clientSecret = randomBytes(24).toString('base64url');
  // Loaded on demand: a mediabot with Graph credentials never loads the emulator.
  const { createEmulator } = await import('../../testing/emulator/index.js');
  const emulator = await createEmulator({ tenantId, clientId, clientSecret, logger: logger.child({ component: 'emulator' }), ...o });
  return { emulator, config: emulatedConfig(config, emulator, clientSecret) };
}

function emulatedConfig(config: MediabotConfig, e: Emulator, clientSecret: string): MediabotConfig {
  return { ...config, tenants: config.tenants.length > 0 ? config.tenants : [e.tenantId], tenantId: e.tenantId, clientId: e.clientId, clientSecret, clientCert: undefined, graphUrl: e.graphUrl, authorityUrl: e.authorityUrl, callbackOpenIdUrl: e.callbackOpenIdUrl };
}

type Cleanups = Array<() => Promise<void> | void>;

async function compose(config: MediabotConfig, opts: MediabotOptions, withEmulator: (log: Logger, cleanups: Cleanups) => Promise<{ cfg: MediabotConfig; emulator: Emulator | null }>): Promise<ComposedMediabot> {
  const log = opts.logger ?? createLogger(config.logLevel);
  const cleanups: Cleanups = [];
  const cleanup = async (): Promise<void> => {
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch((err: unknown) => log.warn({ err }, 'shutdown step failed'));
    cleanups.length = 0;
  };
  try {
    const hooks = [...(await resolveConfiguredHooks(config)), ...(await checkedExtraHooks(opts.hooks ?? []))];
    const { cfg, emulator } = await withEmulator(log, cleanups);
    return await assemble(hooks, cfg, emulator, opts, log, cleanups, cleanup);
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/**
 * Creates everything a mediabot is made of (Graph client, signaling, media threads, store, the
 * fastify app) without listening: `listen()` opens the port, `close()` stops it all. With no Graph
 * credentials (`config.useEmulator`), the embedded Graph emulator is started first.
 */
export function createMediabot(config: MediabotConfig, opts: MediabotOptions = {}): Promise<ComposedMediabot> {
  return compose(config, opts, async (log, cleanups) => {
    if (!config.useEmulator) return { cfg: config, emulator: null };
    const started = await startEmbeddedEmulator(config, log, opts.emulatorOptions);
    const own = started.emulator;
    cleanups.push(() => own.close());
    log.info({ graphUrl: started.config.graphUrl }, 'no Graph credentials: running against the embedded Graph emulator');
    return { cfg: started.config, emulator: own };
  });
}

/** Creates a mediabot against an emulator the caller runs (tests); `clientSecret` is the one the emulator was created with. */
export function createMediabotWithEmulator(config: MediabotConfig, emulator: Emulator, clientSecret: string, opts: MediabotOptions = {}): Promise<ComposedMediabot> {
  return compose(config, opts, async () => ({ cfg: emulatedConfig({ ...config, useEmulator: true }, emulator, clientSecret), emulator }));
}

/** `createMediabot(...)` then `listen()`: what `mediabot start`, the demo and the doctor run. */
export async function startMediabot(config: MediabotConfig, opts: MediabotOptions = {}): Promise<ComposedMediabot> {
  const bot = await createMediabot(config, opts);
  try {
    await bot.listen();
  } catch (err) {
    await bot.close();
    throw err;
  }
  return bot;
}

/** Hook specs given in code: module hooks are imported and checked now, like MEDIABOT_HOOKS. */
async function checkedExtraHooks(specs: readonly HookSpec[]): Promise<HookSpec[]> {
  const out: HookSpec[] = [];
  for (const spec of specs) {
    if ('builtin' in spec) {
      out.push(spec);
      continue;
    }
    const module = spec.module.startsWith('file:') ? fileURLToPath(spec.module) : resolve(spec.module);
    await checkHookModules([spec.export === undefined ? { module } : { module, export: spec.export }]);
    out.push({ ...spec, module });
  }
  return out;
}

/**
 * The hooks every call gets: built-ins by name plus MEDIABOT_HOOKS modules, checked up front so a
 * bad setting stops start-up rather than the first call. Timeline and analytics come from the
 * call service's own module instead (it writes them out at call end).
 */
export async function resolveConfiguredHooks(cfg: MediabotConfig): Promise<HookSpec[]> {
  const hookModules = cfg.hookModules;
  await checkHookModules(hookModules);
  return resolveHooksFromConfig({
    transcriber: cfg.transcriber,
    transcriberWsUrl: cfg.transcriberWsUrl,
    azure: cfg.azureSpeech,
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
  opts: MediabotOptions,
  log: Logger,
  cleanups: Cleanups,
  cleanup: () => Promise<void>,
): Promise<ComposedMediabot> {
  const cas = [emulator?.caPem, opts.caPem, cfg.caPem].filter((c): c is string => c !== undefined && c !== '');
  const caPem = cas.length > 0 ? cas.join('\n') : undefined;
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

  const pool = new MediaThreadPool(cfg.mediaThreads > 0 ? cfg.mediaThreads : availableParallelism(), { rtpIo: cfg.rtpIo, nice: cfg.mediaNice });
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
  // Per-call settings (transcription, recording, webhook URL, metadata): stored, applied to the call's hooks.
  const perCall = composeCallSettings(cfg, db, hooks);
  const media = new RtpMediaSessions({
    pool,
    host: cfg.rtpHost ?? (isLoopback(listenHost) ? listenHost : '0.0.0.0'),
    allowedPeers: cfg.rtpPeers,
    ports: cfg.rtpPorts,
    scratchRoot: join(cfg.dataDir, 'tmp', 'media'),
    hooks,
    hooksFor: perCall.hooksFor,
  });

  let calls: CallService | undefined;
  let registryRef: Signaling['registry'] | undefined;
  const liveCallIds = (): string[] => (registryRef?.list() ?? []).filter((c) => c.state !== 'terminated').map((c) => c.id);
  // Whether this instance takes another call: not while draining, not beyond MEDIABOT_MAX_CALLS.
  const admission = new Admission({ maxCalls: cfg.maxCalls, liveCalls: () => liveCallIds().length });
  // Who may connect to /media/acs and /media/bridge (the rules: ingress/common/tokens.ts).
  const tokens = ingressTokens(cfg);
  const ingress = new WorkerIngress({
    pool,
    hooks,
    hooksFor: perCall.hooksFor,
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
    acceptsIncoming: () => admission.acceptsIncoming(),
    appMediaConfig: (call) => calls!.answerMedia(call.callId),
    // `metrics` is created below; this only runs once callbacks arrive.
    onTerminationUnconfirmed: () => metrics.callbackRejected.inc({ reason: 'unconfirmed' }),
  });
  cleanups.push(() => signaling.close());
  registryRef = signaling.registry;
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
    admission,
    leave: cfg.leave,
    callSettings: perCall.port,
    meetingArtifacts: { defaultOn: cfg.fetchMeetingArtifacts, callTenant: (id) => graph.callTenants.tenantOf(id), ...opts.meetingArtifacts },
  });
  const service = calls;
  // Each call's end reason, times and speakers, stored when its artifacts are written (first listener: see recordEndings).
  const endings = recordEndings({ db, speech, service, registry: signaling.registry, logger: log.child({ component: 'history' }) });
  // Many instances (MEDIABOT_REDIS_URL): created below; leaves the fleet after the calls closed.
  let fleet: Fleet | null = null;
  cleanups.push(() => fleet?.close());
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
    rich: richNotificationReaderFrom(cfg, caPem !== undefined ? { caPem } : {}),
  });

  const readiness = new Readiness();
  readiness.setCheck('callbackKeys', () => validator.hasKeys || validator.warm());
  if (cfg.maxCalls !== undefined) readiness.setCheck('capacity', () => !admission.atCapacity());

  const events = new MediabotEvents((err) => log.warn({ err }, 'live event listener failed'));
  events.feedFrom(bus);
  service.onWorkerEvent((e) => events.emit(e));

  // Call artifacts to object storage (MEDIABOT_STORAGE_URL): queued when written, uploaded with retries.
  let publishWebhook: ((callId: string, recordings: Array<Record<string, unknown>>) => void) | null = null;
  const storage = await composeStorage({ cfg, db, registry: metrics.registry, logger: log, ...(opts.storageRetry !== undefined ? { retry: opts.storageRetry } : {}), publish: (callId, recordings) => publishWebhook?.(callId, recordings) });
  cleanups.push(() => storage.stop());
  uploadArtifactsOf(service, storage, log);

  // Signed webhooks (durable outbox, per-call order) and call requests (dedupKey, joinAt).
  const webhooks = composeWebhooks({ cfg, db, perCall, service, registry: signaling.registry, metrics: metrics.registry, subscribe: (l) => events.on((e) => l(publicEvent(e))), logger: log, recordingReadyAfterUpload: storage.remote });
  publishWebhook = (callId, recordings) => void webhooks.api.publish(callId, 'recording.ready', { recordings, at: new Date().toISOString() });
  cleanups.push(() => webhooks.stop());
  // DELETE /v1/calls/:id/data, the deletion log, MEDIABOT_RETENTION_DAYS; `data.deleted` to events and webhooks.
  const retention = composeRetention({ cfg, db, speech, perCall, service, events, webhooks, remote: opts.remoteCallData ?? (storage.remote ? storage : undefined), logger: log });
  cleanups.push(() => retention.stop());
  // Ended calls from what is stored, for GET /v1/history and the dashboard.
  const history = composeHistory({ cfg, db, speech, endings, registry: signaling.registry, webhooks: webhooks.api });
  const cluster = clusterSettings(cfg);
  fleet = cluster
    ? new Fleet({
        settings: cluster,
        apiToken: cfg.apiToken,
        registry: signaling.registry,
        bus,
        events,
        readiness,
        metrics,
        hangUp: async (callId) => {
          await graph.graph.calls.delete(callId);
        },
        logger: log.child({ component: 'fleet' }),
      })
    : null;
  const inFleet = fleet;
  // One instance: its own events. A fleet: everyone's, with stream ids and replay (?since=).
  // The events socket gets them without absolute paths or tool output (after the webhook metadata); hook errors are logged whole here.
  const subscribePublic = (l: (e: { type: string }) => void, since?: string): (() => void) => {
    const pub = (e: { type: string }): void => l(publicEvent(webhooks.withMetadata(e as LiveEvent)));
    return inFleet ? inFleet.subscribe(pub, since) : events.on(pub);
  };
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

  // History files whose local copy went after its upload are redirected to a signed storage URL.
  const historyRemote = storage.remote
    ? { remoteUrl: async (callId: string, kind: 'files' | 'recordings', name: string) => (await storage.downloadUrl(callId, name, kind === 'recordings' ? 'recording' : 'artifact'))?.url ?? null }
    : {};

  // In a fleet, requests forwarded by the other instances name this one by its internal URL's host.
  const originPolicy = { listenHost: listenHost, publicUrl: cfg.publicUrl, allowedOrigins: cluster ? [...cfg.allowedOrigins, new URL(cluster.internalUrl).origin] : cfg.allowedOrigins };
  const app = await buildApp({
    logger: log.child({ component: 'http' }),
    metrics,
    apiToken: cfg.apiToken,
    limits: { maxConnections: cfg.maxConnections },
    origin: originPolicy,
    readiness,
    registry: signaling.registry,
    calling: { auth: validator, dispatch: (items) => signaling.dispatch(items), guard: new CallbackGuard({ tenants: cfg.tenants, callTenants: graph.callTenants }) },
    notifications: { processor },
    prePlugins: [
      // Registered directly (they are fastify-plugin wrapped) so they see every route of the root.
      { plugin: fastifySwagger as unknown as FastifyPluginAsync<never>, options: openapi },
      { plugin: fastifySwaggerUi as unknown as FastifyPluginAsync<never>, options: { routePrefix: '/docs' } },
      // Per-route message limits and the bridge's authentication deadline, before any route.
      { plugin: websocketWithLimits({ onAuthTimeout: (path) => metrics.authFailures.inc({ endpoint: path === '/media/bridge' ? 'bridge' : path, reason: 'timeout' }) }) as FastifyPluginAsync<never> },
    ],
    v1PreHandlers: inFleet ? [inFleet.preHandler] : [],
    v1Plugins: [
      { plugin: v1OperatorRoutes as FastifyPluginAsync<never>, options: { calls: service, recordingsRoot: join(cfg.dataDir, 'recordings'), requests: webhooks.requests, storage } },
      { plugin: v1WebhooksRoutes as FastifyPluginAsync<never>, options: { webhooks: webhooks.api } },
      { plugin: v1CallRequestsRoutes as FastifyPluginAsync<never>, options: { requests: webhooks.requests } },
      { plugin: v1HistoryRoutes as FastifyPluginAsync<never>, options: { history: history.history, ...historyRemote } },
      { plugin: v1RetentionRoutes as FastifyPluginAsync<never>, options: { deleter: retention.deleter } },
    ],
    plugins: [
      {
        plugin: eventsWsRoutes as FastifyPluginAsync<never>,
        options: {
          apiToken: cfg.apiToken,
          metrics,
          origin: originPolicy,
          subscribe: subscribePublic,
          hello: () => ({
            calls: [...signaling.registry.list().map((c) => ({ ...callJson(c), media: service.mediaMode(c.id), speakers: service.speakers(c.id) })), ...(inFleet?.remoteCalls() ?? [])],
            ...(inFleet ? { instance: inFleet.instanceId } : {}),
          }),
        },
      },
      { plugin: promptMediaRoutes as FastifyPluginAsync<never>, options: { prompts } },
      { plugin: historyFileRoutes as FastifyPluginAsync<never>, options: { history: history.history, links: history.links, ...historyRemote } },
      { plugin: dashboardRoutes as FastifyPluginAsync<never> },
      ...ingress.plugins(),
    ],
  });
  cleanups.push(() => app.close());

  let listening: Promise<string> | null = null;
  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      readiness.startDraining();
      await cleanup();
    })();
    return closing;
  };
  const drainer = new Drainer({
    admission,
    startDraining: () => readiness.startDraining(),
    liveCallIds,
    unfinalizedCallIds: () => service.unfinalizedCallIds(),
    hangUp: (id) => service.hangUp(id),
    whenFinalized: (id, ms) => service.whenFinalized(id, ms),
    close,
    logger: log.child({ component: 'drain' }),
  });
  const listen = (): Promise<string> => {
    if (closing) return Promise.reject(new MediabotError('MEDIABOT_INTERNAL', 'this mediabot is closed'));
    listening ??= (async () => {
      await app.listen({ host: listenHost, port });
      log.info({ url, callbackUri, emulated: emulator !== null }, 'mediabot listening');
      void validator.warm();
      // Pending webhooks and scheduled joins left by an earlier run resume once callbacks can arrive.
      webhooks.start();
      // Uploads an earlier run left (interrupted ones are redone) resume, as new ones start.
      storage.start();
      retention.start();
      inFleet?.start();
      if (subscription) {
        await subscription.start();
        cleanups.push(() => subscription.stop(false));
      }
      return url;
    })();
    return listening;
  };

  return {
    config: cfg,
    app,
    url,
    callbackUri,
    calls: callsApi(service, signaling.registry, retention.deleter, history.history),
    events,
    webhooks: webhooks.api,
    emulator,
    bridgeToken: ingress.bridgeToken,
    listen,
    close,
    drain: (o = {}) => drainer.drain(o.timeoutMs ?? cfg.drainTimeoutS * 1000),
    get draining() {
      return drainer.draining;
    },
    pool,
    signaling,
    graph,
    store: { db, callRecords, speech },
    history,
    bus,
    service,
    metrics,
    caPem,
    ingress,
    storage,
    retention,
  };
}
