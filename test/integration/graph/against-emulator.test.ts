/**
 * The outbound client end to end against the embedded Graph emulator (HTTPS with its own CA):
 * msal token from the emulator's identity, meeting join by joinWebUrl, in-call actions, roster,
 * throttling with Retry-After injected by the emulator, hang-up. Same code path as production;
 * only the base URLs and the trusted CA differ.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmulator, type Emulator } from '../../../testing/emulator/index.js';
import { createGraphFromConfig, mediaPrompt, serviceHostedMediaConfig, type GraphBundle } from '../../../src/graph/index.js';
import { loadConfig } from '../../../src/config/config.js';
import { startRecorder, type RecorderServer } from './recorder.js';

const TENANT = '0f0e0d0c-0b0a-4909-8807-060504030201';
const CLIENT_ID = '1a2b3c4d-5e6f-4a0b-9c8d-7e6f5a4b3c2d';
const SECRET = 'graph-client-test-secret';

let emulator: Emulator;
let callbacks: RecorderServer;
let bundle: GraphBundle;

beforeAll(async () => {
  emulator = await createEmulator({ tenantId: TENANT, clientId: CLIENT_ID, clientSecret: SECRET });
  callbacks = await startRecorder(() => ({ status: 202 }));
  const cfg = loadConfig({
    MEDIABOT_TENANT_ID: TENANT,
    MEDIABOT_CLIENT_ID: CLIENT_ID,
    MEDIABOT_CLIENT_SECRET: SECRET,
    // Graph credentials make the worker reachable: config demands an API token.
    MEDIABOT_API_TOKEN: 'graph-test-api-token-0123456789abcdef',
    MEDIABOT_GRAPH_URL: emulator.graphUrl,
    MEDIABOT_AUTHORITY_URL: emulator.authorityUrl,
  });
  bundle = createGraphFromConfig(cfg, { caPem: emulator.caPem, retry: { baseDelayMs: 50, maxDelayMs: 200 } });
});

afterAll(async () => {
  bundle?.http.close();
  await emulator?.close();
  await callbacks?.close();
});

describe('Graph client against the emulator', () => {
  it('joins a meeting by its joinWebUrl, plays a prompt, reads the roster, survives throttling and hangs up', async () => {
    const { graph, tokens } = bundle;
    const meeting = emulator.createMeeting();
    const call = await graph.calls.joinMeeting({
      callbackUri: `${callbacks.url}/api/calling`,
      joinWebUrl: meeting.joinWebUrl,
      mediaConfig: serviceHostedMediaConfig(),
    });
    expect(typeof call.id).toBe('string');
    const callId = call.id!;

    // In-call actions need an established call (a bot learns it from the callback; here we poll).
    let state = call.state;
    for (let i = 0; i < 100 && state !== 'established'; i++) {
      await new Promise((r) => setTimeout(r, 50));
      const got = await graph.calls.get(callId);
      expect(got.id).toBe(callId);
      state = got.state;
    }
    expect(state).toBe('established');

    const played = await graph.calls.playPrompt(callId, { clientContext: 'ctx-1', prompts: [mediaPrompt('https://cdn.example.test/beep.wav')] });
    expect([200, 202]).toContain(played.status);
    expect(played.operationId).toBeTruthy();

    emulator.injectFault({ status: 429, count: 1, retryAfterSeconds: 1, pathContains: '/participants' });
    const t0 = performance.now();
    const roster = await graph.participants.list(callId);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(990);
    expect(Array.isArray(roster.value)).toBe(true);

    const ended = await graph.calls.delete(callId);
    expect(ended.status).toBe(204);
    expect(tokens.stats.tokenRequests).toBe(1);
    expect(emulator.stats().tokenRequests).toBe(1);
  });

  it('maps an unknown call to MEDIABOT_GRAPH_HTTP 404 with Graph error code and request id', async () => {
    const err = await bundle.graph.calls.get('00000000-0000-4000-8000-000000000000').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'MEDIABOT_GRAPH_HTTP', status: 404, retryable: false });
    expect((err as { requestId?: string }).requestId).toBeTruthy();
    expect((err as { graphCode?: string }).graphCode).toBeTruthy();
  });
});
