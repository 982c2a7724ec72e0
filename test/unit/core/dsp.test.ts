import { describe, expect, it } from 'vitest';
import { createOpusDecoder, createOpusEncoder, packetHasFec, codecBackend, validateEncoderSettings, DEFAULT_ENCODER_SETTINGS } from '../../../src/media/codec/opus.js';
import { SAMPLES_16K, SAMPLES_48K } from '../../../src/media/core/frame.js';
import { frameLevelDbov } from '../../../src/media/codec/level.js';
import { Decimator48to16 } from '../../../src/media/codec/resampler.js';
import { TalkDetector } from '../../../src/media/core/talk-detector.js';
import { MediaClock } from '../../../src/media/core/clock.js';
import { correlation, speech48 } from '../../helpers/speech.js';

function tone(freq: number, frames: number, amp = 16_000): Int16Array {
  const out = new Int16Array(frames * SAMPLES_48K);
  for (let i = 0; i < out.length; i++) out[i] = Math.round(amp * Math.sin((2 * Math.PI * freq * i) / 48_000));
  return out;
}

function rms(x: Int16Array, from = 0): number {
  let s = 0;
  for (let i = from; i < x.length; i++) s += x[i]! * x[i]!;
  return Math.sqrt(s / Math.max(1, x.length - from));
}

function decimate(input: Int16Array): Int16Array {
  const d = new Decimator48to16();
  const frames = input.length / SAMPLES_48K;
  const out = new Int16Array(frames * SAMPLES_16K);
  for (let f = 0; f < frames; f++) d.process(input.subarray(f * SAMPLES_48K, (f + 1) * SAMPLES_48K), out.subarray(f * SAMPLES_16K, (f + 1) * SAMPLES_16K));
  return out;
}

describe('16 kHz speech tap (decimator)', () => {
  it('passes speech band tones and rejects what would alias above 8 kHz', () => {
    const pass = decimate(tone(1000, 20));
    const stop = decimate(tone(12_000, 20));
    const passDb = 20 * Math.log10(rms(pass, 320) / (16_000 / Math.SQRT2));
    const stopDb = 20 * Math.log10(rms(stop, 320) / (16_000 / Math.SQRT2));
    expect(Math.abs(passDb)).toBeLessThan(0.5);
    expect(stopDb).toBeLessThan(-50);
  });

  it('keeps real speech: the tap correlates with a reference resample by sox-free decimation', () => {
    const s = speech48('The speech tap must keep every word intelligible for the recognizer.');
    const frames = Math.floor(s.length / SAMPLES_48K);
    const tap = decimate(s.subarray(0, frames * SAMPLES_48K));
    // Compare with every third sample of the input (delayed by the filter's group delay).
    const naive = new Int16Array(tap.length);
    for (let i = 0; i < tap.length; i++) naive[i] = s[i * 3]!;
    const delay = 8; // 47/2 samples at 48 kHz ≈ 8 samples at 16 kHz
    expect(correlation(tap.subarray(delay), naive.subarray(0, naive.length - delay))).toBeGreaterThan(0.9);
  });
});

describe('codec', () => {
  it(`encodes and decodes real speech (${codecBackend} backend) with in-band FEC available`, () => {
    const s = speech48('Forward error correction lets a receiver rebuild a lost frame.');
    const enc = createOpusEncoder({ expectedLossPct: 20 });
    const dec = createOpusDecoder();
    const packet = new Uint8Array(1276);
    const out = new Int16Array(SAMPLES_48K);
    let withFec = 0;
    let total = 0;
    for (let f = 0; f + 1 <= s.length / SAMPLES_48K; f++) {
      const n = enc.encode(s.subarray(f * SAMPLES_48K, (f + 1) * SAMPLES_48K), packet);
      expect(n).toBeGreaterThan(0);
      expect(dec.decode(packet.subarray(0, n), out)).toBe(SAMPLES_48K);
      if (packetHasFec(packet.subarray(0, n))) {
        withFec++;
        if (codecBackend === 'native') expect(dec.decodeFec(packet.subarray(0, n), out)).toBe(SAMPLES_48K);
      }
      total++;
    }
    expect(withFec / total).toBeGreaterThan(0.5);
    expect(dec.conceal(out)).toBe(SAMPLES_48K);
  });

  it('rejects bad encoder settings with a typed error', () => {
    expect(() => validateEncoderSettings({ ...DEFAULT_ENCODER_SETTINGS, bitrate: 10 })).toThrow(/bitrate/);
    expect(() => validateEncoderSettings({ ...DEFAULT_ENCODER_SETTINGS, complexity: 11 })).toThrow(/complexity/);
    expect(() => validateEncoderSettings({ ...DEFAULT_ENCODER_SETTINGS, inbandFec: 'yes' as never })).toThrow(/inbandFec/);
    try {
      createOpusEncoder({ application: 'music' as never });
      expect.fail('should throw');
    } catch (err) {
      expect((err as { code: string }).code).toBe('MEDIABOT_CONFIG_INVALID');
    }
  });
});

describe('talk detection', () => {
  it('starts after the attack time, holds through short pauses, stops after the hang time', () => {
    const t = new TalkDetector({ attackMs: 40, hangMs: 200 });
    const seq = [...Array(10).fill(-90), ...Array(3).fill(-20), ...Array(5).fill(-90), ...Array(20).fill(-90)];
    const states = seq.map((l) => t.update(l));
    expect(states.slice(0, 10).every((x) => !x)).toBe(true);
    expect(states[10]).toBe(false); // first loud frame: still in attack
    expect(states[11]).toBe(true);
    expect(states.slice(13, 13 + 9).every((x) => x)).toBe(true); // hang: 10 frames
    expect(states[states.length - 1]).toBe(false);
  });

  it('uses the sender RFC 6464 voice flag when given', () => {
    const t = new TalkDetector({ attackMs: 20, hangMs: 20 });
    expect(t.update(-90, true)).toBe(true);
    expect(t.update(-10, false)).toBe(false);
  });

  it('measures levels in dBov', () => {
    expect(frameLevelDbov(new Int16Array(960))).toBe(-127);
    expect(frameLevelDbov(new Int16Array(960).fill(32767))).toBeGreaterThan(-0.01);
  });
});

describe('media clock', () => {
  it('schedules ticks on a fixed grid and reports lateness', async () => {
    const lateness: number[] = [];
    const clock = new MediaClock((_n, late) => lateness.push(late), { periodMs: 20 });
    clock.start();
    await new Promise((r) => setTimeout(r, 420));
    // A stall of 120 ms: the clock catches up without drifting.
    const until = performance.now() + 120;
    while (performance.now() < until);
    await new Promise((r) => setTimeout(r, 200));
    clock.stop();
    const n = clock.stats.ticks;
    // ~740 ms of wall time → 37 ticks, whatever the timer jitter (drift-corrected).
    expect(n).toBeGreaterThanOrEqual(34);
    expect(n).toBeLessThanOrEqual(40);
    expect(clock.stats.lateTicks).toBeGreaterThan(0); // the stall was seen
    expect(Math.max(...lateness)).toBeGreaterThan(100);
  });
});
