import { randomBytes, randomUUID } from 'node:crypto';
import { EmulatorBridgeSidecar } from './bridge-sidecar.js';
import https from 'node:https';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { MediabotError, isMediabotError } from '../../src/errors.js';
import { silentLogger, type Logger } from '../../src/logger.js';
import { CallEngine } from './call-engine.js';
import { CallRecordStore } from './call-records.js';
import { CallbackSigner } from './callback-signer.js';
import { DEFAULT_TIMING, type EmulatorContext, type EmulatorTiming } from './context.js';
import { FaultInjector, faultErrorCode, parseFaultRule, type FaultRule } from './faults.js';
import { setIdentity } from './graph-auth.js';
import { GraphErrorReply, graphErrorBody } from './graph-error.js';
import { DEFAULT_ROLES, IdentityProvider } from './identity.js';
import { MeetingStore, type CreateMeetingInput } from './meetings.js';
import { MeetingArtifacts } from './meeting-artifacts.js';
import { registerArtifactRoutes } from './routes/artifacts.js';
import { Notifier } from './notifier.js';
import { PresenceStore } from './presence.js';
import { registerCallRecordRoutes } from './routes/call-records.js';
import { registerCallRoutes } from './routes/calls.js';
import { registerControlRoutes } from './routes/control.js';
import { registerMeetingRoutes } from './routes/meetings.js';
import { registerPresenceRoutes } from './routes/presence.js';
import { registerSubscriptionRoutes } from './routes/subscriptions.js';
import { meetingResource } from './builders.js';
import { DEFAULT_SCRIPT, SpeechBank, defaultSpeechCacheDir, type SpeakerScript } from './speech.js';
import type { EmuCall, Json } from './state.js';
import { SubscriptionStore, type LifecycleEvent } from './subscriptions.js';
import { createEmulatorTls } from './tls.js';

export interface EmulatorOptions {
  /** Port to listen on; 0 or absent picks a free one. */
  port?: number;
  host?: '127.0.0.1';
  tenantId: string;
  clientId: string;
  clientSecret: string;
  /** Application permissions put in access tokens; default DEFAULT_ROLES. */
  roles?: readonly string[];
  logger?: Logger;
  /** Where espeak-ng speech is cached; default <tmpdir>/mediabot-emulator-speech. */
  speechCacheDir?: string;
  /** Display name of the bot's application identity. */
  botDisplayName?: string;
  /**
   * Further tenants that consented to the app (a multi-tenant registration): the token endpoint
   * issues tokens for each, and calls carry the tenant of the token that created them.
   */
  otherTenants?: string[];
  timing?: Partial<EmulatorTiming>;
  /** Faults armed from the start. */
  faults?: FaultRule[];
  /** Retry delays for notification delivery (its length is the retry count). */
  notificationRetryDelaysMs?: number[];
}

export interface EmulatorStats {
  tokenRequests: number;
  tokensIssued: number;
  graphRequests: number;
  notifications: { delivered: number; failed: number; retried: number };
  calls: { active: number; ended: number };
  meetings: number;
  subscriptions: number;
}

