import type { FastifyInstance } from 'fastify';
import { timingSafeEqual } from 'node:crypto';
import { isMediabotError } from '../../../src/errors.js';
import { secretsEqual } from '../../../src/signaling/secrets.js';
import type { CallEngine } from '../call-engine.js';
import { meetingResource } from '../builders.js';
import type { CallbackSigner } from '../callback-signer.js';
import { CALLBACK_ISSUER } from '../callback-signer.js';
import { FaultInjector, parseFaultRule } from '../faults.js';
import { badRequest, GraphErrorReply, notFound } from '../graph-error.js';
import type { CreateMeetingInput, MeetingStore } from '../meetings.js';
import { END_REASONS, type EmuCall, type Json } from '../state.js';
import { LIFECYCLE_EVENTS, type LifecycleEvent, type SubscriptionStore } from '../subscriptions.js';

export interface ControlDeps {
  engine: CallEngine;
  meetings: MeetingStore;
  faults: FaultInjector;
  subscriptions: SubscriptionStore;
  signer: CallbackSigner;
  baseUrl: string;
  graphUrl: string;
  stats: () => Json;
  callDetails: (call: EmuCall) => Json;
  /** The per-process secret every /_emulator/* request but recordings must present as a bearer token. */
  controlToken: string;
}

/** recordResponse audio is fetched with its own recordingAccessToken, as from Graph. */
const OPEN_CONTROL_ROUTES = new Set(['/_emulator/recordings/:id']);

function asObject(body: unknown): Json {
  if (body === undefined) return {};
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('Request body must be a JSON object.');
  return body as Json;
}

/**
 * The emulator's own control plane (/_emulator/...) and the callback-signing key discovery. The
 * control plane makes the emulator sign callbacks to any URL, so it needs the process's token.
 */
