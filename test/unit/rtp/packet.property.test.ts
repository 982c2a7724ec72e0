import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MediabotError } from '../../../src/errors.js';
import {
  EXT_PROFILE_ONE_BYTE,
  emptyRtpPacket,
  isRtcp,
  parseRtp,
  parseRtpInto,
  serializeRtp,
  writeRtp,
  type RtpExtension,
  type RtpPacketInit,
} from '../../../src/media/wire/rtp.js';

const RTP_CODES = ['MEDIABOT_RTP_TRUNCATED', 'MEDIABOT_RTP_BAD_VERSION', 'MEDIABOT_RTP_BAD_PADDING', 'MEDIABOT_RTP_BAD_EXTENSION'];

function codeOf(fn: () => unknown): string | null {
  try {
    fn();
    return null;
  } catch (err) {
    if (!(err instanceof MediabotError)) throw err; // anything else fails the property
    return err.code;
  }
}

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const oneByteExt = fc.record({ id: fc.integer({ min: 1, max: 14 }), data: fc.uint8Array({ minLength: 1, maxLength: 16 }) });
const twoByteExt = fc.record({ id: fc.integer({ min: 1, max: 255 }), data: fc.uint8Array({ minLength: 0, maxLength: 255 }) });

const packetInit: fc.Arbitrary<RtpPacketInit> = fc.record({
  payloadType: fc.integer({ min: 0, max: 127 }),
  marker: fc.boolean(),
  sequence: fc.integer({ min: 0, max: 0xffff }),
  timestamp: u32,
  ssrc: u32,
  csrcs: fc.array(u32, { maxLength: 15 }),
  extensions: fc.oneof(fc.array(oneByteExt, { maxLength: 6 }), fc.array(twoByteExt, { maxLength: 4 })),
  twoByteExtensions: fc.boolean(),
  payload: fc.uint8Array({ maxLength: 300 }),
  paddingLength: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 255 })),
});

/** Bytes before the payload: fixed header, CSRCs, extension block. */
function headerLength(buf: Uint8Array): number {
  let n = 12 + (buf[0]! & 0x0f) * 4;
  if (buf[0]! & 0x10) n += 4 + ((buf[n + 2]! << 8) | buf[n + 3]!) * 4;
  return n;
}

