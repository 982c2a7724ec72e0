import { describe, expect, it } from 'vitest';
import { codecBackend, createOpusDecoder, createOpusEncoder, packetHasFec, type EncoderSettings } from '../../../src/media/codec/opus.js';
import { SAMPLES_16K, SAMPLES_48K } from '../../../src/media/core/frame.js';
import { correlation, speech48 } from '../../helpers/speech.js';

const SENTENCE = 'Please send the revised budget to the finance team before Friday.';

function encode(settings: Partial<EncoderSettings>, pcm = speech48(SENTENCE, 'en-us+f3')): Uint8Array[] {
  const enc = createOpusEncoder(settings);
  const out = new Uint8Array(1276);
  const packets: Uint8Array[] = [];
  for (let o = 0; o + SAMPLES_48K <= pcm.length; o += SAMPLES_48K) packets.push(out.slice(0, enc.encode(pcm.subarray(o, o + SAMPLES_48K), out)));
  return packets;
}

/** The Opus mode of a packet from its TOC config (RFC 6716 section 3.1). */
function mode(p: Uint8Array): 'silk' | 'hybrid' | 'celt' {
  const config = p[0]! >> 3;
  return config < 12 ? 'silk' : config < 16 ? 'hybrid' : 'celt';
}

type Step = { kind: 'packet'; p: Uint8Array } | { kind: 'lost' } | { kind: 'fec'; next: Uint8Array };

/** Every step's 16 kHz frame from the speech decoder and from libopus's own 16 kHz decode, concatenated. */
function both(steps: Step[]): { speech: Int16Array; libopus: Int16Array; lengths: number[] } {
  const speechDec = createOpusDecoder(16_000);
  const fullDec = createOpusDecoder(16_000, { fullDecode: true });
  const speech = new Int16Array(steps.length * SAMPLES_16K);
  const libopus = new Int16Array(steps.length * SAMPLES_16K);
  const lengths: number[] = [];
  steps.forEach((s, i) => {
    const a = speech.subarray(i * SAMPLES_16K, (i + 1) * SAMPLES_16K);
    const b = libopus.subarray(i * SAMPLES_16K, (i + 1) * SAMPLES_16K);
    if (s.kind === 'packet') {
      lengths.push(speechDec.decode(s.p, a));
      fullDec.decode(s.p, b);
    } else if (s.kind === 'lost') {
      lengths.push(speechDec.conceal(a));
      fullDec.conceal(b);
    } else {
      lengths.push(speechDec.decodeFec(s.next, a));
      fullDec.decodeFec(s.next, b);
    }
  });
  return { speech, libopus, lengths };
}

