import { describe, expect, it } from 'vitest';
import { createOpusEncoder, packetHasFec } from '../../../src/media/codec/opus.js';
import type { FrameEncoder } from '../../../src/media/codec/types.js';
import { SAMPLES_48K } from '../../../src/media/core/frame.js';
import { SoftLimiter } from '../../../src/media/core/limiter.js';
import { Mixer, type MixParticipant } from '../../../src/media/core/mixer.js';
import { correlation, speech48 } from '../../helpers/speech.js';

/** A real libopus encoder that also keeps a copy of every frame it was given. */
class RecordingEncoder implements FrameEncoder {
  readonly frames: Int16Array[] = [];
  private readonly inner = createOpusEncoder();
  encode(pcm: Int16Array, out: Uint8Array): number {
    this.frames.push(pcm.slice());
    return this.inner.encode(pcm, out);
  }
  setExpectedLossPct(pct: number): void {
    this.inner.setExpectedLossPct?.(pct);
  }
}

function participant(talking: boolean, contributes = true): MixParticipant & { encoder: RecordingEncoder; reportedLossPct: number } {
  return {
    pcm48: new Int16Array(SAMPLES_48K),
    contributes,
    talking,
    encoder: new RecordingEncoder(),
    limiter: new SoftLimiter(),
    packet: new Uint8Array(1276),
    packetLength: 0,
    ownPacket: false,
    reportedLossPct: -1,
  };
}

function concat(frames: Int16Array[]): Int16Array {
  const out = new Int16Array(frames.length * SAMPLES_48K);
  frames.forEach((f, i) => out.set(f, i * SAMPLES_48K));
  return out;
}

