import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MediabotError } from '../../../src/errors.js';
import { parseRtcp, rtcpByteLength, serializeRtcp, type RtcpPacket, type RtcpReportBlock } from '../../../src/media/wire/rtcp.js';

const RTCP_CODES = ['MEDIABOT_RTCP_MALFORMED', 'MEDIABOT_RTP_BAD_VERSION'];

function codeOf(fn: () => unknown): string | null {
  try {
    fn();
    return null;
  } catch (err) {
    if (!(err instanceof MediabotError)) throw err;
    return err.code;
  }
}

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const text = fc.string({ maxLength: 60 });

const block: fc.Arbitrary<RtcpReportBlock> = fc.record({
  ssrc: u32,
  fractionLost: fc.integer({ min: 0, max: 255 }),
  cumulativeLost: fc.integer({ min: -0x800000, max: 0x7fffff }),
  highestSeq: u32,
  jitter: u32,
  lsr: u32,
  dlsr: u32,
});

const packet: fc.Arbitrary<RtcpPacket> = fc.oneof(
  fc.record({
    type: fc.constant('sr' as const),
    ssrc: u32,
    ntpSeconds: u32,
    ntpFraction: u32,
    rtpTimestamp: u32,
    packetCount: u32,
    octetCount: u32,
    reports: fc.array(block, { maxLength: 4 }),
  }),
  fc.record({ type: fc.constant('rr' as const), ssrc: u32, reports: fc.array(block, { maxLength: 4 }) }),
  fc.record({ type: fc.constant('sdes' as const), chunks: fc.array(fc.record({ ssrc: u32, cname: fc.option(text, { nil: null }) }), { maxLength: 4 }) }),
  fc.record({ type: fc.constant('bye' as const), ssrcs: fc.array(u32, { maxLength: 4 }), reason: fc.option(text, { nil: null }) }),
);
const compound = fc.array(packet, { minLength: 1, maxLength: 5 });

/** Byte offsets where each packet of a compound ends. */
function boundaries(buf: Uint8Array): Set<number> {
  const ends = new Set<number>();
  for (let o = 0; o + 4 <= buf.length; ) {
    o += 4 + ((buf[o + 2]! << 8) | buf[o + 3]!) * 4;
    ends.add(o);
  }
  return ends;
}

describe('RTCP properties', () => {
  it('arbitrary bytes parse or fail with an RTCP MediabotError', () => {
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 120 }),
      fc.uint8Array({ minLength: 4, maxLength: 120 }).map((b) => {
        b[0] = (b[0]! & 0x3f) | 0x80; // version 2
        b[1] = 200 + (b[1]! % 5); // a known type, so the body parsers get fuzzed
        return b;
      }),
    );
    fc.assert(
      fc.property(bytes, (buf) => {
        const code = codeOf(() => parseRtcp(buf));
        if (code !== null) expect(RTCP_CODES).toContain(code);
      }),
      { numRuns: 3000 },
    );
  });

  it('serialize → parse round-trips compound SR, RR, SDES and BYE', () => {
    fc.assert(
      fc.property(compound, (packets) => {
        const wire = serializeRtcp(packets);
        expect(wire.length).toBe(rtcpByteLength(packets));
        expect(wire.length % 4).toBe(0);
        expect(parseRtcp(wire)).toEqual(packets);
      }),
      { numRuns: 1500 },
    );
  });

  it('CNAME and BYE reason carry any Unicode text as UTF-8 (lone surrogates as U+FFFD, like TextEncoder)', () => {
    const utf8 = (t: string) => new TextDecoder().decode(new TextEncoder().encode(t));
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 60 }), fc.string({ unit: 'binary', maxLength: 60 }), (cname, reason) => {
        const wire = serializeRtcp([{ type: 'sdes', chunks: [{ ssrc: 1, cname }] }, { type: 'bye', ssrcs: [1], reason }]);
        expect(wire[8 + 1]).toBe(new TextEncoder().encode(cname).length);
        expect(parseRtcp(wire)).toEqual([
          { type: 'sdes', chunks: [{ ssrc: 1, cname: utf8(cname) }] },
          { type: 'bye', ssrcs: [1], reason: utf8(reason) },
        ]);
      }),
      { numRuns: 1000 },
    );
  });

  it('every truncation off a packet boundary is MEDIABOT_RTCP_MALFORMED', () => {
    fc.assert(
      fc.property(compound, fc.nat(), (packets, cutSeed) => {
        const wire = serializeRtcp(packets);
        const cut = cutSeed % wire.length;
        const code = codeOf(() => parseRtcp(wire.subarray(0, cut)));
        if (boundaries(wire).has(cut)) expect(code).toBeNull();
        else expect(code).toBe('MEDIABOT_RTCP_MALFORMED');
      }),
      { numRuns: 1500 },
    );
  });

  it('unknown packet types inside a compound are skipped', () => {
    fc.assert(
      fc.property(compound, fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 5 }), fc.nat(), (packets, type, words, at) => {
        fc.pre(type < 200 || type > 203);
        const unknown = new Uint8Array(4 + words * 4).fill(0xee);
        unknown.set([0x80 | 3, type, 0, words]);
        const wires = packets.map((p) => serializeRtcp([p]));
        wires.splice(at % (wires.length + 1), 0, unknown);
        const buf = new Uint8Array(wires.reduce((n, w) => n + w.length, 0));
        let o = 0;
        for (const w of wires) {
          buf.set(w, o);
          o += w.length;
        }
        expect(parseRtcp(buf)).toEqual(packets);
      }),
      { numRuns: 500 },
    );
  });
});

