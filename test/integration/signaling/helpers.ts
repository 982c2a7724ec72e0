import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from 'jose';
import { pino } from 'pino';
import type { FastifyInstance } from 'fastify';
import { EventBus } from '../../../src/events/bus.js';
import type { Logger } from '../../../src/logger.js';
import { buildServer, type ServerDeps } from '../../../src/server/app.js';
import { createMetrics, type Metrics } from '../../../src/server/metrics.js';
import { Readiness } from '../../../src/server/readiness.js';
import type { IncomingCallPolicy } from '../../../src/signaling/incoming.js';
import { CallbackTokenValidator } from '../../../src/signaling/jwt.js';
import type { CallOperationsPort, OperationHandle } from '../../../src/signaling/ports.js';
import { createSignaling, type Signaling } from '../../../src/signaling/signaling.js';

export const CLIENT_ID = '0efc74f7-41c3-47a4-8775-7259bfef4241';
export const TENANT_ID = '1fdd12d0-4620-44ed-baec-459b611f84b2';

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
}

export async function newSigningKey(kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  return { kid, privateKey, publicKey };
}

/** A real HTTP server publishing an OpenID configuration and a JWKS, counting fetches. */
export interface KeyServer {
  openIdUrl: string;
  keys: SigningKey[];
  jwksFetches: number;
  close(): Promise<void>;
}

export async function startKeyServer(keys: SigningKey[], tls?: { key: string; cert: string }, issuer = 'https://api.botframework.com'): Promise<KeyServer> {
  const state: KeyServer = { openIdUrl: '', keys, jwksFetches: 0, close: async () => {} };
  const scheme = tls ? 'https' : 'http';
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    void (async () => {
      const base = `${scheme}://127.0.0.1:${(server.address() as AddressInfo).port}`;
      if (req.url === '/.well-known/OpenIdConfiguration') {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ issuer, jwks_uri: `${base}/keys`, id_token_signing_alg_values_supported: ['RS256'] }));
      } else if (req.url === '/keys') {
        state.jwksFetches++;
        const jwks = await Promise.all(state.keys.map(async (k) => ({ ...(await exportJWK(k.publicKey)), kid: k.kid, use: 'sig' })));
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ keys: jwks }));
      } else {
        res.statusCode = 404;
        res.end();
      }
    })();
  };
  const server: Server = tls ? createHttpsServer(tls, handler) : createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.openIdUrl = `${scheme}://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/OpenIdConfiguration`;
  state.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return state;
}

export async function signToken(key: SigningKey, claims: JWTPayload = {}, opts: { omit?: string[]; kid?: string | null } = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const payload: JWTPayload = { aud: CLIENT_ID, iss: 'https://api.botframework.com', iat: now, nbf: now, exp: now + 3600, tid: TENANT_ID, ...claims };
  for (const k of opts.omit ?? []) delete payload[k];
  const kid = opts.kid === undefined ? key.kid : opts.kid;
  return new SignJWT(payload).setProtectedHeader({ alg: 'RS256', typ: 'JWT', ...(kid !== null ? { kid } : {}) }).sign(key.privateKey);
}

/** The outbound Graph calls, recorded; operations answer like Graph (200 + Location, status running). */
export class RecordingCallsPort implements CallOperationsPort {
  readonly calls: Array<{ method: string; callId: string; body?: unknown }> = [];
  private n = 0;
  /** What operation-starting calls return; override per test. */
  handleFor: (method: string, callId: string) => OperationHandle = (_m, callId) => {
    const id = `op-${++this.n}`;
    return { id, status: 'running', location: `https://graph.example/v1.0/communications/calls/${callId}/operations/${id}` };
  };