export interface Emulator {
  /** https://127.0.0.1:PORT */
  baseUrl: string;
  /** Graph base for MEDIABOT_GRAPH_URL (no version segment): https://127.0.0.1:PORT */
  graphUrl: string;
  /** Authority host for MEDIABOT_AUTHORITY_URL: https://127.0.0.1:PORT (the tenant is appended). */
  authorityUrl: string;
  /** For MEDIABOT_CALLBACK_OPENID_URL: the OpenID configuration whose jwks_uri verifies notification tokens. */
  callbackOpenIdUrl: string;
  /** msal-node `authorityMetadata` (JSON string) for this emulator's tenant. */
  authorityMetadata: string;
  /** `knownAuthorities` entry for msal-node: 127.0.0.1:PORT */
  knownAuthority: string;
  /** The CA certificate (PEM) that signed the server certificate; trust it in HTTPS clients. */
  caPem: string;
  /** Bearer token of the /_emulator/* control API, generated at start (`mediabot emulator` prints it). */
  controlToken: string;
  tenantId: string;
  /** Every tenant served (tenantId first). */
  tenants: string[];
  clientId: string;
  port: number;
  /**
   * A delegated (signed-in user) token for `userId`, which Graph requires for /me and presence
   * subscriptions; the emulator has no interactive sign-in, so tests mint it here.
   */
  delegatedToken(userId: string, scopes?: string[], tenantId?: string): Promise<string>;
  /** Creates an online meeting with simulated people (default 3) and returns its Graph resource. */
  createMeeting(input?: CreateMeetingInput): Json & { id: string; joinWebUrl: string };
  /** Rings the bot: posts an incoming-call notification to callbackUri; returns the call id. */
  placeIncomingCall(opts: { callbackUri: string; from?: { id?: string; displayName?: string; phone?: string }; policyBasedRecording?: boolean; tenantId?: string }): string;
  /** A simulated participant starts sharing content; returns the contentSharingSession id. */
  startContentSharing(callId: string): string;
  /** The sharing ends; false if there is no such session. */
  stopContentSharing(callId: string, sessionId: string): boolean;
  /** The reports logTeleconferenceDeviceQuality received. */
  deviceQualityReports(): Json[];
  /** A DTMF tone from the far end (delivered if the bot subscribed to tones). */
  sendTone(callId: string, tone: string): boolean;
  /** Admits a bot waiting in a lobby meeting's lobby (what POST /_emulator/calls/{id}/admit does). */
  admit(callId: string): void;
  /** Details of a call (state, roster, media stats, speech script); undefined if unknown. */
  callDetails(callId: string): Json | undefined;
  /** Posts a lifecycle event (subscriptionRemoved, missed, reauthorizationRequired) for a subscription; false if it has no lifecycleNotificationUrl. */
  sendLifecycleEvent(subscriptionId: string, event: LifecycleEvent): boolean;
  /** Arms a fault rule (throttling or 5xx). */
  injectFault(rule: FaultRule): void;
  clearFaults(): void;
  /** The default speech script (names, voices, sentences). */
  script: readonly SpeakerScript[];
  stats(): EmulatorStats;
  /**
   * Bridge-sidecar mode: connects the emulator's media sidecar to a bot's /media/bridge. Calls the
   * bot then joins with a blob from it stream their people through the sidecar instead of RTP.
   */
  attachBridgeSidecar(o: { url: string; token: string }): Promise<EmulatorBridgeSidecar>;
  /** Resolves when queued notifications are delivered (for tests). */
  drainNotifications(): Promise<void>;
  close(): Promise<void>;
}

function clientRequestId(req: FastifyRequest): string | undefined {
  const h = req.headers['client-request-id'];
  return typeof h === 'string' && h.length > 0 && h.length <= 128 ? h : undefined;
}

const requestIds = new WeakMap<FastifyRequest, string>();

function sendGraphError(req: FastifyRequest, reply: FastifyReply, err: GraphErrorReply, extraInner: Record<string, string> = {}): FastifyReply {
  const rid = requestIds.get(req) ?? randomUUID();
  for (const [k, v] of Object.entries(err.headers)) reply.header(k, v);
  return reply.code(err.status).send(graphErrorBody(err.code, err.message, rid, clientRequestId(req) ?? rid, extraInner));
}

