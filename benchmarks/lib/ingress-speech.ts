/** Real speech for the ingress benchmark, the same in the server and the peers process. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_SCRIPT, defaultSpeechCacheDir, SpeechBank } from '../../testing/emulator/speech.js';
import { parseWavPcm16 } from '../../src/media/wire/wav.js';
import { Decimator48to16 } from '../../src/media/codec/resampler.js';

const LIBRIVOX = '/usr/share/pocketsphinx/test/data/librivox';

/** Real speech clips at 16 kHz: LibriVox when installed, else the emulator's espeak-ng voices. */
export async function speechClips(): Promise<Int16Array[]> {
  if (existsSync(LIBRIVOX)) {
    const clips = readdirSync(LIBRIVOX)
      .filter((f) => f.endsWith('.wav'))
      .sort()
      .map((f) => parseWavPcm16(readFileSync(join(LIBRIVOX, f))))
      .filter((w) => w.sampleRate === 16_000)
      .map((w) => w.samples);
    if (clips.length > 0) return clips;
  }
  const bank = new SpeechBank(defaultSpeechCacheDir());
  await bank.prepare(DEFAULT_SCRIPT);
  return DEFAULT_SCRIPT.flatMap((s) => s.sentences.map((t) => bank.clip(s.voice, t))).map((pcm48) => {
    const frames = Math.floor(pcm48.length / 960);
    const out = new Int16Array(frames * 320);
    const d = new Decimator48to16();
    for (let f = 0; f < frames; f++) d.process(pcm48.subarray(f * 960, f * 960 + 960), out.subarray(f * 320, f * 320 + 320));
    return out;
  });
}

/** A speaker track of `seconds`: clips in turn with pauses, starting at a per-speaker offset so turns overlap. */
export function track(clips: Int16Array[], seconds: number, seed: number): Int16Array {
  const out = new Int16Array(seconds * 16_000);
  let at = (seed % 4) * 8000;
  let k = seed;
  while (at < out.length) {
    const c = clips[k++ % clips.length]!;
    out.set(c.subarray(0, Math.min(c.length, out.length - at)), at);
    at += c.length + 16_000 * (1 + (k % 3));
  }
  return out;
}

/** Per call, per speaker: a 16 kHz speech track of `seconds`. */
export async function benchTracks(calls: number, speakers: number, seconds: number): Promise<Int16Array[][]> {
  const clips = await speechClips();
  return Array.from({ length: calls }, (_, c) => Array.from({ length: speakers }, (_, i) => track(clips, seconds, c * speakers + i)));
}
