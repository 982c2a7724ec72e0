/**
 * The examples run as a user runs them (`node --import tsx examples/<bot>.ts`), against the Graph
 * emulator, and print what they promise: live captions with the speakers' names, and the custom
 * hook's own per-second event.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SCRIPT } from '../../../testing/emulator/index.js';
import { pocketsphinxAvailable } from '../../../src/media/hooks/transcribe/pocketsphinx.js';

const run = promisify(execFile);
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const names = DEFAULT_SCRIPT.slice(0, 2).map((s) => s.name);

async function runExample(file: string, seconds: number): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, ['--import', 'tsx', `examples/${file}`, String(seconds)], { cwd: ROOT, timeout: 180_000, env: { ...process.env, MEDIABOT_LOG_LEVEL: 'warn', MEDIABOT_MEDIA_THREADS: '1' } });
}

describe('examples', () => {
  it('are written only against the public API and stay under 80 lines', () => {
    for (const f of ['live-captions.ts', 'speaker-levels.ts', 'rms-hook.ts']) {
      const text = readFileSync(resolve(ROOT, 'examples', f), 'utf8');
      expect(text.split('\n').length, f).toBeLessThan(80);
      const specifiers = [...text.matchAll(/from '([^']+)'/g)].map((m) => m[1]!);
      expect(specifiers.filter((s) => !s.startsWith('node:') && !/^mediabot(\/hooks|\/testing)?$/.test(s)), f).toEqual([]);
    }
  });

  it.skipIf(!pocketsphinxAvailable())('live-captions prints final transcript lines with the speakers\' names', async () => {
    const { stdout } = await runExample('live-captions.ts', 14);
    const lines = stdout.split('\n').filter((l) => l.trim() !== '');
    const captions = lines.map((l) => /^([^:]+): (.+)$/.exec(l)).filter((m): m is RegExpExecArray => m !== null);
    expect(captions.length).toBeGreaterThanOrEqual(2);
    // Every line names a person of the meeting (not a raw media source id), and both people were captioned.
    expect(captions.every((m) => names.includes(m[1]!))).toBe(true);
    expect(new Set(captions.map((m) => m[1])).size).toBe(2);
    expect(captions.some((m) => m[2]!.split(' ').length >= 2)).toBe(true);
  }, 200_000);

  it('speaker-levels prints the custom hook\'s per-second event with names and levels', async () => {
    const { stdout } = await runExample('speaker-levels.ts', 8);
    const seconds = stdout.split('\n').map((l) => /^second +(\d+): (.+)$/.exec(l)).filter((m): m is RegExpExecArray => m !== null);
    expect(seconds.length).toBeGreaterThanOrEqual(4);
    // Numbered one after the other, one event per second of media.
    const n = seconds.map((m) => Number(m[1]));
    expect(n.slice(1).every((v, i) => v === n[i]! + 1)).toBe(true);
    const levels = seconds.flatMap((m) => [...m[2]!.matchAll(/([A-Z][a-z]+ [A-Z][a-z]+) (-?\d+\.\d) dBFS/g)].map((x) => ({ name: x[1]!, db: Number(x[2]) })));
    expect(levels.every((l) => names.includes(l.name))).toBe(true);
    // Someone spoke: speech is far above silence and below full scale.
    expect(levels.some((l) => l.db > -40 && l.db < 0)).toBe(true);
  }, 200_000);
});