  private record(method: string, callId: string, body?: unknown): void {
    this.calls.push(body === undefined ? { method, callId } : { method, callId, body });
  }
  of(method: string): Array<{ method: string; callId: string; body?: unknown }> {
    return this.calls.filter((c) => c.method === method);
  }
  async answer(callId: string, body: unknown) { this.record('answer', callId, body); }
  async reject(callId: string, body: unknown) { this.record('reject', callId, body); }
  async redirect(callId: string, body: unknown) { this.record('redirect', callId, body); }
  async keepAlive(callId: string) { this.record('keepAlive', callId); }
  async hangUp(callId: string) { this.record('hangUp', callId); }
  async updateRecordingStatus(callId: string, body: unknown) { this.record('updateRecordingStatus', callId, body); return this.handleFor('updateRecordingStatus', callId); }
  async playPrompt(callId: string, body: unknown) { this.record('playPrompt', callId, body); return this.handleFor('playPrompt', callId); }
  async recordResponse(callId: string, body: unknown) { this.record('recordResponse', callId, body); return this.handleFor('recordResponse', callId); }
  async sendDtmfTones(callId: string, body: unknown) { this.record('sendDtmfTones', callId, body); return this.handleFor('sendDtmfTones', callId); }
  async subscribeToTone(callId: string, body: unknown) { this.record('subscribeToTone', callId, body); return this.handleFor('subscribeToTone', callId); }
  async cancelMediaProcessing(callId: string, body: unknown) { this.record('cancelMediaProcessing', callId, body); return this.handleFor('cancelMediaProcessing', callId); }
}

/** A pino logger writing into memory, to check what was (not) logged. */
export function memoryLogger(opts: { redact?: boolean } = {}): { logger: Logger; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString('utf8'));
      cb();
    },
  });
  const logger = pino({ level: 'debug', ...(opts.redact === false ? {} : { redact: { paths: ['req.headers.authorization'], censor: '[redacted]' } }) }, stream);
  return { logger, text: () => chunks.join('') };
}

export interface Bot {
  baseUrl: string;
  app: FastifyInstance;
  signaling: Signaling;
  port: RecordingCallsPort;
  metrics: Metrics;
  readiness: Readiness;
  validator: CallbackTokenValidator;
  bus: EventBus;
  logText: () => string;
  close(): Promise<void>;
}

export async function startBot(opts: {
  openIdUrl: string;
  apiToken?: string;
  bodyLimit?: number;
  policy?: IncomingCallPolicy;
  keepAliveIntervalMs?: number;
  operationTimeoutMs?: number;
  validator?: CallbackTokenValidator;
  extra?: Partial<ServerDeps>;
  /** Use a logger with no redaction of its own (to prove the server redacts). */
  unredactedLogger?: boolean;
}): Promise<Bot> {
  const { logger, text } = memoryLogger({ redact: opts.unredactedLogger !== true });
  const bus = new EventBus();
  const port = new RecordingCallsPort();
  const metrics = createMetrics({ defaultMetrics: false });
  const readiness = new Readiness();
  const signaling = createSignaling({
    calls: port,
    callbackUri: 'https://bot.example/api/calling',
    bus,
    logger,
    ...(opts.policy ? { policy: opts.policy } : {}),
    ...(opts.keepAliveIntervalMs !== undefined ? { keepAliveIntervalMs: opts.keepAliveIntervalMs } : {}),
    ...(opts.operationTimeoutMs !== undefined ? { operationTimeoutMs: opts.operationTimeoutMs } : {}),
  });
  const validator = opts.validator ?? new CallbackTokenValidator({ openIdConfigUrl: opts.openIdUrl, audience: CLIENT_ID, logger });
  const app = await buildServer({
    logger,
    metrics,
    readiness,
    registry: signaling.registry,
    apiToken: opts.apiToken,
    ...(opts.bodyLimit !== undefined ? { bodyLimit: opts.bodyLimit } : {}),
    calling: { auth: validator, dispatch: (items) => signaling.dispatch(items) },
    ...opts.extra,
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${address.port}`,
    app,
    signaling,
    port,
    metrics,
    readiness,
    validator,
    bus,
    logText: text,
    async close() {
      signaling.close();
      await app.close();
    },
  };
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: unknown; text: string; headers: Headers }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = null;
  }
  return { status: res.status, json, text, headers: res.headers };
}

/** Polls until `check` passes or `timeoutMs` elapses (for work done after a 202). */
export async function eventually(check: () => void | Promise<void>, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (err) {
      if (Date.now() > end) throw err;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}
