import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type MediabotConfig } from '../../../src/config/config.js';

/** A config for a worker on 127.0.0.1 with an ephemeral port and a fresh data folder. */
export function testConfig(env: Record<string, string> = {}): MediabotConfig {
  const dataDir = mkdtempSync(join(tmpdir(), 'mediabot-app-'));
  // A per-process RTP range so parallel test files do not compete for ports.
  const base = 42000 + (process.pid % 200) * 20;
  const cfg = loadConfig({
    MEDIABOT_HOST: '127.0.0.1',
    MEDIABOT_PORT: '0',
    MEDIABOT_DATA_DIR: dataDir,
    MEDIABOT_RTP_PORTS: `${base}-${base + 19}`,
    MEDIABOT_LOG_LEVEL: 'silent',
    MEDIABOT_MEDIA_THREADS: '1',
    ...env,
  });
  return { ...cfg, useEmulator: true };
}

export async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000, everyMs = 100): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
