import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeWavPcm16, parseWavPcm16 } from '../../src/media/wire/wav.js';

const CACHE = join(tmpdir(), 'mediabot-test-speech');

/** Real speech from espeak-ng, 48 kHz mono int16, cached across runs. */
export function speech48(text: string, voice = 'en-us'): Int16Array {
  mkdirSync(CACHE, { recursive: true });
  const key = createHash('sha256').update(`${voice}|${text}`).digest('hex').slice(0, 16);
  const file = join(CACHE, `${key}.wav`);
  if (!existsSync(file)) {
    const raw = join(CACHE, `${key}.espeak.wav`);
    execFileSync('espeak-ng', ['-v', voice, '-s', '160', '-w', raw, text]);
    execFileSync('sox', [raw, '-r', '48000', '-c', '1', '-b', '16', file]);
  }
  return parseWavPcm16(readFileSync(file)).samples;
}

/** `pcm` placed at `startMs` in a buffer of `totalMs` of silence. */
export function padded(pcm: Int16Array, startMs: number, totalMs: number): Int16Array {
  const out = new Int16Array(Math.round((totalMs * 48_000) / 1000));
  const at = Math.round((startMs * 48_000) / 1000);
  out.set(pcm.subarray(0, Math.max(0, Math.min(pcm.length, out.length - at))), at);
  return out;
}

export function writeWav48(path: string, pcm: Int16Array): string {
  writeFileSync(path, encodeWavPcm16(pcm, 48_000));
  return path;
}

/** RMS per window of `windowMs` of PCM at `rate` (48 kHz unless given). */
export function envelope(pcm: Int16Array, windowMs = 20, rate = 48_000): Float64Array {
  const w = Math.round((windowMs * rate) / 1000);
  const n = Math.floor(pcm.length / w);
  const env = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < w; j++) {
      const v = pcm[i * w + j]!;
      s += v * v;
    }
    env[i] = Math.sqrt(s / w);
  }
  return env;
}

/** Pearson correlation of two equal-length series. */
export function correlation(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = Math.min(a.length, b.length);
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i]!;
    mb += b[i]!;
  }
  ma /= n;
  mb /= n;
  let num = 0;
  let da = 0;
  let db = 0;
  for (let i = 0; i < n; i++) {
    const x = a[i]! - ma;
    const y = b[i]! - mb;
    num += x * y;
    da += x * x;
    db += y * y;
  }
  return da === 0 || db === 0 ? 0 : num / Math.sqrt(da * db);
}

/** The best correlation of `b` shifted by 0..maxLag windows against `a` (b lags a). */
export function bestLaggedCorrelation(a: ArrayLike<number>, b: ArrayLike<number>, maxLag: number): { corr: number; lag: number } {
  let best = { corr: -1, lag: 0 };
  for (let lag = 0; lag <= maxLag; lag++) {
    const n = Math.min(a.length, b.length - lag);
    if (n <= 10) break;
    const bs = Array.from({ length: n }, (_, i) => b[i + lag]!);
    const as = Array.from({ length: n }, (_, i) => a[i]!);
    const c = correlation(as, bs);
    if (c > best.corr) best = { corr: c, lag };
  }
  return best;
}
