import { SAMPLES_48K } from './frame.js';

/**
 * Soft limiter from float accumulation to int16, so a mix never wraps around.
 *
 * A gain envelope follows the frame peak: when the peak would exceed the
 * ceiling the gain drops at once (ramped across the frame to avoid a click)
 * and recovers slowly (release). A soft knee above `kneeStart` then bends the
 * few samples that still exceed it, and the final clamp is only a guard.
 */
export class SoftLimiter {
  private gain = 1;
  private static readonly CEILING = 30_000; // about -0.8 dBFS
  private static readonly KNEE = 24_000;
  private static readonly RELEASE_PER_FRAME = 1.02; // ~ +0.17 dB per 20 ms

  /** Limits `input` (float samples in int16 scale) into `out`. Allocates nothing. */
  process(input: Float32Array, out: Int16Array, n = SAMPLES_48K): void {
    let peak = 0;
    for (let i = 0; i < n; i++) {
      const a = Math.abs(input[i]!);
      if (a > peak) peak = a;
    }
    const start = this.gain;
    let target = Math.min(1, start * SoftLimiter.RELEASE_PER_FRAME);
    if (peak * target > SoftLimiter.CEILING) target = SoftLimiter.CEILING / peak;
    const step = (target - start) / n;
    const knee = SoftLimiter.KNEE;
    const room = 32767 - knee;
    let g = start;
    for (let i = 0; i < n; i++) {
      g += step;
      let x = input[i]! * g;
      if (x > knee) x = knee + room * Math.tanh((x - knee) / room);
      else if (x < -knee) x = -knee - room * Math.tanh((-x - knee) / room);
      out[i] = x >= 32767 ? 32767 : x <= -32768 ? -32768 : Math.round(x);
    }
    this.gain = target;
  }

  reset(): void {
    this.gain = 1;
  }
}