describe('RTCP cases', () => {
  const hex = (s: string) => Uint8Array.from((s.replace(/\s+/g, '').match(/../g) ?? []).map((h) => parseInt(h, 16)));

  it('reads a hand-built RR with a negative cumulative loss, and padding on the last packet', () => {
    // RR, RC=1, length 7 | ssrc | block: ssrc, fraction 0x40, cumulative -2, ext seq 0x0001_0005, jitter 40, lsr, dlsr
    // then BYE with P=1: one SSRC and 4 bytes of padding
    const buf = hex('81c9 0007 00000001 00000002 40fffffe 00010005 00000028 aabbccdd 00010000  a1cb 0002 00000002 00000004');
    expect(parseRtcp(buf)).toEqual([
      { type: 'rr', ssrc: 1, reports: [{ ssrc: 2, fractionLost: 64, cumulativeLost: -2, highestSeq: 0x10005, jitter: 40, lsr: 0xaabbccdd, dlsr: 65536 }] },
      { type: 'bye', ssrcs: [2], reason: null },
    ]);
  });

  it.each([
    ['empty', '', 'MEDIABOT_RTCP_MALFORMED'],
    ['version 1', '41c9 0001 00000001', 'MEDIABOT_RTP_BAD_VERSION'],
    ['length past the buffer', '80c9 0002 00000001', 'MEDIABOT_RTCP_MALFORMED'],
    ['RR count larger than the body', '81c9 0001 00000001', 'MEDIABOT_RTCP_MALFORMED'],
    ['padding on a packet that is not last', 'a0c9 0001 00000001  80c9 0001 00000001', 'MEDIABOT_RTCP_MALFORMED'],
    ['padding count 0', 'a0cb 0001 00000000', 'MEDIABOT_RTCP_MALFORMED'],
    ['SDES item past the packet', '81ca 0002 00000001 0109 61626300', 'MEDIABOT_RTCP_MALFORMED'],
    ['SDES items without terminator', '81ca 0002 00000001 01026162 ', 'MEDIABOT_RTCP_MALFORMED'],
    ['BYE reason past the packet', '81cb 0002 00000001 09616263', 'MEDIABOT_RTCP_MALFORMED'],
  ])('%s → %s', (_name, bytes, code) => {
    expect(codeOf(() => parseRtcp(hex(bytes)))).toBe(code);
  });

  it('builds a CNAME SDES exactly as RFC 3550 lays it out', () => {
    const wire = serializeRtcp([{ type: 'sdes', chunks: [{ ssrc: 0x01020304, cname: 'abc' }] }]);
    expect(Buffer.from(wire).toString('hex')).toBe('81ca0003' + '01020304' + '0103616263' + '000000');
    // type + length + 'ab' fill a word exactly, so the null terminator takes a whole extra word
    expect(Buffer.from(serializeRtcp([{ type: 'sdes', chunks: [{ ssrc: 1, cname: 'ab' }] }])).toString('hex')).toBe('81ca0003' + '00000001' + '01026162' + '00000000');
  });

  it('rejects out-of-range fields when building', () => {
    const b = { ssrc: 1, fractionLost: 0, cumulativeLost: 0, highestSeq: 0, jitter: 0, lsr: 0, dlsr: 0 };
    for (const bad of [{ fractionLost: 256 }, { cumulativeLost: 0x800000 }, { jitter: -1 }, { ssrc: 2 ** 32 }]) {
      expect(codeOf(() => serializeRtcp([{ type: 'rr', ssrc: 1, reports: [{ ...b, ...bad }] }]))).toBe('MEDIABOT_RTP_INVALID_FIELD');
    }
    expect(codeOf(() => serializeRtcp([{ type: 'rr', ssrc: 1, reports: new Array(32).fill(b) }]))).toBe('MEDIABOT_RTP_INVALID_FIELD');
    expect(codeOf(() => serializeRtcp([{ type: 'bye', ssrcs: [1], reason: 'x'.repeat(256) }]))).toBe('MEDIABOT_RTP_INVALID_FIELD');
    expect(codeOf(() => serializeRtcp([{ type: 'rr', ssrc: 1, reports: [] }], new Uint8Array(4)))).toBe('MEDIABOT_BUFFER_TOO_SMALL');
  });
});
