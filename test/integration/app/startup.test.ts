/**
 * Composition and listening are separate: createMediabot builds everything and opens no port,
 * listen() opens it, close() releases all of it. Bad hook/transcriber settings stop creation
 * before the first call, and leave nothing behind.
 */
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createMediabot } from '../../../src/app/mediabot.js';
import { silentLogger } from '../../../src/logger.js';
import { testConfig } from './helpers.js';

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

describe('mediabot start-up', () => {
  it('stops with MEDIABOT_CONFIG_INVALID for azure transcription without a key', async () => {
    const err = await createMediabot(testConfig({ MEDIABOT_TRANSCRIBER: 'azure' }), { logger: silentLogger }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'MEDIABOT_CONFIG_INVALID' });
    expect((err as Error).message).toContain('MEDIABOT_AZURE_SPEECH_KEY');
  });

  it('stops with MEDIABOT_CONFIG_INVALID for a hook module that does not exist', async () => {
    const err = await createMediabot(testConfig({ MEDIABOT_HOOKS: './no/such/hook.js' }), { logger: silentLogger }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'MEDIABOT_CONFIG_INVALID' });
  });

  it('stops with MEDIABOT_HOOK_MODULE_INVALID for a hook given in code whose module has no such factory', async () => {
    const hooks = [{ module: new URL('./helpers.ts', import.meta.url).href, export: 'noSuchFactory' }];
    const err = await createMediabot(testConfig(), { logger: silentLogger, hooks }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'MEDIABOT_HOOK_MODULE_INVALID' });
  });

  it('builds the app without listening; listen() opens the port; close() releases it', async () => {
    const bot = await createMediabot(testConfig(), { logger: silentLogger });
    try {
      const port = Number(new URL(bot.url).port);
      expect(port).toBeGreaterThan(0);
      // Composed but not listening: the port is still free, the app answers in-process.
      expect(await portFree(port)).toBe(true);
      expect((await bot.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
      expect(bot.calls.list()).toEqual([]);
      expect(() => bot.calls.get('no-such-call')).toThrow(expect.objectContaining({ code: 'MEDIABOT_CALL_NOT_FOUND' }) as Error);

      expect(await bot.listen()).toBe(bot.url);
      expect(await bot.listen()).toBe(bot.url);
      expect(await portFree(port)).toBe(false);
      expect((await fetch(`${bot.url}/healthz`)).status).toBe(200);
      await bot.close();
      expect(await portFree(port)).toBe(true);
      await expect(bot.listen()).rejects.toThrow(/closed/);
    } finally {
      await bot.close();
    }
  });

  it('closes everything when it never listened', async () => {
    const bot = await createMediabot(testConfig(), { logger: silentLogger });
    const emulatorPort = bot.emulator!.port;
    expect(await portFree(emulatorPort)).toBe(false);
    await bot.close();
    expect(await portFree(emulatorPort)).toBe(true);
  });
});
