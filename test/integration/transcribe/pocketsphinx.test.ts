import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HookRunner } from '../../../src/media/hooks/runner.js';
import { createTranscriptionHook } from '../../../src/media/hooks/transcribe/hook.js';
import { POCKETSPHINX_DEFAULT_ARGS, PocketsphinxTranscriber } from '../../../src/media/hooks/transcribe/pocketsphinx.js';
import type { MediaEvent, SourceFrame, TickFrame } from '../../../src/media/hooks/types.js';
import { adapterSuite } from './adapter-suite.js';
import { clip, CLIPS, concat, HAVE_LIBRIVOX, LIBRIVOX_DIR, references, silence, wordErrors } from './audio.js';

const HAVE_PS = spawnSync('sh', ['-c', 'command -v pocketsphinx_continuous && command -v stdbuf']).status === 0;
if (!HAVE_PS || !HAVE_LIBRIVOX) console.warn('skipping pocketsphinx tests: install the Debian packages pocketsphinx, pocketsphinx-en-us and pocketsphinx-testdata');

describe.skipIf(!HAVE_PS || !HAVE_LIBRIVOX)('pocketsphinx', () => {
  adapterSuite({ name: 'pocketsphinx', create: () => new PocketsphinxTranscriber(), recognisesWords: true, slackMs: 400, timeoutMs: 180_000 });

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