export function registerControlRoutes(app: FastifyInstance, d: ControlDeps): void {
  app.addHook('onRequest', async (req) => {
    const route = req.routeOptions.url;
    if (route === undefined || !route.startsWith('/_emulator/') || OPEN_CONTROL_ROUTES.has(route)) return;
    const auth = req.headers.authorization;
    const given = typeof auth === 'string' && /^Bearer\s+/i.test(auth) ? auth.replace(/^Bearer\s+/i, '').trim() : undefined;
    if (!secretsEqual(d.controlToken, given)) {
      throw new GraphErrorReply(401, 'InvalidAuthenticationToken', 'The emulator control API needs the emulator\'s control token as a bearer token.', { 'www-authenticate': 'Bearer realm="emulator-control"' });
    }
  });
  app.get('/callback/.well-known/OpenIdConfiguration', async () => ({
    issuer: CALLBACK_ISSUER,
    authorization_endpoint: `${d.baseUrl}/callback/authorize`,
    jwks_uri: `${d.baseUrl}/callback/keys`,
    id_token_signing_alg_values_supported: ['RS256'],
    token_endpoint_auth_methods_supported: ['private_key_jwt'],
  }));
  app.get('/callback/keys', async () => d.signer.jwks());

  app.get('/_emulator/stats', async () => d.stats());

  app.get('/_emulator/faults', async () => ({ value: d.faults.list() }));
  app.post('/_emulator/faults', async (req, reply) => {
    try {
      const rule = d.faults.add(parseFaultRule(req.body));
      return reply.code(201).send(rule);
    } catch (err) {
      if (isMediabotError(err)) throw new GraphErrorReply(400, err.code, err.message);
      throw err;
    }
  });
  app.delete('/_emulator/faults', async (_req, reply) => {
    d.faults.clear();
    return reply.code(204).send();
  });

  const findCall = (id: string): EmuCall => {
    const c = d.engine.calls.get(id) ?? d.engine.ended.get(id);
    if (!c) throw notFound(`Call '${id}' not found.`);
    return c;
  };
  app.get('/_emulator/calls', async () => ({
    value: [...d.engine.calls.values(), ...d.engine.ended.values()].map((c) => ({ id: c.id, state: c.state, kind: c.kind, direction: c.direction })),
  }));
  app.get<{ Params: { id: string } }>('/_emulator/calls/:id', async (req) => d.callDetails(findCall(req.params.id)));
  app.post<{ Params: { id: string } }>('/_emulator/calls/:id/tones', async (req) => {
    const tone = asObject(req.body)['tone'];
    if (typeof tone !== 'string') throw badRequest('tone is required (tone0..tone9, star, pound).');
    return { delivered: d.engine.operations.sendTone(d.engine.get(req.params.id), tone) };
  });
  app.post<{ Params: { id: string } }>('/_emulator/calls/:id/hangUp', async (req, reply) => {
    const call = d.engine.get(req.params.id);
    d.engine.terminate(call, call.kind === 'peerToPeer' ? (call.pstnNumber ? END_REASONS.pstnUserEnded : END_REASONS.otherPartyEndedP2P) : END_REASONS.conversationEnded);
    return reply.code(204).send();
  });

  app.post<{ Params: { id: string } }>('/_emulator/calls/:id/admit', async (req, reply) => {
    d.engine.lifecycle.admit(d.engine.get(req.params.id));
    return reply.code(204).send();
  });

  app.post<{ Params: { id: string } }>('/_emulator/subscriptions/:id/lifecycle', async (req) => {
    const event = asObject(req.body)['lifecycleEvent'];
    if (typeof event !== 'string' || !LIFECYCLE_EVENTS.includes(event as LifecycleEvent)) throw badRequest(`lifecycleEvent must be one of ${LIFECYCLE_EVENTS.join(', ')}.`);
    d.subscriptions.get(req.params.id);
    return { sent: d.subscriptions.lifecycle(req.params.id, event as LifecycleEvent) };
  });

  app.post('/_emulator/incomingCalls', async (req, reply) => {
    const b = asObject(req.body);
    const cb = b['callbackUri'];
    if (typeof cb !== 'string') throw badRequest('callbackUri is required.');
    const from = typeof b['from'] === 'object' && b['from'] !== null ? (b['from'] as { id?: string; displayName?: string; phone?: string }) : undefined;
    const call = d.engine.lifecycle.placeIncoming({ callbackUri: cb, ...(from ? { from } : {}), ...(b['policyBasedRecording'] === true ? { policyBasedRecording: true } : {}), ...(typeof b['tenantId'] === 'string' ? { tenantId: b['tenantId'] } : {}) });
    return reply.code(201).send({ id: call.id });
  });

  app.post('/_emulator/meetings', async (req, reply) => {
    const b = asObject(req.body);
    const input: CreateMeetingInput = {};
    if (typeof b['subject'] === 'string') input.subject = b['subject'];
    if (typeof b['people'] === 'number' || Array.isArray(b['people'])) input.people = b['people'] as CreateMeetingInput['people'] & object;
    if (typeof b['tenantId'] === 'string') input.tenantId = b['tenantId'];
    if (typeof b['endWhenEmpty'] === 'boolean') input.endWhenEmpty = b['endWhenEmpty'];
    if (typeof b['passcodeRequired'] === 'boolean') input.passcodeRequired = b['passcodeRequired'];
    if (typeof b['lobby'] === 'boolean') input.lobby = b['lobby'];
    const m = d.meetings.create(input);
    return reply.code(201).send({ ...meetingResource(m, d.graphUrl, m.organizerId), people: m.people });
  });
  // The meeting ends for everyone: each bot call in it is terminated as when the organizer ends a Teams meeting.
  app.post<{ Params: { id: string } }>('/_emulator/meetings/:id/end', async (req) => {
    const m = d.meetings.get(req.params.id);
    if (!m) throw notFound(`Meeting '${req.params.id}' not found.`);
    const calls = [...d.engine.calls.values()].filter((c) => c.meetingId === m.id);
    for (const c of calls) d.engine.terminate(c, END_REASONS.conversationEnded);
    return { ended: calls.map((c) => c.id) };
  });
  app.get<{ Params: { id: string } }>('/_emulator/meetings/:id', async (req) => {
    const m = d.meetings.get(req.params.id);
    if (!m) throw notFound(`Meeting '${req.params.id}' not found.`);
    return { ...meetingResource(m, d.graphUrl, m.organizerId), people: m.people };
  });

  app.get<{ Params: { id: string } }>('/_emulator/recordings/:id', async (req, reply) => {
    const rec = d.engine.recordings.get(req.params.id);
    if (!rec) throw notFound('Recording not found.');
    const auth = req.headers.authorization ?? '';
    const given = Buffer.from(auth.replace(/^Bearer\s+/i, ''));
    const want = Buffer.from(rec.token);
    if (given.length !== want.length || !timingSafeEqual(given, want)) {
      throw new GraphErrorReply(401, 'InvalidAuthenticationToken', 'The recordingAccessToken is missing or wrong.');
    }
    return reply.code(200).header('content-type', 'audio/wav').send(rec.wav);
  });
}
