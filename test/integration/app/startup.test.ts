/** Start-up refuses bad hook/transcriber settings before the first call, and leaves nothing behind. */
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { startWorker } from '../../../src/app/worker.js';
import { silentLogger } from '../../../src/logger.js';
import { testConfig } from './helpers.js';

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

describe('worker start-up', () => {
  it('stops with MEDIABOT_CONFIG_INVALID for azure transcription without a key', async () => {
    const err = await startWorker(testConfig({ MEDIABOT_TRANSCRIBER: 'azure' }), { logger: silentLogger }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'MEDIABOT_CONFIG_INVALID' });
    expect((err as Error).message).toContain('MEDIABOT_AZURE_SPEECH_KEY');
  });

  it('stops with MEDIABOT_CONFIG_INVALID for a hook module that does not exist', async () => {
    const err = await startWorker(testConfig({ MEDIABOT_HOOKS: './no/such/hook.js' }), { logger: silentLogger }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'MEDIABOT_CONFIG_INVALID' });
  });

  it('closes everything it opened', async () => {
    const w = await startWorker(testConfig(), { logger: silentLogger });
    const port = Number(new URL(w.url).port);
    expect(await portFree(port)).toBe(false);
    expect((await fetch(`${w.url}/healthz`)).status).toBe(200);
    await w.close();
    expect(await portFree(port)).toBe(true);
  });
});