describe('mixer', () => {
  it("leaves a talker's own voice out of its mix-minus (correlation on real speech)", () => {
    const a = speech48('Alice is talking about the quarterly numbers and the new release date.', 'en-us+f3');
    const b = speech48('Brian answers with a question about the support team and the budget.', 'en-us+m3');
    const frames = Math.floor(Math.min(a.length, b.length) / SAMPLES_48K);
    const mixFull = new RecordingEncoder();
    const mixer = new Mixer(mixFull);
    const pa = participant(true);
    const pb = participant(true);
    const pc = participant(false);
    const parts = [pa, pb, pc];
    for (let f = 0; f < frames; f++) {
      pa.pcm48.set(a.subarray(f * SAMPLES_48K, (f + 1) * SAMPLES_48K));
      pb.pcm48.set(b.subarray(f * SAMPLES_48K, (f + 1) * SAMPLES_48K));
      mixer.mix(parts, 3);
      mixer.encode(parts, 3, false);
      expect(pa.ownPacket && pb.ownPacket && !pc.ownPacket).toBe(true);
    }
    const heardByA = concat(pa.encoder.frames);
    const heardByB = concat(pb.encoder.frames);
    const n = frames * SAMPLES_48K;
    const aSrc = a.subarray(0, n);
    const bSrc = b.subarray(0, n);
    expect(correlation(heardByA, bSrc)).toBeGreaterThan(0.95);
    expect(Math.abs(correlation(heardByA, aSrc))).toBeLessThan(0.1);
    expect(correlation(heardByB, aSrc)).toBeGreaterThan(0.95);
    expect(Math.abs(correlation(heardByB, bSrc))).toBeLessThan(0.1);
    // The non-talker hears both, through the one shared encode.
    const full = concat(mixFull.frames);
    expect(correlation(full, aSrc)).toBeGreaterThan(0.5);
    expect(correlation(full, bSrc)).toBeGreaterThan(0.5);
  });

  it('never wraps around when two full-scale sines are mixed', () => {
    const mixer = new Mixer(createOpusEncoder());
    const p1 = participant(false);
    const p2 = participant(false);
    let minOut = 0;
    let maxOut = 0;
    let flips = 0;
    for (let f = 0; f < 100; f++) {
      for (let i = 0; i < SAMPLES_48K; i++) {
        const t = f * SAMPLES_48K + i;
        p1.pcm48[i] = Math.round(32767 * Math.sin((2 * Math.PI * 440 * t) / 48_000));
        p2.pcm48[i] = Math.round(32767 * Math.sin((2 * Math.PI * 440 * t) / 48_000 + 0.3));
      }
      mixer.mix([p1, p2], 2);
      for (let i = 0; i < SAMPLES_48K; i++) {
        const sum = p1.pcm48[i]! + p2.pcm48[i]!;
        const out = mixer.mix48[i]!;
        // A wrap-around shows as a sign flip of a large sum.
        if (Math.abs(sum) > 1000 && Math.sign(out) !== Math.sign(sum)) flips++;
        minOut = Math.min(minOut, out);
        maxOut = Math.max(maxOut, out);
      }
    }
    expect(flips).toBe(0);
    expect(maxOut).toBeLessThanOrEqual(32767);
    expect(minOut).toBeGreaterThanOrEqual(-32768);
    // The limiter keeps the level high, not muted.
    expect(maxOut).toBeGreaterThan(20_000);
  });

  it.each([
    { participants: 10, talkers: 0, expected: 1 },
    { participants: 10, talkers: 2, expected: 3 },
    { participants: 50, talkers: 3, expected: 4 },
    { participants: 3, talkers: 3, expected: 3 },
  ])('encodes talkers + 1 per tick ($participants participants, $talkers talkers)', ({ participants, talkers, expected }) => {
    const mixer = new Mixer(createOpusEncoder());
    const parts = Array.from({ length: participants }, (_, i) => participant(i < talkers));
    const s = speech48('Counting encodes per tick.');
    for (const p of parts) p.pcm48.set(s.subarray(48_000, 48_000 + SAMPLES_48K));
    mixer.mix(parts, participants);
    mixer.encode(parts, participants, false);
    // When everyone talks nobody needs the full mix: talkers encodes only.
    expect(mixer.encodes).toBe(expected);
    expect(parts.filter((p) => p.ownPacket).length).toBe(talkers);
  });
  it('plans in-band FEC for the loss receivers report: none while nobody reports loss, then for the worst listener', () => {
    const speech = speech48('Every listener hears the same full mix, encoded once for all of them.', 'en-us+m3');
    const talker = participant(true);
    const listeners = [participant(false), participant(false)];
    const all = [talker, ...listeners];
    const mixer = new Mixer(createOpusEncoder(), { adaptive: true, basePct: 0 });
    const fecShare = (ticks: number, from: number): { mix: number; talker: number } => {
      let mix = 0;
      let own = 0;
      for (let t = 0; t < ticks; t++) {
        const o = ((from + t) * SAMPLES_48K) % (speech.length - SAMPLES_48K);
        talker.pcm48.set(speech.subarray(o, o + SAMPLES_48K));
        // A listener's room sound, so the talker's mix-minus is not silence (FEC codes only active speech).
        const q = (o + 37 * SAMPLES_48K) % (speech.length - SAMPLES_48K);
        listeners[0]!.pcm48.set(speech.subarray(q, q + SAMPLES_48K));
        mixer.mix(all, all.length);
        mixer.encode(all, all.length, false);
        if (packetHasFec(mixer.mixPacket.subarray(0, mixer.mixPacketLength))) mix++;
        if (packetHasFec(talker.packet.subarray(0, talker.packetLength))) own++;
      }
      return { mix: mix / ticks, talker: own / ticks };
    };
    expect(fecShare(100, 0)).toEqual({ mix: 0, talker: 0 });
    listeners[1]!.reportedLossPct = 12.5; // one listener reports 32/256 lost
    const lossy = fecShare(100, 100);
    expect(lossy.mix).toBeGreaterThan(0.5);
    expect(lossy.talker).toBe(0); // the talker itself reports no loss
    talker.reportedLossPct = 20;
    expect(fecShare(100, 200).talker).toBeGreaterThan(0.5);
    // A fixed policy ignores the reports.
    const fixed = new Mixer(createOpusEncoder({ expectedLossPct: 0 }), { adaptive: false, basePct: 0 });
    talker.pcm48.set(speech.subarray(0, SAMPLES_48K));
    for (let t = 0; t < 20; t++) {
      fixed.mix(all, all.length);
      fixed.encode(all, all.length, false);
      expect(packetHasFec(fixed.mixPacket.subarray(0, fixed.mixPacketLength))).toBe(false);
    }
  });
});
