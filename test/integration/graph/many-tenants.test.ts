/**
 * One bot, two customer tenants at once: the emulator serves tenants A and B; the client joins a
 * meeting in each concurrently (the tenant from the join URL's Tid), acquires and caches a token
 * per tenant, routes every later request about a call to its tenant, and the callback guard
 * accepts only configured tenants (or every consenting one with `*`) and teaches the client the
 * tenant of incoming calls.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGraphFromConfig, mediaPrompt, serviceHostedMediaConfig, type GraphBundle } from '../../../src/graph/index.js';
import { loadConfig } from '../../../src/config/config.js';
import { CallbackGuard } from '../../../src/signaling/callback-guard.js';
import { CallbackTokenValidator } from '../../../src/signaling/jwt.js';
import { parseCallNotifications } from '../../../src/signaling/notifications.js';
import { startRecorder, type RecorderServer, type Recorded } from './recorder.js';
import { CLIENT_ID, SECRET, TENANT as TENANT_A, emulatorWithClient, failure, untilEstablished } from './emulator-bundle.js';

const TENANT_B = 'b2b2b2b2-0000-4000-8000-00000000000b';

let env: Awaited<ReturnType<typeof emulatorWithClient>>;
let callbacks: RecorderServer;
let validator: CallbackTokenValidator;

beforeAll(async () => {
  env = await emulatorWithClient({ otherTenants: [TENANT_B] });
  callbacks = await startRecorder(() => ({ status: 202 }));
  validator = new CallbackTokenValidator({ openIdConfigUrl: env.emulator.callbackOpenIdUrl, audience: CLIENT_ID, caPem: env.emulator.caPem });
});

afterAll(async () => {
  await env?.close();
  await callbacks?.close();
});

function freshBundle(): GraphBundle {
  const cfg = loadConfig({
    MEDIABOT_TENANT_ID: TENANT_A,
    MEDIABOT_CLIENT_ID: CLIENT_ID,
    MEDIABOT_CLIENT_SECRET: SECRET,
    MEDIABOT_API_TOKEN: 'graph-test-api-token-0123456789abcdef',
    MEDIABOT_GRAPH_URL: env.emulator.graphUrl,
    MEDIABOT_AUTHORITY_URL: env.emulator.authorityUrl,
    MEDIABOT_TENANTS: '*',
  });
  return createGraphFromConfig(cfg, { caPem: env.emulator.caPem });
}

async function callbacksAbout(callId: string, min = 1): Promise<Recorded[]> {
  for (let i = 0; i < 200; i++) {
    const got = callbacks.requests.filter((r) => JSON.stringify(r.body).includes(callId));
    if (got.length >= min) return got;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no callback about ${callId}`);
}

describe('many tenants', () => {
  it('joins meetings in two tenants at once, with a cached token per tenant, and acts on each call with its tenant', async () => {
    const { graph, tokens } = env.bundle;
    const meetingA = env.emulator.createMeeting({ people: 1 });
    const meetingB = env.emulator.createMeeting({ people: 1, tenantId: TENANT_B });
    const [callA, callB] = await Promise.all(
      [meetingA, meetingB].map((m) => graph.calls.joinMeeting({ callbackUri: `${callbacks.url}/api/calling`, joinWebUrl: m.joinWebUrl, mediaConfig: serviceHostedMediaConfig() })),
    );
    expect(callA!.tenantId).toBe(TENANT_A);
    expect(callB!.tenantId).toBe(TENANT_B);
    await Promise.all([untilEstablished(graph, callA!.id!), untilEstablished(graph, callB!.id!)]);
    expect(env.emulator.callDetails(callA!.id!)).toMatchObject({ tenantId: TENANT_A, state: 'established' });
    expect(env.emulator.callDetails(callB!.id!)).toMatchObject({ tenantId: TENANT_B, state: 'established' });
    await Promise.all([callA, callB].map((c) => graph.calls.playPrompt(c!.id!, { clientContext: 'x', prompts: [mediaPrompt('https://cdn.example.test/a.wav')] })));
    expect([...tokens.tenants].sort()).toEqual([TENANT_A, TENANT_B].sort());
    // One token per tenant, however many requests: the caches are per tenant.
    expect(env.emulator.stats().tokensIssued).toBe(2);
    expect(env.bundle.callTenants.tenantOf(callB!.id!)).toBe(TENANT_B);

    // A token of the wrong tenant is refused as Graph does, and the error says what to do.
    const wrong = await failure(graph.forTenant(TENANT_A).calls.get(callB!.id!));
    expect(wrong).toMatchObject({ status: 403, graphCode: '7505' });
    expect(wrong.hint).toMatch(/call's tenant/);

    // Callbacks: the token names each call's tenant; the guard accepts configured tenants only.
    const onlyA = new CallbackGuard({ tenants: [TENANT_A] });
    const any = new CallbackGuard({ tenants: ['*'] });
    for (const [call, tenant] of [[callA!, TENANT_A], [callB!, TENANT_B]] as const) {
      const [cb] = await callbacksAbout(call.id!);
      const claims = await validator.verify(cb!.headers.authorization);
      expect(claims.tenantId).toBe(tenant);
      const token = cb!.headers.authorization!.replace(/^Bearer /, '');
      const items = parseCallNotifications(cb!.body);
      expect(onlyA.check(claims, token, items).refused).toBe(tenant === TENANT_A ? null : 'tenant');
      expect(any.check(claims, token, items).refused).toBeNull();
    }
    await Promise.all([callA, callB].map((c) => graph.calls.delete(c!.id!)));
  });

  it('an incoming call in another tenant: its callback teaches the client the tenant, so answering uses that tenant', async () => {
    const bundle = freshBundle();
    try {
      const callId = env.emulator.placeIncomingCall({ callbackUri: `${callbacks.url}/api/calling`, tenantId: TENANT_B });
      const [cb] = await callbacksAbout(callId);
      const answer = () =>
        bundle.graph.calls.answer(callId, { callbackUri: `${callbacks.url}/api/calling`, acceptedModalities: ['audio'], mediaConfig: serviceHostedMediaConfig() });
      // Not yet known: the home tenant's token is refused for this call.
      expect(await failure(answer())).toMatchObject({ graphCode: '7505' });
      const claims = await validator.verify(cb!.headers.authorization);
      const guard = new CallbackGuard({ tenants: ['*'], callTenants: bundle.callTenants });
      const verdict = guard.check(claims, cb!.headers.authorization!.replace(/^Bearer /, ''), parseCallNotifications(cb!.body));
      expect(verdict.accepted.map((i) => i.kind)).toEqual(['incomingCall']);
      expect(bundle.callTenants.tenantOf(callId)).toBe(TENANT_B);
      expect((await answer()).status).toBe(202);
      await untilEstablished(bundle.graph, callId);
      expect(bundle.tokens.tenants).toContain(TENANT_B);
      await bundle.graph.calls.delete(callId);
    } finally {
      bundle.http.close();
    }
  });

  it('a tenant the app is not registered in gets no token (the authority refuses it)', async () => {
    const e = await failure(env.bundle.graph.forTenant('c3c3c3c3-0000-4000-8000-00000000000c').calls.get('x'));
    expect(e).toMatchObject({ code: 'MEDIABOT_GRAPH_AUTH' });
    expect(e.message).toMatch(/90002|not found/);
    expect(e.hint).toContain('adminconsent');
  });
});
