import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediaThreadPool } from '../../../src/media/threads/pool.js';
import { BridgeIngress, bridgeIngressPlugin } from '../../../src/ingress/bridge/adapter.js';
import { speech48, writeWav48 } from '../../helpers/speech.js';
import { haveLibrivox, LIBRIVOX, startIngressServer, waitFor } from './helpers.js';

function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const script = "import('./src/cli/bridge-sim.ts').then((m) => m.runBridgeSimCommand(process.argv.slice(1))).then((c) => process.exit(c))";
  const child = spawn(process.execPath, ['--import', 'tsx', '-e', script, '--', ...args], { cwd: process.cwd(), env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr })));
}

describe('mediabot bridge-sim', () => {
  let pool: MediaThreadPool;
  let ingress: BridgeIngress;
  let url: string;
  let close: () => Promise<void>;
  let dir: string;
  const ended: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mediabot-bridge-sim-'));
    pool = new MediaThreadPool(1);
    ingress = new BridgeIngress({ pool, tokens: ['cli-token'], outbound: 'mix', onCallEnded: (i) => ended.push(i.callId) });
    ({ url, close } = await startIngressServer((app) => app.register(bridgeIngressPlugin, { ingress }), '/media/bridge', { ingress, pool }));
  });

  afterAll(async () => {
    await close?.();
    rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(!haveLibrivox)('streams WAV files (16 kHz as is, 48 kHz through sox) and reports outbound audio', async () => {
    const wav48 = writeWav48(join(dir, 'espeak48.wav'), speech48('The bridge simulator converts this file to sixteen kilohertz.'));
    const r = await run(['--url', url, '--call-id', 'cli-call', '--wav', join(LIBRIVOX, 'sense_and_sensibility_01_austen_64kb-0880.wav'), '--wav', wav48], { MEDIABOT_BRIDGE_TOKEN: 'cli-token' });
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { callId: string; errors: unknown[]; perSource: Record<string, number>; framesSent: { mixed: number }; outbound: { nonSilentFrames: number } };
    expect(report.callId).toBe('cli-call');
    expect(report.errors).toEqual([]);
    expect(Object.keys(report.perSource).sort()).toEqual(['1001', '1002']);
    expect(report.framesSent.mixed).toBeGreaterThan(100);
    expect(report.outbound.nonSilentFrames).toBeGreaterThan(50);
    await waitFor(() => ended.includes('cli-call'), 5000, 'call ended');
  });

  it('refuses bad arguments with exit code 2, and a wrong token with exit code 1', async () => {
    expect((await run([])).code).toBe(2);
    expect((await run(['--url', 'http://x', '--token', 't'])).code).toBe(2);
    expect((await run(['--url', url, '--token', 't', '--speed', '0'])).code).toBe(2);
    const wav = writeWav48(join(dir, 'short.wav'), speech48('Hello.'));
    const bad = await run(['--url', url, '--token', 'wrong', '--wav', wav]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('4401');
  });
});
