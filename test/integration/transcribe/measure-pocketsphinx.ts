/**
 * Measures pocketsphinx through the adapter in real time: each LibriVox clip is
 * fed as 20 ms frames paced by the wall clock (0.5 s silence, the clip, 2 s
 * silence), and the latency is the wall time from the last frame of speech
 * written to the final result. Also reports the WER of those results against
 * the references. Prints one JSON object.
 *
 *   npx tsx test/integration/transcribe/measure-pocketsphinx.ts [decoder args...]
 */
import { POCKETSPHINX_DEFAULT_ARGS, PocketsphinxTranscriber } from '../../../src/media/hooks/transcribe/pocketsphinx.js';
import type { TranscriptResult } from '../../../src/media/hooks/transcribe/types.js';
import { clip, CLIPS, concat, durationMs, references, silence, wordErrors } from './audio.js';

const args = process.argv.slice(2);
const t = new PocketsphinxTranscriber(args.length > 0 ? { args } : {});
const refs = references();
const perClip: Array<{ clip: string; speechMs: number; latencyMs: number | null; text: string }> = [];
let errors = 0;
let words = 0;

for (const id of CLIPS) {
  const speech = clip(id);
  const pcm = concat(silence(500), speech, silence(2000));
  const speechEndFrame = Math.ceil((500 + durationMs(speech)) / 20);
  const s = t.open({ callId: 'measure', sourceId: id, sampleRate: 16000 });
  const results: Array<TranscriptResult & { at: number }> = [];
  s.onResult((r) => results.push({ ...r, at: performance.now() }));
  // Let the model load first, as it does at call start while nobody talks yet.
  await new Promise((r) => setTimeout(r, 2000));
  const t0 = performance.now();
  let speechEndAt = 0;
  for (let f = 0; f * 320 < pcm.length; f++) {
    const due = t0 + f * 20;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    s.write(pcm.subarray(f * 320, f * 320 + 320), f * 20);
    if (f === speechEndFrame) speechEndAt = performance.now();
  }
  await s.end();
  const last = results.filter((r) => r.final).at(-1);
  const text = results.filter((r) => r.final).map((r) => r.text).join(' ');
  const e = wordErrors(refs.get(id)!, text);
  errors += e.errors;
  words += e.words;
  perClip.push({ clip: id, speechMs: durationMs(speech), latencyMs: last === undefined ? null : Math.round(last.at - speechEndAt), text });
}
const lat = perClip.map((c) => c.latencyMs).filter((x): x is number => x !== null).sort((a, b) => a - b);
console.log(
  JSON.stringify({
    decoderArgs: args.length > 0 ? args : POCKETSPHINX_DEFAULT_ARGS,
    latencyMs: { median: lat[Math.floor(lat.length / 2)] ?? null, max: lat.at(-1) ?? null },
    wer: +(errors / words).toFixed(3),
    words,
    perClip,
  }),
);
