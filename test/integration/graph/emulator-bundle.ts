/** A Graph client (the production code path) pointed at an emulator, and a callback recorder. */
import { createEmulator, type Emulator, type EmulatorOptions } from '../../../testing/emulator/index.js';
import { createGraphFromConfig, type GraphBundle, type GraphClient } from '../../../src/graph/index.js';
import { loadConfig } from '../../../src/config/config.js';

export const TENANT = '0f0e0d0c-0b0a-4909-8807-060504030201';
export const CLIENT_ID = '1a2b3c4d-5e6f-4a0b-9c8d-7e6f5a4b3c2d';
export const SECRET = 'graph-client-test-secret';

export const FAST = { establishMs: 30, answerMs: 60, defaultPromptMs: 100, toneMs: 20, callRecordDelayMs: 50, emptyGraceMs: 200, joinStaggerMs: 50 };

export async function emulatorWithClient(extra: Partial<EmulatorOptions> = {}): Promise<{ emulator: Emulator; bundle: GraphBundle; close: () => Promise<void> }> {
  const emulator = await createEmulator({ tenantId: TENANT, clientId: CLIENT_ID, clientSecret: SECRET, timing: FAST, ...extra });
  const cfg = loadConfig({
    MEDIABOT_TENANT_ID: TENANT,
    MEDIABOT_CLIENT_ID: CLIENT_ID,
    MEDIABOT_CLIENT_SECRET: SECRET,
    MEDIABOT_API_TOKEN: 'graph-test-api-token-0123456789abcdef',
    MEDIABOT_GRAPH_URL: emulator.graphUrl,
    MEDIABOT_AUTHORITY_URL: emulator.authorityUrl,
  });
  const bundle = createGraphFromConfig(cfg, { caPem: emulator.caPem, retry: { baseDelayMs: 20, maxDelayMs: 100 } });
  return {
    emulator,
    bundle,
    close: async () => {
      bundle.http.close();
      await emulator.close();
    },
  };
}

/** Polls GET call until it is established (a bot learns it from the callback; tests poll). */
export async function untilEstablished(graph: GraphClient, callId: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if ((await graph.calls.get(callId)).state === 'established') return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`call ${callId} never got established`);
}

/** The rejection of a promise that must fail. */
export async function failure(p: Promise<unknown>): Promise<any> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a failure');
}
