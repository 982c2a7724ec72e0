import { describe, expect, it } from 'vitest';
import { createOpusDecoder } from '../../../src/media/codec/opus.js';
import { JitterBuffer } from '../../../src/media/session/rtp/jitter-buffer.js';
import { parseRtp, serializeRtp } from '../../../src/media/wire/rtp.js';
import {
  InterarrivalJitter,
  NTP_UNIX_OFFSET_S,
  ReportBlockBuilder,
  dlsrFromMs,
  lossFraction,
  ntpFromUnixMs,
  ntpMiddle32,
  parseRtcp,
  roundTripMs,
  serializeRtcp,
  unixMsFromNtp,
} from '../../../src/media/wire/rtcp.js';
import { SequenceTracker } from '../../../src/media/wire/sequence.js';

describe('RFC 3550 A.3 loss fraction', () => {
  it.each([
    [100, 100, 0],
    [100, 90, 25], // 10/100 * 256 = 25.6 → 25
    [4, 3, 64],
    [100, 0, 255], // 256 saturates to 255
    [0, 0, 0],
    [10, 12, 0], // duplicates: more received than expected is not negative loss
  ])('expected %i, received %i → %i/256', (expected, received, fraction) => {
    expect(lossFraction(expected, received)).toBe(fraction);
  });

  it('is computed per interval with expected_prior/received_prior, cumulative over the stream', () => {
    const seq = new SequenceTracker(1);
    const jitter = new InterarrivalJitter();
    const builder = new ReportBlockBuilder();
    const counters = { ssrc: 77, get extendedHighestSeq() { return seq.extendedMax; }, get expected() { return seq.expected; }, get received() { return seq.received; }, get jitterRtp() { return jitter.value; } };
    // interval 1: 65530..65549 (wraps) with 5 lost
    for (let i = 0; i < 20; i++) if (![3, 4, 10, 11, 12].includes(i)) seq.update((65_530 + i) & 0xffff);
    const first = builder.build(counters);
    expect(first).toMatchObject({ ssrc: 77, fractionLost: 64, cumulativeLost: 5, highestSeq: 65_549 });
    // interval 2: 10 more, none lost → fraction 0, cumulative unchanged
    for (let i = 20; i < 30; i++) seq.update((65_530 + i) & 0xffff);
    expect(builder.build(counters)).toMatchObject({ fractionLost: 0, cumulativeLost: 5, highestSeq: 65_559 });
    // interval 3: 10 more sent, 2 lost, 3 duplicates → fraction 0 (net), cumulative 4
    for (let i = 30; i < 40; i++) if (i !== 31 && i !== 32) seq.update((65_530 + i) & 0xffff);
    for (let k = 0; k < 3; k++) seq.update((65_530 + 39) & 0xffff);
    expect(builder.build(counters)).toMatchObject({ fractionLost: 0, cumulativeLost: 4 });
  });
});

describe('RFC 3550 A.8 interarrival jitter', () => {
  it('is zero for a constant transit time, also across the timestamp wrap', () => {
    const j = new InterarrivalJitter(48_000);
    const ts0 = 2 ** 32 - 960 * 10;
    for (let i = 0; i < 40; i++) j.update(1000 + i * 20, (ts0 + i * 960) >>> 0);
    expect(j.value).toBe(0);
  });

  it('converges to |D| for alternating transit, with the 1/16 gain', () => {
    const j = new InterarrivalJitter(48_000);
    j.update(0, 0);
    j.update(24, 960); // D = 4 ms = 192 ticks
    expect(j.value).toBeCloseTo(192 / 16, 10);
    for (let i = 2; i < 400; i++) j.update(i * 20 + (i % 2 === 1 ? 4 : 0), i * 960);
    expect(j.ms).toBeCloseTo(4, 3);
  });

  it('feeds the jitter buffer, which reports it in ms and RTP units', () => {
    const jb = new JitterBuffer({ createDecoder: createOpusDecoder });
    const payload = Uint8Array.of(0xf8, 0xff, 0xfe); // a valid tiny Opus packet (CELT silence)
    for (let i = 0; i < 300; i++) {
      jb.push(parseRtp(serializeRtp({ payloadType: 111, sequence: i, timestamp: i * 960, ssrc: 5, payload })), i * 20 + (i % 2 === 1 ? 6 : 0));
      jb.pull(new Int16Array(960));
    }
    expect(jb.stats.jitterMs).toBeCloseTo(6, 2);
    expect(jb.stats.jitterRtp).toBe(Math.floor(jb.reception.jitterRtp));
    expect(jb.stats.jitterRtp).toBeGreaterThan(280);
    expect(jb.stats.jitterRtp).toBeLessThanOrEqual(288);
  });
});

describe('report block from a jitter buffer', () => {
  it('carries loss, extended sequence and jitter, and survives the wire', () => {
    const jb = new JitterBuffer({ createDecoder: createOpusDecoder });
    const payload = Uint8Array.of(0xf8, 0xff, 0xfe);
    for (let i = 0; i < 100; i++) {
      if (i % 10 === 5) continue; // 10 % loss
      jb.push(parseRtp(serializeRtp({ payloadType: 111, sequence: (65_500 + i) & 0xffff, timestamp: i * 960, ssrc: 0xdead_beef, payload })), i * 20);
      jb.pull(new Int16Array(960));
    }
    expect(jb.stats).toMatchObject({ expected: 100, cumulativeLost: 10, extendedHighestSeq: 65_599 });
    const block = new ReportBlockBuilder().build(jb.reception, ntpMiddle32(0x1234_5678, 0x8000_0000), dlsrFromMs(250));
    expect(block).toMatchObject({ ssrc: 0xdead_beef, fractionLost: 25, cumulativeLost: 10, highestSeq: 65_599, jitter: 0, lsr: 0x5678_8000, dlsr: 16_384 });
    const [rr] = parseRtcp(serializeRtcp([{ type: 'rr', ssrc: 1, reports: [block] }]));
    expect(rr).toEqual({ type: 'rr', ssrc: 1, reports: [block] });
  });
});

describe('NTP time', () => {
  it('converts Unix ms to NTP and back', () => {
    expect(ntpFromUnixMs(0)).toEqual({ seconds: NTP_UNIX_OFFSET_S, fraction: 0 });
    expect(ntpFromUnixMs(1500)).toEqual({ seconds: NTP_UNIX_OFFSET_S + 1, fraction: 0x8000_0000 });
    const now = Date.UTC(2026, 10, 27, 12, 0, 0, 250);
    const n = ntpFromUnixMs(now);
    expect(unixMsFromNtp(n.seconds, n.fraction)).toBeCloseTo(now, 3);
  });

  it('computes the RFC 3550 6.4.1 round-trip example: A=0xb710:8000, LSR=0xb705:2000, DLSR=0x0005:4000 → 6.125 s', () => {
    // an arrival time whose middle 32 NTP bits are 0xb7108000 (46864.5 s in the 16.16 clock)
    const seconds = 0xe000_b710;
    const arrivalUnixMs = (seconds - NTP_UNIX_OFFSET_S) * 1000 + 500;
    expect(ntpMiddle32(ntpFromUnixMs(arrivalUnixMs).seconds, ntpFromUnixMs(arrivalUnixMs).fraction)).toBe(0xb710_8000);
    expect(roundTripMs(arrivalUnixMs, 0xb705_2000, 0x0005_4000)).toBe(6125);
    expect(roundTripMs(arrivalUnixMs, 0, 0)).toBeNull();
    expect(dlsrFromMs(5250)).toBe(0x0005_4000);
  });
});
