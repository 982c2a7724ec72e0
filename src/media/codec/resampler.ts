import { SAMPLES_16K, SAMPLES_48K } from '../core/frame.js';
import { native } from './native.js';

/**
 * 48 kHz → 16 kHz decimator for the speech taps: a linear-phase windowed-sinc
 * low-pass (cut-off 7.2 kHz, Blackman window) evaluated only at every third
 * sample (polyphase), with the filter history carried across frames so frame
 * edges are seamless. Quality and cost are measured in test/unit/core and
 * benchmarks (stop-band rejection above 8 kHz, µs per frame).
 */
export const RESAMPLER_TAPS = 48;

function designTaps(n: number): Float64Array {
  const taps = new Float64Array(n);
  const fc = 7200 / 48_000; // normalised cut-off
  const mid = (n - 1) / 2;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const x = i - mid;
    const sinc = x === 0 ? 2 * fc : Math.sin(2 * Math.PI * fc * x) / (Math.PI * x);
    const w = 0.42 - 0.5 * Math.cos((2 * Math.PI * i) / (n - 1)) + 0.08 * Math.cos((4 * Math.PI * i) / (n - 1));
    taps[i] = sinc * w;
    sum += taps[i]!;
  }
  for (let i = 0; i < n; i++) taps[i] = taps[i]! / sum; // unity gain at DC
  return taps;
}

const TAPS = designTaps(RESAMPLER_TAPS);
const TAPS32 = Float32Array.from(TAPS);

export class Decimator48to16 {
  /** History (TAPS-1 samples) followed by the current frame, as float. */
  private readonly buf = new Float64Array(RESAMPLER_TAPS - 1 + SAMPLES_48K);
  private readonly buf32 = new Float32Array(RESAMPLER_TAPS - 1 + SAMPLES_48K);

  /** Converts one 20 ms frame; writes 320 samples into `out`. Allocates nothing. */
  process(input: Int16Array, out: Int16Array): void {
    if (native) {
      native.firDecimate3(this.buf32, TAPS32, input, out);
      return;
    }
    const buf = this.buf;
    const h = RESAMPLER_TAPS - 1;
    for (let i = 0; i < SAMPLES_48K; i++) buf[h + i] = input[i]!;
    const taps = TAPS;
    const half = RESAMPLER_TAPS >> 1;
    const last = RESAMPLER_TAPS - 1;
    for (let o = 0; o < SAMPLES_16K; o++) {
      const base = o * 3 + 2; // output aligned to the newest of each group of three
      let acc = 0;
      // The filter is symmetric: pair the mirrored samples, halving the multiplies.
      for (let k = 0; k < half; k++) acc += taps[k]! * (buf[base + k]! + buf[base + last - k]!);
      out[o] = acc > 32767 ? 32767 : acc < -32768 ? -32768 : Math.round(acc);
    }
    buf.copyWithin(0, SAMPLES_48K, SAMPLES_48K + h);
  }

  reset(): void {
    this.buf.fill(0);
    this.buf32.fill(0);
  }
}