describe('RTP packet properties', () => {
  it('arbitrary bytes parse or fail with an RTP MediabotError, and views stay inside the buffer', () => {
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 120 }),
      // mostly version 2, so the parser gets past the first check
      fc.uint8Array({ minLength: 1, maxLength: 120 }).map((b) => {
        b[0] = (b[0]! & 0x3f) | 0x80;
        return b;
      }),
      // a header extension block of a known profile filled with random elements
      fc
        .tuple(fc.constantFrom(0xbede, 0x1000, 0x100f, 0xabcd), fc.integer({ min: 0, max: 8 }), fc.uint8Array({ maxLength: 60 }), fc.boolean())
        .map(([profile, words, rest, padded]) => Uint8Array.of(padded ? 0xb0 : 0x90, 0x6f, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, profile >> 8, profile & 0xff, 0, words, ...rest)),
    );
    fc.assert(
      fc.property(bytes, (buf) => {
        let p;
        try {
          p = parseRtp(buf);
        } catch (err) {
          expect(err).toBeInstanceOf(MediabotError);
          expect(RTP_CODES).toContain((err as MediabotError).code);
          return;
        }
        const within = (v: Uint8Array) => v.buffer === buf.buffer && v.byteOffset >= buf.byteOffset && v.byteOffset + v.length <= buf.byteOffset + buf.length;
        expect(within(p.payload)).toBe(true);
        for (const e of p.extensions) {
          expect(within(e.data)).toBe(true);
          expect(e.data.byteOffset + e.data.length).toBeLessThanOrEqual(p.payload.byteOffset); // inside the extension block
        }
        expect(p.payload.length + p.paddingLength).toBeLessThanOrEqual(buf.length - 12);
      }),
      { numRuns: 3000 },
    );
  });

  it('serialize → parse round-trips headers, CSRCs, extensions (both forms), payload and padding', () => {
    fc.assert(
      fc.property(packetInit, (init) => {
        const wire = serializeRtp(init);
        const p = parseRtp(wire);
        expect(p.payloadType).toBe(init.payloadType);
        expect(p.marker).toBe(init.marker);
        expect(p.sequence).toBe(init.sequence);
        expect(p.timestamp).toBe(init.timestamp);
        expect(p.ssrc).toBe(init.ssrc);
        expect(p.csrcs).toEqual(init.csrcs);
        expect(p.extensions.map((e) => ({ id: e.id, data: [...e.data] }))).toEqual(init.extensions!.map((e) => ({ id: e.id, data: [...e.data] })));
        expect([...p.payload]).toEqual([...init.payload]);
        expect(p.paddingLength).toBe(init.paddingLength);
        const level = [...init.extensions!].reverse().find((e) => e.id === 1 && e.data.length > 0);
        expect(p.audioLevel).toEqual(level ? { voice: (level.data[0]! & 0x80) !== 0, level: level.data[0]! & 0x7f } : null);
        // into a larger caller buffer: same bytes
        const out = new Uint8Array(wire.length + 17);
        expect([...serializeRtp(init, out)]).toEqual([...wire]);
      }),
      { numRuns: 1500 },
    );
  });

  it('every truncation inside the headers is MEDIABOT_RTP_TRUNCATED; later ones parse or fail typed', () => {
    fc.assert(
      fc.property(packetInit, fc.nat(), (init, cutSeed) => {
        const wire = serializeRtp(init);
        const header = headerLength(wire);
        const cut = cutSeed % wire.length;
        const code = codeOf(() => parseRtp(wire.subarray(0, cut)));
        if (cut < header) expect(code).toBe('MEDIABOT_RTP_TRUNCATED');
        else if (code !== null) expect(RTP_CODES).toContain(code);
      }),
      { numRuns: 1500 },
    );
  });

  it('writeRtp writes what serializeRtp writes, and parses back with the audio level', () => {
    fc.assert(
      fc.property(
        packetInit,
        fc.option(fc.record({ extId: fc.integer({ min: 1, max: 14 }), voice: fc.boolean(), level: fc.integer({ min: 0, max: 127 }) }), { nil: null }),
        (init, audioLevel) => {
          const header = { payloadType: init.payloadType, marker: init.marker!, sequence: init.sequence, timestamp: init.timestamp, ssrc: init.ssrc, csrcs: init.csrcs, audioLevel };
          const out = new Uint8Array(2048);
          const n = writeRtp(out, header, init.payload);
          const ext: RtpExtension[] = audioLevel ? [{ id: audioLevel.extId, data: Uint8Array.of((audioLevel.voice ? 0x80 : 0) | audioLevel.level) }] : [];
          const expected = serializeRtp({ ...init, extensions: ext, twoByteExtensions: false, paddingLength: 0 });
          expect([...out.subarray(0, n)]).toEqual([...expected]);
          const p = parseRtp(out.subarray(0, n), { audioLevelExtId: audioLevel?.extId ?? 1 });
          expect(p.audioLevel).toEqual(audioLevel ? { voice: audioLevel.voice, level: audioLevel.level } : null);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('isRtcp is true exactly for second bytes with payload type 64-95 (RFC 5761)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), (b0, b1) => {
        const pt = b1 & 0x7f;
        expect(isRtcp(Uint8Array.of(b0, b1, 0, 1))).toBe(pt >= 64 && pt <= 95);
      }),
    );
    expect(isRtcp(Uint8Array.of(0x80))).toBe(false);
    for (const type of [200, 201, 202, 203, 204, 205, 206, 207]) expect(isRtcp(Uint8Array.of(0x80, type, 0, 1))).toBe(true);
    for (const pt of [0, 8, 96, 111, 127]) expect(isRtcp(serializeRtp({ payloadType: pt, sequence: 1, timestamp: 2, ssrc: 3, payload: new Uint8Array(4) }))).toBe(false);
  });
});

