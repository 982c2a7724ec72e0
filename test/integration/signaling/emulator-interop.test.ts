import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmulator, type Emulator } from '../../../testing/emulator/index.js';
import { CallbackTokenValidator } from '../../../src/signaling/jwt.js';
import { eventually, startBot, type Bot } from './helpers.js';

const CLIENT_ID = '6b2a1c55-3f1e-4c7e-9a59-0d2f1f3b7c11';

/** The embedded emulator signs its callbacks with its own JWKS over HTTPS with its own CA. */
describe('callbacks from the embedded Graph emulator', () => {
  let emulator: Emulator;
  let bot: Bot;

  beforeAll(async () => {
    emulator = await createEmulator({ tenantId: '8f7c1a2e-1111-4c3b-9d5e-3a2b1c0d9e8f', clientId: CLIENT_ID, clientSecret: 'emulator-secret' });
    const validator = new CallbackTokenValidator({ openIdConfigUrl: emulator.callbackOpenIdUrl, audience: CLIENT_ID, caPem: emulator.caPem });
    bot = await startBot({ openIdUrl: emulator.callbackOpenIdUrl, validator });
  });
  afterAll(async () => {
    await bot?.close();
    await emulator?.close();
  });

  it('an incoming call passes JWT validation, is parsed, registered and answered', async () => {
    const callId = emulator.placeIncomingCall({ callbackUri: `${bot.baseUrl}/api/calling`, from: { displayName: 'Ada' } });
    await emulator.drainNotifications();
    await eventually(() => expect(bot.port.of('answer').map((c) => c.callId)).toContain(callId));
    const call = bot.signaling.registry.get(callId);
    expect(call?.state).toBe('incoming');
    expect(call?.incoming?.source?.identity?.displayName).toBe('Ada');
    expect(await bot.metrics.registry.getSingleMetricAsString('mediabot_auth_failures_total')).not.toMatch(/reason="[a-z_]+"\} [1-9]/);
    expect(bot.validator.jwksFetches).toBe(1);
  });
});
