/**
 * Crash safety for real: a child process records two speakers and the mix at
 * real time, gets SIGKILLed mid-call, and every file it leaves must decode
 * cleanly and hold everything up to at most one second before the kill.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { CHILD_CALL_ID, CHILD_SOURCES } from '../../fixtures/recorder/record-child-spec.js';
import { FRAME, correlation, ffmpegDecode, rmsWindows, speech48k } from '../../fixtures/recorder/speech.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const dir = mkdtempSync(join(tmpdir(), 'recorder-kill9-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface ChildRun {
  lastMediaTimeMs: number;
  files: Array<{ file: string; sourceId: string | null; format: string }>;
  signal: NodeJS.Signals | null;
}

function runAndKill(killAfterMs: number): Promise<ChildRun> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/recorder/record-child.ts', dir], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const run: ChildRun = { lastMediaTimeMs: 0, files: [], signal: null };
    let stderr = '';
    let killed = false;
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (killed) return;
      const msg = JSON.parse(line) as { mediaTimeMs?: number; file?: string; sourceId?: string | null; format?: string };
      if (msg.file !== undefined) run.files.push({ file: msg.file, sourceId: msg.sourceId ?? null, format: msg.format ?? '' });
      if (msg.mediaTimeMs !== undefined) {
        run.lastMediaTimeMs = msg.mediaTimeMs;
        if (msg.mediaTimeMs >= killAfterMs) {
          killed = true;
          child.kill('SIGKILL');
        }
      }
    });
    child.on('error', rej);
    child.on('exit', (code, signal) => {
      run.signal = signal;
      if (!killed) rej(new Error(`child exited early (${code}): ${stderr}`));
      else res(run);
    });
  });
}

/** What a source said over `ms` of media from its own start (48 kHz), as the recorder received it. */
function expectedSpeech(text: string, frames: number, lost: (t: number) => boolean, joinTick: number): Int16Array {
  const s = speech48k(text);
  const out = new Int16Array(frames * FRAME);
  for (let f = 0; f < frames; f++) {
    if (lost(joinTick + f)) continue;
    const src = (f * FRAME) % s.length;
    out.set(s.subarray(src, src + FRAME), f * FRAME);
  }
  return out;
}

describe('recorder under kill -9', () => {
  it('leaves files that decode without error and keep everything up to 1 s before the kill', async () => {
    const run = await runAndKill(3000);
    expect(run.signal).toBe('SIGKILL');
    expect(run.lastMediaTimeMs).toBeGreaterThanOrEqual(3000);
    expect(run.files.map((f) => `${f.sourceId ?? 'mix'}.${f.format}`).sort()).toEqual(
      ['alice.ogg', 'alice.wav', 'bob.ogg', 'bob.wav', 'mix.ogg', 'mix.wav'],
    );

    const tracks = [
      ...CHILD_SOURCES.map((s) => ({ id: s.id as string, joinTick: s.joinTick as number, parts: [s] })),
      { id: 'mix', joinTick: 0, parts: CHILD_SOURCES },
    ];
    for (const t of tracks) {
      const startMs = t.joinTick * 20;
      const mustHaveMs = run.lastMediaTimeMs - startMs - 1000;
      for (const format of ['ogg', 'wav'] as const) {
        const path = join(dir, CHILD_CALL_ID, `${t.id}.${format === 'ogg' ? 'opus' : 'wav'}`);
        const rate = format === 'ogg' ? 48_000 : 16_000;
        const { pcm, stderr } = ffmpegDecode(path, rate);
        expect(stderr, `${path} decodes without errors`).toBe('');
        const decodedMs = (pcm.length / rate) * 1000;
        expect(decodedMs, `${path} holds all but the last second`).toBeGreaterThanOrEqual(mustHaveMs);
        expect(decodedMs).toBeLessThanOrEqual(run.lastMediaTimeMs - startMs + 1000);

        // Nothing before the cut is lost or displaced: RMS per 100 ms follows what was said.
        const frames = Math.floor(decodedMs / 20);
        const want = new Float64Array(frames * FRAME);
        for (const p of t.parts) {
          const sp = expectedSpeech(p.text, frames - (p.joinTick - t.joinTick), p.lost, p.joinTick);
          const off = (p.joinTick - t.joinTick) * FRAME;
          for (let i = 0; i < sp.length && off + i < want.length; i++) want[off + i]! += sp[i]!;
        }
        const wantInt = Int16Array.from(want, (x) => Math.max(-32768, Math.min(32767, x)));
        const win = 4800;
        const a = rmsWindows(wantInt, win);
        const decoded48 = format === 'ogg' ? pcm : ffmpegDecode(path, 48_000).pcm;
        const b = rmsWindows(decoded48, win);
        const n = Math.min(a.length, b.length);
        expect(n).toBeGreaterThanOrEqual(10);
        const r = correlation(a.slice(0, n), b.slice(0, n));
        if (process.env.RECORDER_DEBUG) console.log(path, { decodedMs, mustHaveMs, r });
        expect(r, `${path} energy follows the speech (r=${r.toFixed(3)})`).toBeGreaterThan(0.85);
      }
    }

    // ffprobe sees each Ogg file as a whole stream too.
    for (const id of ['alice', 'bob', 'mix']) {
      const probe = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name,channels', '-of', 'csv=p=0', join(dir, CHILD_CALL_ID, `${id}.opus`)]);
      expect(probe.stderr.toString()).toBe('');
      expect(probe.stdout.toString().trim()).toBe('opus,1');
    }
  });
});
