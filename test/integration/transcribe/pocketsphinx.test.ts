import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HookRunner } from '../../../src/media/hooks/runner.js';
import { createTranscriptionHook } from '../../../src/media/hooks/transcribe/hook.js';
import { POCKETSPHINX_DEFAULT_ARGS, PocketsphinxTranscriber } from '../../../src/media/hooks/transcribe/pocketsphinx.js';
import { BaseTranscriberStream, type TranscriptResult } from '../../../src/media/hooks/transcribe/types.js';
import type { MediaEvent, SourceFrame, TickFrame } from '../../../src/media/hooks/api.js';
import { isMediabotError } from '../../../src/errors.js';
import { adapterSuite } from './adapter-suite.js';
import { clip, CLIPS, concat, HAVE_LIBRIVOX, LIBRIVOX_DIR, references, silence, wordErrors } from './audio.js';

const HAVE_PS = spawnSync('sh', ['-c', 'command -v pocketsphinx_continuous && command -v stdbuf']).status === 0;
if (!HAVE_PS || !HAVE_LIBRIVOX) console.warn('skipping pocketsphinx tests: install the Debian packages pocketsphinx, pocketsphinx-en-us and pocketsphinx-testdata');

describe.skipIf(!HAVE_PS || !HAVE_LIBRIVOX)('pocketsphinx', () => {
  adapterSuite({ name: 'pocketsphinx', create: () => new PocketsphinxTranscriber(), recognisesWords: true, slackMs: 400, timeoutMs: 180_000 });

  it('a missing binary is a typed engine failure, not a crash', async () => {
    const s = new PocketsphinxTranscriber({ binary: 'pocketsphinx-binary-that-does-not-exist' }).open({ callId: 'c', sourceId: 'x', sampleRate: 16000 });
    let err: unknown = null;
    try {
      for (let f = 0; f < 50; f++) s.write(new Int16Array(320), f * 20);
      await new Promise((r) => setTimeout(r, 500));
      s.write(new Int16Array(320), 1000);
    } catch (e) {
      err = e;
    }
    await s.end().catch((e: unknown) => (err ??= e));
    expect(isMediabotError(err) && err.code).toBe('MEDIABOT_TRANSCRIBER_FAILED');
  });

  it('skips audio once the decoder backlog is full, keeping later lines in media time', async () => {
    const s = new PocketsphinxTranscriber({ maxBacklogMs: 500 }).open({ callId: 'c', sourceId: 'x', sampleRate: 16000 });
    const results: TranscriptResult[] = [];
    s.onResult((r) => results.push(r));
    // 60 s of silence written at once: far beyond the backlog (and the OS pipe buffers) while the model loads.
    const quiet = silence(60_000);
    for (let f = 0; f * 320 < quiet.length; f++) s.write(quiet.subarray(f * 320, f * 320 + 320), f * 20);
    expect(s instanceof BaseTranscriberStream && s.droppedMs).toBeGreaterThan(20_000);
    // Let the decoder drain, then speak at 70 s.
    await new Promise((r) => setTimeout(r, 3000));
    const speech = concat(clip(CLIPS[1]!), silence(1000));
    for (let f = 0; f * 320 < speech.length; f++) {
      s.write(speech.subarray(f * 320, f * 320 + 320), 70_000 + f * 20);
      if (f % 10 === 0) await new Promise((r) => setTimeout(r, 5));
    }
    await s.end();
    const finals = results.filter((r) => r.final);
    expect(finals.length).toBeGreaterThan(0);
    for (const r of finals) {
      expect(r.startMs).toBeGreaterThanOrEqual(70_000 - 400);
      expect(r.endMs).toBeLessThanOrEqual(70_000 + 2990 + 400);
    }
  }, 120_000);

  it('through the hook, fed in 20 ms frames, matches the direct run on the LibriVox clips (WER)', async () => {
    const refs = references();
    // Direct: the binary on the WAV files, same decoder arguments.
    let directErr = 0;
    let words = 0;
    const direct: Record<string, string> = {};
    for (const id of CLIPS) {
      const r = spawnSync('pocketsphinx_continuous', ['-infile', join(LIBRIVOX_DIR, `${id}.wav`), '-logfn', '/dev/null', ...POCKETSPHINX_DEFAULT_ARGS], { encoding: 'utf8' });
      direct[id] = r.stdout.trim().split('\n').join(' ');
      const e = wordErrors(refs.get(id)!, direct[id]!);
      directErr += e.errors;
      words += e.words;
    }
    // Through the hook: each clip is one participant of one call, all talking in parallel ticks.
    const pcm = CLIPS.map((id) => concat(silence(500), clip(id), silence(1500)));
    const events: MediaEvent[] = [];
    const runner = new HookRunner({ callId: 'wer', hooks: [createTranscriptionHook(new PocketsphinxTranscriber(), { queueSize: 3000 })], emit: (e) => events.push(e) });
    const ticks = Math.max(...pcm.map((p) => p.length / 320));
    const bufs = pcm.map(() => new Int16Array(320));
    const sources: SourceFrame[] = CLIPS.map((id, i) => ({ sourceId: id, pcm16: bufs[i]!, pcm48: new Int16Array(960), origin: 'packet', opus: null, talking: true, levelDbov: -20 }));
    for (let t = 0; t < ticks; t++) {
      pcm.forEach((p, i) => {
        bufs[i]!.fill(0);
        if ((t + 1) * 320 <= p.length) bufs[i]!.set(p.subarray(t * 320, (t + 1) * 320));
      });
      const frame: TickFrame = { callId: 'wer', tick: t, mediaTimeMs: t * 20, sources, mix48: new Int16Array(960), mix16: new Int16Array(320), mixOpus: null };
      runner.onTick(frame);
      if (t % 50 === 0) await new Promise((r) => setImmediate(r));
    }
    await runner.stop();
    let hookErr = 0;
    const viaHook: Record<string, string> = {};
    for (const id of CLIPS) {
      viaHook[id] = events
        .filter((e) => e.type === 'transcript.final' && e.sourceId === id)
        .map((e) => (e.type === 'transcript.final' ? e.text : ''))
        .join(' ');
      hookErr += wordErrors(refs.get(id)!, viaHook[id]!).errors;
    }
    const figures = { words, directWer: +(directErr / words).toFixed(3), hookWer: +(hookErr / words).toFixed(3), direct, viaHook };
    console.log(JSON.stringify(figures));
    expect(runner.stats().hooks[0]).toMatchObject({ dropped: 0, errors: 0 });
    expect(hookErr / words).toBeLessThanOrEqual(directErr / words + 0.05);
    expect(directErr / words).toBeLessThan(0.6);
  }, 300_000);
});
