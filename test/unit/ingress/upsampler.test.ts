import { describe, expect, it } from 'vitest';
import { Upsampler, type UpsampleRate } from '../../../src/media/codec/upsampler.js';

/** Amplitude of frequency `f` in `x` (sample rate `fs`) by correlation with sine and cosine. */
function amplitudeAt(x: Int16Array | Float64Array, f: number, fs: number, from = 0): number {
  let re = 0;
  let im = 0;
  const n = x.length - from;
  for (let i = from; i < x.length; i++) {
    const w = (2 * Math.PI * f * i) / fs;
    re += x[i]! * Math.cos(w);
    im += x[i]! * Math.sin(w);
  }
  return (2 * Math.hypot(re, im)) / n;
}

function tone(f: number, fs: number, n: number, amp = 10_000): Int16Array {
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.round(amp * Math.sin((2 * Math.PI * f * i) / fs));
  return out;
}

function upsampleFrames(rate: UpsampleRate, input: Int16Array): Int16Array {
  const up = new Upsampler(rate);
  const frame = rate / 50;
  const out = new Int16Array(input.length * up.factor);
  const buf = new Int16Array(frame * up.factor);
  for (let i = 0; i + frame <= input.length; i += frame) {
    up.process(input.subarray(i, i + frame), buf);
    out.set(buf, i * up.factor);
  }
  return out;
}

const db = (a: number, b: number): number => 20 * Math.log10(a / b);

describe.each([16_000, 24_000] as const)('Upsampler %d Hz → 48 kHz', (rate) => {
  const passband = rate === 16_000 ? [200, 1000, 3000, 5000] : [200, 1000, 4000, 8000];
  it.each(passband)('passes %d Hz within 0.5 dB', (f) => {
    const out = upsampleFrames(rate, tone(f, rate, rate));
    const a = amplitudeAt(out, f, 48_000, 480);
    expect(Math.abs(db(a, 10_000))).toBeLessThan(0.5);
  });

  it.each(passband)('rejects the image of %d Hz by at least 60 dB', (f) => {
    const out = upsampleFrames(rate, tone(f, rate, rate));
    const image = rate - f;
    const a = amplitudeAt(out, f, 48_000, 480);
    const img = amplitudeAt(out, image, 48_000, 480);
    expect(db(a, img)).toBeGreaterThan(60);
    if (rate === 16_000) expect(db(a, amplitudeAt(out, rate + f, 48_000, 480))).toBeGreaterThan(60);
  });

  it('is seamless across frames: frame by frame equals one block', () => {
    const input = tone(1234, rate, rate / 2);
    const framed = upsampleFrames(rate, input);
    const up = new Upsampler(rate, input.length);
    const block = new Int16Array(input.length * up.factor);
    up.process(input, block);
    expect(Array.from(framed)).toEqual(Array.from(block));
  });

  it('keeps DC at unity gain and silence silent', () => {
    const dc = new Int16Array(rate / 10).fill(8000);
    const out = upsampleFrames(rate, dc);
    for (let i = 200; i < out.length; i++) expect(Math.abs(out[i]! - 8000)).toBeLessThanOrEqual(1);
    const zero = upsampleFrames(rate, new Int16Array(rate / 10));
    expect(zero.every((v) => v === 0)).toBe(true);
  });

  it('clips full-scale input instead of wrapping', () => {
    const sq = new Int16Array(rate / 10);
    for (let i = 0; i < sq.length; i++) sq[i] = Math.floor(i / 8) % 2 === 0 ? 32767 : -32768;
    const out = upsampleFrames(rate, sq);
    // Gibbs overshoot would exceed int16; a wrap shows as a sign flip next to a full-scale sample.
    for (let i = 1; i < out.length; i++) {
      if (Math.abs(out[i - 1]!) > 30_000 && Math.abs(out[i]!) > 30_000) expect(Math.sign(out[i]!)).toBe(Math.sign(out[i - 1]!));
    }
  });
});

describe('Upsampler input checks', () => {
  it('rejects unsupported rates with a typed error', () => {
    expect(() => new Upsampler(8000 as UpsampleRate)).toThrowError(expect.objectContaining({ code: 'MEDIABOT_INGRESS_BAD_RATE' }));
  });
  it('rejects a too small output buffer', () => {
    const up = new Upsampler(16_000);
    expect(() => up.process(new Int16Array(320), new Int16Array(959))).toThrowError(expect.objectContaining({ code: 'MEDIABOT_BUFFER_TOO_SMALL' }));
  });
});