function maxDiff(a: Int16Array, b: Int16Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function rms(a: Int16Array): number {
  let s = 0;
  for (const v of a) s += v * v;
  return Math.sqrt(s / a.length);
}

describe.skipIf(codecBackend !== 'native')('the 16 kHz speech decoder (SILK layer alone)', () => {
  it('decodes hybrid packets exactly as libopus decodes them to 16 kHz, concealment included', () => {
    const packets = encode({});
    expect(packets.every((p) => mode(p) === 'hybrid')).toBe(true); // the path under test, not the fallback
    const steps: Step[] = packets.map((p, i) => (i % 17 === 9 ? { kind: 'lost' } : { kind: 'packet', p }));
    const r = both(steps);
    expect(r.lengths.every((n) => n === SAMPLES_16K)).toBe(true);
    expect(rms(r.speech)).toBeGreaterThan(300); // real speech came out, not silence
    expect(maxDiff(r.speech, r.libopus)).toBe(0);
  });

  it('recovers a lost frame from the next packet\'s in-band FEC as libopus does', () => {
    const packets = encode({ expectedLossPct: 20, adaptiveLoss: false });
    const withFec = packets.map((p, i) => (i > 0 && packetHasFec(p) ? i : -1)).filter((i) => i > 0);
    expect(withFec.length).toBeGreaterThan(packets.length / 2);
    const lost = new Set(withFec.filter((_, k) => k % 5 === 2));
    const steps: Step[] = packets.flatMap((p, i): Step[] => (lost.has(i + 1) ? [{ kind: 'packet', p }] : lost.has(i) ? [{ kind: 'fec', next: p }, { kind: 'packet', p }] : [{ kind: 'packet', p }]));
    const r = both(steps);
    expect(r.lengths.every((n) => n === SAMPLES_16K)).toBe(true);
    expect(maxDiff(r.speech, r.libopus)).toBe(0);
  });

  it('decodes SILK-only packets (narrow- to wideband) exactly as libopus does', () => {
    const rates = new Set<number>();
    for (const bitrate of [8000, 12_000]) {
      const packets = encode({ bitrate });
      expect(packets.every((p) => mode(p) === 'silk')).toBe(true);
      for (const p of packets) rates.add(p[0]! >> 5); // 0: narrowband, 1: mediumband, 2: wideband (SILK-only configs)
      const r = both(packets.map((p) => ({ kind: 'packet', p })));
      expect(maxDiff(r.speech, r.libopus)).toBe(0);
    }
    expect(rates.has(0) && rates.has(2)).toBe(true);
  });

  it('hands CELT-only packets to libopus, and follows a stream that changes mode mid-call', () => {
    const pcm = speech48(SENTENCE, 'en-us+f3');
    const celt = encode({ application: 'lowdelay' }, pcm);
    expect(celt.every((p) => mode(p) === 'celt')).toBe(true);
    const only = both(celt.map((p) => ({ kind: 'packet', p })));
    expect(maxDiff(only.speech, only.libopus)).toBe(0);
    // Hybrid, then CELT, then hybrid again (a sender switching application mid-call): every frame is
    // 20 ms, and the speech stays the same speech as libopus's decode apart from the two transitions.
    const hybrid = encode({}, pcm);
    const third = Math.floor(hybrid.length / 3);
    const mixed = [...hybrid.slice(0, third), ...celt.slice(third, 2 * third), ...hybrid.slice(2 * third)];
    const r = both(mixed.map((p) => ({ kind: 'packet', p })));
    expect(r.lengths.every((n) => n === SAMPLES_16K)).toBe(true);
    expect(correlation(r.speech, r.libopus)).toBeGreaterThan(0.97);
    expect(maxDiff(r.speech.subarray(0, third * SAMPLES_16K), r.libopus.subarray(0, third * SAMPLES_16K))).toBe(0);
  });

  it('decodes garbage behind a SILK or hybrid TOC without crashing, and refuses an oversized frame as libopus does', () => {
    const speechDec = createOpusDecoder(16_000);
    const fullDec = createOpusDecoder(16_000, { fullDecode: true });
    const out = new Int16Array(SAMPLES_16K);
    let seed = 99;
    for (let i = 0; i < 300; i++) {
      const p = new Uint8Array(2 + (i % 120));
      for (let k = 0; k < p.length; k++) p[k] = (seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0) >>> 24;
      p[0] = ([1, 5, 9, 13, 15][i % 5]! << 3) | 0; // 20 ms SILK NB/MB/WB, hybrid SWB/FB, mono, one frame
      expect(speechDec.decode(p, out)).toBe(SAMPLES_16K);
    }
    const huge = new Uint8Array(1400);
    huge[0] = 15 << 3;
    expect(() => speechDec.decode(huge, out)).toThrow(expect.objectContaining({ code: 'MEDIABOT_CODEC_FAILED' }));
    expect(() => fullDec.decode(huge, out)).toThrow(expect.objectContaining({ code: 'MEDIABOT_CODEC_FAILED' }));
    // Still decodes real speech afterwards.
    const packets = encode({});
    for (const p of packets.slice(0, 20)) expect(speechDec.decode(p, out)).toBe(SAMPLES_16K);
  });

  it('treats a TOC byte alone (DTX) and a reset like libopus', () => {
    const packets = encode({});
    const speechDec = createOpusDecoder(16_000);
    const fullDec = createOpusDecoder(16_000, { fullDecode: true });
    const a = new Int16Array(SAMPLES_16K);
    const b = new Int16Array(SAMPLES_16K);
    for (let i = 0; i < 30; i++) {
      const p = i === 12 || i === 13 ? packets[i]!.subarray(0, 1) : packets[i]!;
      expect(speechDec.decode(p, a)).toBe(fullDec.decode(p, b));
      expect(maxDiff(a, b)).toBe(0);
      if (i === 20) {
        speechDec.reset();
        fullDec.reset();
      }
    }
  });
});
