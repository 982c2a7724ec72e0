import { createOpusEncoder } from '../../src/media/codec/opus.js';
import { SAMPLES_48K } from '../../src/media/core/frame.js';
import { DEFAULT_SCRIPT, defaultSpeechCacheDir, SpeechBank } from '../../testing/emulator/speech.js';

/** Real speech for benchmarks: one continuous track per speaker of the emulator's script. */
export async function speechTracks(): Promise<Int16Array[]> {
  const bank = new SpeechBank(defaultSpeechCacheDir());
  await bank.prepare(DEFAULT_SCRIPT);
  return DEFAULT_SCRIPT.map((s) => {
    const clips = s.sentences.map((t) => bank.clip(s.voice, t));
    const total = clips.reduce((a, c) => a + c.length, 0);
    const out = new Int16Array(total);
    let o = 0;
    for (const c of clips) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  });
}

/** Quiet room noise at about -60 dBov: what a muted-mic-less listener sends. */
export function roomNoise(frames: number, seed = 1): Int16Array {
  const out = new Int16Array(frames * SAMPLES_48K);
  let s = seed;
  for (let i = 0; i < out.length; i++) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    out[i] = Math.round(((s / 0x7fffffff) * 2 - 1) * 40);
  }
  return out;
}

/** Encodes a track into 20 ms Opus packets with mediabot's default encoder settings. */
export function encodeTrack(pcm: Int16Array, maxFrames = Infinity): Uint8Array[] {
  const enc = createOpusEncoder();
  const buf = new Uint8Array(1276);
  const frames = Math.min(maxFrames, Math.floor(pcm.length / SAMPLES_48K));
  const out: Uint8Array[] = [];
  for (let f = 0; f < frames; f++) {
    const n = enc.encode(pcm.subarray(f * SAMPLES_48K, (f + 1) * SAMPLES_48K), buf);
    out.push(buf.slice(0, n));
  }
  return out;
}

/** Packet tracks: `speech[k]` per speaker, and room noise for non-talkers. */
export async function packetTracks(): Promise<{ speech: Uint8Array[][]; noise: Uint8Array[]; speechPcm: Int16Array[] }> {
  const tracks = await speechTracks();
  return { speech: tracks.map((t) => encodeTrack(t)), noise: encodeTrack(roomNoise(500)), speechPcm: tracks };
}
