/**
 * `npm run bench:codec`: the measurements behind the encoder defaults
 * (src/media/core/codec.ts). For each setting: encode cost per 20 ms frame of
 * real speech, bytes per packet, and the quality after decoding as the
 * log-spectral distance to the input (aligned by the codec's 6.5 ms delay). Prints JSON.
 */
import { createOpusDecoder, createOpusEncoder } from '../src/media/codec/opus.js';
import type { EncoderSettings } from '../src/media/codec/types.js';
import { SAMPLES_48K } from '../src/media/core/frame.js';
import { speechTracks } from './lib/speech-packets.js';
import { median, nowUs, progress, round } from './lib/stats.js';

const DELAY = 312; // Opus look-ahead at 48 kHz

/** In-place radix-2 FFT (re, im of length 2^k). */
function fft(re: Float64Array, im: Float64Array): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      [re[i], re[j]] = [re[j]!, re[i]!];
      [im[i], im[j]] = [im[j]!, im[i]!];
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const ang = (-2 * Math.PI) / len;
    for (let i = 0; i < n; i += len) {
      for (let k = 0; k < len / 2; k++) {
        const wr = Math.cos(ang * k);
        const wi = Math.sin(ang * k);
        const xr = re[i + k + len / 2]! * wr - im[i + k + len / 2]! * wi;
        const xi = re[i + k + len / 2]! * wi + im[i + k + len / 2]! * wr;
        re[i + k + len / 2] = re[i + k]! - xr;
        im[i + k + len / 2] = im[i + k]! - xi;
        re[i + k] = re[i + k]! + xr;
        im[i + k] = im[i + k]! + xi;
      }
    }
  }
}

/**
 * Log-spectral distance in dB between input and decoded speech, over speech
 * frames, 0-8 kHz (the band a recognizer uses). Lower is better; it tracks
 * perceived coding distortion far better than waveform SNR for Opus/SILK.
 */
function logSpectralDistance(ref: Int16Array, dec: Int16Array): number {
  const N = 1024;
  const bins = Math.floor((8000 / 48_000) * N);
  const spectrum = (x: Int16Array, at: number): Float64Array => {
    const re = new Float64Array(N);
    const im = new Float64Array(N);
    for (let i = 0; i < N; i++) re[i] = (x[at + i] ?? 0) * (0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (N - 1)));
    fft(re, im);
    const p = new Float64Array(bins);
    for (let k = 1; k <= bins; k++) p[k - 1] = 10 * Math.log10(re[k]! * re[k]! + im[k]! * im[k]! + 1e3);
    return p;
  };
  const d: number[] = [];
  for (let at = N; at + N + DELAY < Math.min(ref.length, dec.length); at += N) {
    let e = 0;
    for (let i = 0; i < N; i++) e += ref[at + i]! * ref[at + i]!;
    if (e / N < 1e5) continue; // speech frames only
    const a = spectrum(ref, at);
    const b = spectrum(dec, at + DELAY);
    let s = 0;
    for (let k = 0; k < bins; k++) s += (a[k]! - b[k]!) ** 2;
    d.push(Math.sqrt(s / bins));
  }
  return d.reduce((x, y) => x + y, 0) / Math.max(1, d.length);
}

async function main(): Promise<void> {
  progress('preparing real speech (espeak-ng, cached)');
  const speech = (await speechTracks())[0]!;
  const frames = Math.floor(speech.length / SAMPLES_48K);
  const settings: Array<Partial<EncoderSettings>> = [];
  // FEC on, planned for 0 % loss (the default until a receiver reports loss), across complexities and bitrates;
  // then what planning for reported loss costs, and FEC off.
  for (const complexity of [0, 2, 3, 4, 5, 8, 10]) settings.push({ complexity, bitrate: 32_000, expectedLossPct: 0 });
  // The other Opus modes at the same rate: 'audio' (CELT-only at 32 kbit/s for most frames) and 'lowdelay' (CELT only).
  for (const application of ['audio', 'lowdelay'] as const) settings.push({ application, complexity: 5, bitrate: 32_000, expectedLossPct: 0 });
  for (const bitrate of [16_000, 24_000, 48_000]) settings.push({ complexity: 5, bitrate, expectedLossPct: 0 });
  for (const expectedLossPct of [5, 10, 20]) settings.push({ complexity: 5, bitrate: 32_000, expectedLossPct });
  settings.push({ complexity: 5, bitrate: 32_000, inbandFec: false });
  const results = [];
  const buf = new Uint8Array(1276);
  for (const s of settings) {
    const times: number[] = [];
    let bytes = 0;
    const decoded = new Int16Array(frames * SAMPLES_48K);
    for (let rep = 0; rep < 3; rep++) {
      const enc = createOpusEncoder(s);
      const dec = createOpusDecoder();
      bytes = 0;
      const t0 = nowUs();
      const packets: Uint8Array[] = [];
      for (let f = 0; f < frames; f++) {
        const n = enc.encode(speech.subarray(f * SAMPLES_48K, (f + 1) * SAMPLES_48K), buf);
        bytes += n;
        packets.push(buf.slice(0, n));
      }
      times.push((nowUs() - t0) / frames);
      packets.forEach((p, f) => dec.decode(p, decoded.subarray(f * SAMPLES_48K, (f + 1) * SAMPLES_48K)));
    }
    const r = { ...s, encode_us: round(median(times), 1), bytes_per_packet: round(bytes / frames, 1), lsd_db: round(logSpectralDistance(speech, decoded), 2) };
    progress(JSON.stringify(r));
    results.push(r);
  }
  process.stdout.write(`${JSON.stringify({ frames, results }, null, 2)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:codec failed: ${String(err)}\n`);
  process.exit(1);
});