/** Starts the emulator: HTTPS with its own CA, identity, Graph, notifications, simulated meetings. */
export async function createEmulator(opts: EmulatorOptions): Promise<Emulator> {
  for (const k of ['tenantId', 'clientId', 'clientSecret'] as const) {
    if (typeof opts[k] !== 'string' || opts[k].length === 0) throw new MediabotError('MEDIABOT_EMULATOR_START_FAILED', `${k} is required`);
  }
  const logger = opts.logger ?? silentLogger;
  const host = opts.host ?? '127.0.0.1';
  // Key generation runs in parallel with the certificate work.
  const identityKeysP = IdentityProvider.generateKeys();
  const signerP = CallbackSigner.create();
  const tls = await createEmulatorTls();
  // The server listens before routes are registered: every URL the emulator hands out needs its port.
  let server: https.Server | undefined;
  const app: FastifyInstance = Fastify({
    logger: false,
    bodyLimit: 4 * 1024 * 1024,
    // Online meeting ids are long base64 strings.
    routerOptions: { maxParamLength: 4096, ignoreTrailingSlash: true },
    serverFactory: (handler) => {
      server = https.createServer({ key: tls.keyPem, cert: tls.certPem }, handler);
      return server;
    },
  });
  const httpsServer = server as https.Server | undefined;
  if (!httpsServer) throw new MediabotError('MEDIABOT_EMULATOR_START_FAILED', 'HTTPS server was not created');

  // Body parsing: lenient JSON (empty body = no body), forms for the token endpoint, anything else as text.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = String(body);
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      done(new GraphErrorReply(400, 'BadRequest', 'Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.'), undefined);
    }
  });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(String(body))));
  });
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, String(body)));

  await new Promise<void>((resolve, reject) => {
    httpsServer.once('error', (err) => reject(new MediabotError('MEDIABOT_EMULATOR_START_FAILED', `cannot listen on ${host}:${opts.port ?? 0}: ${err.message}`)));
    httpsServer.listen(opts.port ?? 0, host, () => resolve());
  });
  const address = httpsServer.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const baseUrl = `https://${host}:${port}`;

  const identity = await IdentityProvider.create(
    { baseUrl, tenantId: opts.tenantId, clientId: opts.clientId, clientSecret: opts.clientSecret, roles: opts.roles ?? DEFAULT_ROLES, otherTenants: opts.otherTenants ?? [] },
    await identityKeysP,
  );
  const signer = await signerP;
  const notifier = new Notifier({ logger, ...(opts.notificationRetryDelaysMs ? { retryDelaysMs: opts.notificationRetryDelaysMs } : {}) });
  const speech = new SpeechBank(opts.speechCacheDir ?? defaultSpeechCacheDir());
  const speechReady = speech.prepare(DEFAULT_SCRIPT);
  speechReady.catch((err: unknown) => logger.warn({ err }, 'emulator speech preparation failed'));
  const ctx: EmulatorContext = {
    baseUrl,
    graphUrl: baseUrl,
    tenantId: opts.tenantId,
    tenants: identity.tenants,
    clientId: opts.clientId,
    botDisplayName: opts.botDisplayName ?? 'mediabot',
    logger,
    timing: { ...DEFAULT_TIMING, ...opts.timing },
    notifier,
    signer,
    speech,
    speechReady,
  };
  const subscriptions = new SubscriptionStore(ctx, (tenant) => identity.issueValidationToken(tenant));
  const presence = new PresenceStore(ctx, subscriptions);
  const meetings = new MeetingStore(ctx);
  const records = new CallRecordStore(ctx, subscriptions);
  const engine = new CallEngine(ctx, meetings, records);
  const artifacts = new MeetingArtifacts(ctx, subscriptions);
  engine.core.endedListeners.push((call, meeting) => artifacts.callEnded(call, meeting, engine.scripts.get(call.id) ?? []));
  const faults = new FaultInjector();
  for (const f of opts.faults ?? []) faults.add(parseFaultRule(f));
  let graphRequests = 0;

  app.addHook('onRequest', async (req, reply) => {
    const rid = randomUUID();
    requestIds.set(req, rid);
    reply.header('request-id', rid);
    reply.header('client-request-id', clientRequestId(req) ?? rid);
  });

  app.setErrorHandler((err: FastifyError | GraphErrorReply | Error, req, reply) => {
    if (err instanceof GraphErrorReply) return sendGraphError(req, reply, err);
    if (isMediabotError(err)) return sendGraphError(req, reply, new GraphErrorReply(400, err.code, err.message));
    const status = (err as FastifyError).statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      return sendGraphError(req, reply, new GraphErrorReply(status, status === 415 ? 'UnsupportedMediaType' : 'BadRequest', err.message));
    }
    logger.error({ err, url: req.url }, 'emulator internal error');
    return sendGraphError(req, reply, new GraphErrorReply(500, 'generalException', 'An unexpected error occurred in the emulator.'));
  });
  app.setNotFoundHandler((req, reply) => {
    const graph = /^\/(v1\.0|beta)\//.test(req.url);
    return sendGraphError(req, reply, graph ? new GraphErrorReply(400, 'BadRequest', `Resource not found for the segment '${req.url.split('?')[0]!.split('/')[2] ?? ''}'.`) : new GraphErrorReply(404, 'NotFound', 'No such endpoint.'));
  });

  // Faults on the identity endpoints (only rules naming their path), answered the way Entra ID does.
  app.addHook('onRequest', async (req, reply) => {
    const path = req.url.split('?')[0]!;
    if (/^\/(v1\.0|beta|_emulator|callback)(\/|$)/.test(path)) return undefined;
    const fault = faults.take(req.method, path, false);
    if (!fault) return undefined;
    if (fault.status === 429 || fault.status === 503) reply.header('retry-after', String(fault.retryAfterSeconds));
    await reply.code(fault.status).send({
      error: fault.status === 429 ? 'too_many_requests' : 'temporarily_unavailable',
      error_description: `AADSTS50196: The server is ${fault.status === 429 ? 'throttling this client' : 'temporarily unavailable'} (injected fault).`,
      error_codes: [50196],
      timestamp: new Date().toISOString(),
      trace_id: requestIds.get(req) ?? randomUUID(),
      correlation_id: randomUUID(),
    });
    return reply;
  });
  identity.register(app);

  const callDetails = (call: EmuCall): Json => ({
    id: call.id,
    tenantId: call.tenantId,
    state: call.state,
    kind: call.kind,
    direction: call.direction,
    appHostedMedia: call.appHostedMedia,
    meetingId: call.meetingId ?? null,
    establishedAt: call.establishedAt?.toISOString() ?? null,
    endedAt: call.endedAt?.toISOString() ?? null,
    resultInfo: call.resultInfo,
    participants: [...call.participants.values()].map((p) => ({ id: p.id, kind: p.kind, displayName: p.displayName, sourceId: p.sourceId, isMuted: p.isMuted, onHold: p.onHold })),
    departed: call.departed.map((p) => ({ id: p.id, displayName: p.displayName })),
    operations: [...call.operations.values()].map((o) => ({ id: o.id, type: o.type, status: o.status })),
    notificationsQueued: call.notificationsQueued,
    recordingStatus: call.recordingStatus,
    script: engine.scripts.get(call.id) ?? [],
    media: call.media ? call.media.stats() : null,
  });

  const stats = (): EmulatorStats => ({
    tokenRequests: identity.tokenRequests,
    tokensIssued: identity.tokensIssued,
    graphRequests,
    notifications: { ...notifier.stats },
    calls: { active: engine.calls.size, ended: engine.ended.size },
    meetings: meetings.all().length,
    subscriptions: subscriptions.list().length,
  });

  const controlToken = randomBytes(24).toString('base64url');
  registerControlRoutes(app, { engine, meetings, faults, subscriptions, signer, baseUrl, graphUrl: baseUrl, stats: () => ({ ...stats() }), callDetails, controlToken });

  for (const version of ['v1.0', 'beta'] as const) {
    await app.register(
      async (graph) => {
        graph.addHook('onRequest', async (req, reply) => {
          graphRequests += 1;
          const path = req.url.split('?')[0]!;
          const fault = faults.take(req.method, path);
          if (fault) {
            const headers: Record<string, string> = {};
            if (fault.status === 429 || fault.status === 503) headers['retry-after'] = String(fault.retryAfterSeconds);
            const extra = fault.status === 429 ? { code: '429', status: '429', message: 'Please retry after' } : {};
            await sendGraphError(req, reply, new GraphErrorReply(fault.status, faultErrorCode(fault.status), fault.status === 429 ? 'Please retry again later.' : 'The service is temporarily unavailable.', headers), extra);
            return reply;
          }
          const auth = req.headers.authorization;
          const token = typeof auth === 'string' && /^Bearer\s+/i.test(auth) ? auth.replace(/^Bearer\s+/i, '').trim() : '';
          if (token === '') {
            await sendGraphError(req, reply, new GraphErrorReply(401, 'InvalidAuthenticationToken', 'Access token is empty.', { 'www-authenticate': 'Bearer realm=""' }));
            return reply;
          }
          const who = await identity.verify(token);
          if ('error' in who) {
            await sendGraphError(req, reply, new GraphErrorReply(401, 'InvalidAuthenticationToken', `Access token validation failure. ${who.error}`, { 'www-authenticate': 'Bearer realm="", error="invalid_token"' }));
            return reply;
          }
          if (!identity.tenants.includes(who.tenantId)) {
            await sendGraphError(req, reply, new GraphErrorReply(401, 'InvalidAuthenticationToken', 'Access token is from another tenant.'));
            return reply;
          }
          // Graph answers /me without a signed-in user (an application token) with this 400.
          if (who.userId === undefined && /^\/(v1\.0|beta)\/me(\/|$)/i.test(path)) {
            await sendGraphError(req, reply, new GraphErrorReply(400, 'BadRequest', '/me request is only valid with delegated authentication flow.'));
            return reply;
          }
          setIdentity(req, who);
          return undefined;
        });
        registerCallRoutes(graph, engine, baseUrl, version, 'communications/calls');
        registerCallRoutes(graph, engine, baseUrl, version, 'app/calls');
        registerMeetingRoutes(graph, meetings, baseUrl, artifacts);
        registerArtifactRoutes(graph, meetings, artifacts, baseUrl);
        registerPresenceRoutes(graph, presence, baseUrl);
        registerCallRecordRoutes(graph, records, baseUrl);
        registerSubscriptionRoutes(graph, subscriptions, baseUrl);
      },
      { prefix: `/${version}` },
    );
  }
  await app.ready();
  logger.info({ baseUrl }, 'Graph emulator listening');

  let closed = false;
  return {
    baseUrl,
    graphUrl: baseUrl,
    authorityUrl: baseUrl,
    callbackOpenIdUrl: `${baseUrl}/callback/.well-known/OpenIdConfiguration`,
    authorityMetadata: JSON.stringify(identity.openIdConfiguration()),
    knownAuthority: `${host}:${port}`,
    caPem: tls.caPem,
    controlToken,
    tenantId: opts.tenantId,
    tenants: identity.tenants,
    clientId: opts.clientId,
    port,
    delegatedToken: (userId, scopes = ['Presence.Read.All', 'Presence.ReadWrite', 'OnlineMeetings.ReadWrite'], tenantId = opts.tenantId) =>
      identity.issueDelegated(userId, scopes, tenantId),
    script: DEFAULT_SCRIPT,
    createMeeting(input = {}) {
      const m = meetings.create(input);
      return { ...meetingResource(m, baseUrl, m.organizerId), id: m.id, joinWebUrl: m.joinWebUrl };
    },
    placeIncomingCall(o) {
      return engine.lifecycle.placeIncoming(o).id;
    },
    startContentSharing(callId) {
      return engine.extras.startSharing(engine.get(callId));
    },
    stopContentSharing(callId, sessionId) {
      return engine.extras.stopSharing(engine.get(callId), sessionId);
    },
    deviceQualityReports: () => [...engine.extras.deviceQuality],
    admit(callId) {
      engine.lifecycle.admit(engine.get(callId));
    },
    sendTone(callId, tone) {
      const call = engine.calls.get(callId);
      return call ? engine.operations.sendTone(call, tone) : false;
    },
    callDetails(callId) {
      const call = engine.calls.get(callId) ?? engine.ended.get(callId);
      return call ? callDetails(call) : undefined;
    },
    sendLifecycleEvent(subscriptionId, event) {
      return subscriptions.lifecycle(subscriptionId, event);
    },
    injectFault(rule) {
      faults.add(parseFaultRule(rule));
    },
    clearFaults() {
      faults.clear();
    },
    stats,
    async attachBridgeSidecar(o) {
      ctx.bridgeSidecar?.close();
      ctx.bridgeSidecar = await EmulatorBridgeSidecar.connect({ ...o, logger: logger.child({ component: 'emulator-sidecar' }) });
      return ctx.bridgeSidecar;
    },
    drainNotifications: () => notifier.drain(),
    async close() {
      if (closed) return;
      closed = true;
      ctx.bridgeSidecar?.close();
      ctx.bridgeSidecar = null;
      engine.close();
      subscriptions.close();
      notifier.close();
      await app.close();
      httpsServer.closeAllConnections();
      await new Promise<void>((resolve) => httpsServer.close(() => resolve()));
    },
  };
}