describe('RTP packet cases', () => {
  const hex = (s: string) => Uint8Array.from(s.replace(/\s+/g, '').match(/../g)!.map((h) => parseInt(h, 16)));

  it('reads a hand-built packet: CSRCs, one-byte extensions with padding, RFC 6464 level, padding', () => {
    // V=2 P=1 X=1 CC=1 | M=1 PT=111 | seq 0xfffe | ts 0xfffffff0 | ssrc | csrc
    // ext 0xBEDE, 2 words: id1 len0 [V=1 level 42], pad 00, id3 len1 [aa bb], pad 00 00
    const buf = hex('b1 ef fffe fffffff0 11223344 55667788 bede0002 10aa 00 31aabb 0000 0102 0303');
    buf[21] = 0x80 | 42; // id 1's data byte
    const p = parseRtp(buf);
    expect(p).toMatchObject({ payloadType: 111, marker: true, sequence: 0xfffe, timestamp: 0xfffffff0, ssrc: 0x11223344, csrcs: [0x55667788], extensionProfile: EXT_PROFILE_ONE_BYTE, paddingLength: 3 });
    expect(p.extensions.map((e) => [e.id, [...e.data]])).toEqual([[1, [0x80 | 42]], [3, [0xaa, 0xbb]]]);
    expect(p.audioLevel).toEqual({ voice: true, level: 42 });
    expect([...p.payload]).toEqual([0x01]);
    expect(parseRtp(buf, { audioLevelExtId: 3 }).audioLevel).toEqual({ voice: true, level: 0x2a });
  });

  it('one-byte id 15 ends the extension block; other profiles are skipped whole', () => {
    const stop = parseRtp(hex('90 00 0001 00000002 00000003 bede0002 2099 f0aa 3011 0000 77'));
    expect(stop.extensions.map((e) => e.id)).toEqual([2]);
    expect([...stop.payload]).toEqual([0x77]);
    const other = parseRtp(hex('90 00 0001 00000002 00000003 abcd0001 01020304 77'));
    expect(other.extensionProfile).toBe(0xabcd);
    expect(other.extensions).toEqual([]);
    expect([...other.payload]).toEqual([0x77]);
  });

  it('two-byte extensions: padding bytes and zero-length elements', () => {
    const p = parseRtp(hex('90 00 0001 00000002 00000003 10020002 00 0500 0701cc 0000 77'));
    expect(p.extensions.map((e) => [e.id, [...e.data]])).toEqual([[5, []], [7, [0xcc]]]);
  });

  it.each([
    ['version 1', '50 00 0001 00000002 00000003', 'MEDIABOT_RTP_BAD_VERSION'],
    ['11 bytes', '80 00 0001 00000002 000000', 'MEDIABOT_RTP_TRUNCATED'],
    ['CSRC count past the end', '82 00 0001 00000002 00000003 00000004', 'MEDIABOT_RTP_TRUNCATED'],
    ['extension length past the end', '90 00 0001 00000002 00000003 bede0002 10000000', 'MEDIABOT_RTP_TRUNCATED'],
    ['one-byte element past the block', '90 00 0001 00000002 00000003 bede0001 13000000', 'MEDIABOT_RTP_BAD_EXTENSION'],
    ['two-byte element past the block', '90 00 0001 00000002 00000003 10000001 0105aabb', 'MEDIABOT_RTP_BAD_EXTENSION'],
    ['padding count 0', 'a0 00 0001 00000002 00000003 aa00', 'MEDIABOT_RTP_BAD_PADDING'],
    ['padding longer than the payload', 'a0 00 0001 00000002 00000003 aa03', 'MEDIABOT_RTP_BAD_PADDING'],
    ['padding flag with nothing after the header', 'a0 00 0001 00000002 00000003', 'MEDIABOT_RTP_BAD_PADDING'],
  ])('%s → %s', (_name, bytes, code) => {
    expect(codeOf(() => parseRtp(hex(bytes)))).toBe(code);
  });

  it('parseRtpInto reuses the packet and leaves it untouched on error', () => {
    const into = emptyRtpPacket();
    const a = serializeRtp({ payloadType: 111, sequence: 7, timestamp: 8, ssrc: 9, csrcs: [1, 2], extensions: [{ id: 1, data: Uint8Array.of(0x85) }, { id: 2, data: Uint8Array.of(1, 2) }], payload: Uint8Array.of(5, 6) });
    const csrcs = into.csrcs;
    parseRtpInto(a, into);
    const first = into.extensions[0];
    const before = JSON.stringify({ ...into, payload: [...into.payload], extensions: into.extensions.map((e) => [e.id, [...e.data]]) });
    expect(codeOf(() => parseRtpInto(hex('90 00 0001 00000002 00000003 bede0001 13000000'), into))).toBe('MEDIABOT_RTP_BAD_EXTENSION');
    expect(JSON.stringify({ ...into, payload: [...into.payload], extensions: into.extensions.map((e) => [e.id, [...e.data]]) })).toBe(before);
    parseRtpInto(a, into);
    expect(into.csrcs).toBe(csrcs);
    expect(into.extensions[0]).toBe(first);
    expect(into.audioLevel).toEqual({ voice: true, level: 5 });
  });

  it('rejects out-of-range fields when writing, with typed errors', () => {
    const base = { payloadType: 0, sequence: 0, timestamp: 0, ssrc: 0, payload: new Uint8Array(0) };
    for (const bad of [{ payloadType: 128 }, { sequence: 65536 }, { timestamp: -1 }, { ssrc: 2 ** 32 }, { csrcs: new Array(16).fill(0) }, { paddingLength: 256 }, { extensions: [{ id: 0, data: Uint8Array.of(1) }] }, { extensions: [{ id: 1, data: new Uint8Array(256) }] }]) {
      expect(codeOf(() => serializeRtp({ ...base, ...bad }))).toBe('MEDIABOT_RTP_INVALID_FIELD');
    }
    expect(codeOf(() => serializeRtp({ ...base, payload: new Uint8Array(10) }, new Uint8Array(12)))).toBe('MEDIABOT_BUFFER_TOO_SMALL');
    expect(codeOf(() => writeRtp(new Uint8Array(20), { ...base, marker: false }, new Uint8Array(10)))).toBe('MEDIABOT_BUFFER_TOO_SMALL');
    expect(codeOf(() => writeRtp(new Uint8Array(64), { ...base, marker: false, audioLevel: { extId: 15, voice: true, level: 1 } }, new Uint8Array(1)))).toBe('MEDIABOT_RTP_INVALID_FIELD');
  });
});
