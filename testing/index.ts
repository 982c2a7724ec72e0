/**
 * `mediabot/testing`: run a bot with no Microsoft tenant. The Graph emulator plays Microsoft's part
 * (tokens, calls, meetings with simulated people speaking over RTP or through a media sidecar,
 * signed callbacks), the bridge peer plays a media sidecar, and WER scores transcripts.
 *
 *   const graph = await startGraphEmulator();
 *   const bot = await createMediabot(loadConfig({ ...graph.env, MEDIABOT_PORT: '0' }), { caPem: graph.caPem });
 *   await bot.listen();
 *   const meeting = graph.emulator.createMeeting({ people: 2 });
 *   await bot.calls.join({ joinWebUrl: meeting.joinWebUrl });
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createEmulator, type Emulator, type EmulatorOptions } from './emulator/index.js';

export * from './emulator/index.js';
export { startBridgeSimulator, type BridgeSimOptions, type BridgeSimReport, type BridgeSimSpeaker, type BridgeSimulator } from './bridge-peer.js';
export { editDistance, wer, words } from '../src/util/wer.js';

export interface GraphEmulator {
  emulator: Emulator;
  /**
   * MEDIABOT_* variables pointing mediabot at the emulator (tenant, app credentials, Graph, authority,
   * callback keys), and a fresh MEDIABOT_API_TOKEN (a mediabot with Graph credentials counts as
   * reachable from outside, so it needs one): spread them into loadConfig().
   */
  env: Record<string, string>;
  /** The emulator's CA: pass it as `createMediabot(config, { caPem })` so its HTTPS is trusted. */
  caPem: string;
  close(): Promise<void>;
}

/**
 * Starts a Graph emulator with fresh credentials. A mediabot configured from `env` talks to it
 * exactly as it talks to Microsoft: only the base URLs and the trusted CA differ.
 */
export async function startGraphEmulator(options: Partial<EmulatorOptions> = {}): Promise<GraphEmulator> {
  const clientSecret = options.clientSecret ?? randomBytes(24).toString('base64url');
  const emulator = await createEmulator({ ...options, tenantId: options.tenantId ?? randomUUID(), clientId: options.clientId ?? randomUUID(), clientSecret });
  return {
    emulator,
    env: {
      MEDIABOT_TENANT_ID: emulator.tenantId,
      MEDIABOT_CLIENT_ID: emulator.clientId,
      MEDIABOT_CLIENT_SECRET: clientSecret,
      MEDIABOT_GRAPH_URL: emulator.graphUrl,
      MEDIABOT_AUTHORITY_URL: emulator.authorityUrl,
      MEDIABOT_CALLBACK_OPENID_URL: emulator.callbackOpenIdUrl,
      MEDIABOT_API_TOKEN: randomBytes(32).toString('base64url'),
    },
    caPem: emulator.caPem,
    close: () => emulator.close(),
  };
}
