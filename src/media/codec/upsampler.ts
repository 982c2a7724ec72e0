/**
 * 16 kHz → 48 kHz and 24 kHz → 48 kHz upsamplers for PCM ingress (ACS, media bridge).
 *
 * Polyphase windowed-sinc interpolation: a Kaiser-windowed low-pass prototype at
 * 48 kHz (cut-off just under the input's Nyquist), split into L phases so each
 * output sample costs only TAPS_PER_PHASE multiplies (the zero-stuffed inputs are
 * never multiplied). Filter history carries across frames, so frame edges are
 * seamless and the output equals one long block processed at once.
 * Quality (pass-band flatness, image rejection) is measured in test/unit/ingress.
 */
import { MediabotError } from '../../errors.js';

export type UpsampleRate = 16_000 | 24_000;

/** Taps per polyphase branch (a multiple of 4: the inner loop is unrolled by 4). 24 keeps images 80 dB down. */
export const TAPS_PER_PHASE = 24;
const KAISER_BETA = 8;

function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const q = (x * x) / 4;
  for (let k = 1; k < 50; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < 1e-12 * sum) break;
  }
  return sum;
}

/** Prototype low-pass at 48 kHz for upsampling by `factor`; per-phase gain normalised to 1 (so DC in = DC out). */
function designPhases(factor: number, cutoffHz: number): Float64Array[] {
  const n = factor * TAPS_PER_PHASE;
  const fc = cutoffHz / 48_000;
  const mid = (n - 1) / 2;
  const i0b = besselI0(KAISER_BETA);
  const proto = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const x = i - mid;
    const sinc = x === 0 ? 2 * fc : Math.sin(2 * Math.PI * fc * x) / (Math.PI * x);
    const r = (2 * i) / (n - 1) - 1;
    proto[i] = sinc * (besselI0(KAISER_BETA * Math.sqrt(Math.max(0, 1 - r * r))) / i0b);
  }
  const phases: Float64Array[] = [];
  for (let p = 0; p < factor; p++) {
    const ph = new Float64Array(TAPS_PER_PHASE);
    let sum = 0;
    for (let k = 0; k < TAPS_PER_PHASE; k++) {
      ph[k] = proto[p + k * factor]!;
      sum += ph[k]!;
    }
    for (let k = 0; k < TAPS_PER_PHASE; k++) ph[k] = ph[k]! / sum;
    phases.push(ph);
  }
  return phases;
}

/** Each phase's taps reversed and flattened: phase p at [p*T, (p+1)*T), tap k multiplies x[i-(T-1)+k]. */
function flatten(phases: Float64Array[]): Float64Array {
  const flat = new Float64Array(phases.length * TAPS_PER_PHASE);
  phases.forEach((ph, p) => {
    for (let k = 0; k < TAPS_PER_PHASE; k++) flat[p * TAPS_PER_PHASE + k] = ph[TAPS_PER_PHASE - 1 - k]!;
  });
  return flat;
}

const PHASES: Record<UpsampleRate, Float64Array> = {
  16_000: flatten(designPhases(3, 7_000)),
  24_000: flatten(designPhases(2, 10_500)),
};

export class Upsampler {
  readonly factor: number;
  private readonly taps: Float64Array;
  /** Input history: the last TAPS_PER_PHASE-1 samples, then room for one block. */
  private buf: Float64Array;

  constructor(readonly inputRate: UpsampleRate, maxBlock = 480) {
    const phases = PHASES[inputRate];
    if (!phases) throw new MediabotError('MEDIABOT_INGRESS_BAD_RATE', `cannot upsample from ${String(inputRate)} Hz (16000 or 24000)`);
    this.taps = phases;
    this.factor = 48_000 / inputRate;
    this.buf = new Float64Array(TAPS_PER_PHASE - 1 + maxBlock);
  }

  /** Group delay in output (48 kHz) samples. */
  get delay48(): number {
    return (this.factor * TAPS_PER_PHASE - 1) / 2;
  }

  /** Upsamples `input` (n samples) into `out` (n × factor samples). Allocates nothing for blocks ≤ maxBlock. */
  process(input: Int16Array, out: Int16Array): void {
    const n = input.length;
    const L = this.factor;
    if (out.length < n * L) throw new MediabotError('MEDIABOT_BUFFER_TOO_SMALL', `upsampler output needs ${n * L} samples, got ${out.length}`);
    const h = TAPS_PER_PHASE - 1;
    if (this.buf.length < h + n) {
      const grown = new Float64Array(h + n);
      grown.set(this.buf.subarray(0, h));
      this.buf = grown;
    }
    const buf = this.buf;
    for (let i = 0; i < n; i++) buf[h + i] = input[i]!;
    const taps = this.taps;
    const T = TAPS_PER_PHASE;
    for (let i = 0; i < n; i++) {
      // The window buf[i .. i+T) ends with the newest input sample x[i]; taps are stored reversed to match.
      for (let p = 0, o = i * L, base = 0; p < L; p++, o++, base += T) {
        let a0 = 0;
        let a1 = 0;
        let a2 = 0;
        let a3 = 0;
        for (let k = 0; k < T; k += 4) {
          a0 += taps[base + k]! * buf[i + k]!;
          a1 += taps[base + k + 1]! * buf[i + k + 1]!;
          a2 += taps[base + k + 2]! * buf[i + k + 2]!;
          a3 += taps[base + k + 3]! * buf[i + k + 3]!;
        }
        const acc = a0 + a1 + a2 + a3;
        out[o] = acc > 32767 ? 32767 : acc < -32768 ? -32768 : Math.round(acc);
      }
    }
    buf.copyWithin(0, n, n + h);
  }

  reset(): void {
    this.buf.fill(0);
  }
}
