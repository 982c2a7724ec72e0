import { describe, expect, it } from 'vitest';
import { buildRtpPacket, encodeMediaBlob, parseMediaBlob, rtpPayload } from '../../../testing/emulator/media-session.js';
import { encodeWavPcm16, parseWavPcm16 } from '../../../src/media/wire/wav.js';
import { MediabotError } from '../../../src/errors.js';

describe('media blob convention', () => {
  it('round-trips base64 JSON and accepts raw JSON', () => {
    const ep = { rtp: { host: '127.0.0.1', port: 40_002 }, payloadType: 100 };
    expect(parseMediaBlob(encodeMediaBlob(ep))).toEqual(ep);
    expect(parseMediaBlob('{"rtp":{"host":"::1","port":5004}}')).toEqual({ rtp: { host: '::1', port: 5004 } });
  });

  it.each([
    ['<Media Session Configuration>'],
    [''],
    ['{"rtp":{"host":"127.0.0.1","port":0}}'],
    ['{"rtp":{"host":"127.0.0.1","port":70000}}'],
    ['{"rtp":{"host":"evil host; rm","port":5004}}'],
    ['{"rtp":"x"}'],
    [Buffer.from('not json').toString('base64')],
  ])('ignores a blob that is not an RTP endpoint: %s', (blob) => {
    expect(parseMediaBlob(blob)).toBeUndefined();
  });

  it('ignores non-string blobs and an out-of-range payload type', () => {
    expect(parseMediaBlob(42)).toBeUndefined();
    expect(parseMediaBlob('{"rtp":{"host":"127.0.0.1","port":5004},"payloadType":8}')).toEqual({ rtp: { host: '127.0.0.1', port: 5004 } });
  });
});

describe('RTP framing', () => {
  it('builds a 12-byte header and reads the payload back', () => {
    const pkt = buildRtpPacket(111, true, 65535, 0xfffffff0, 0xdeadbeef, Buffer.from([1, 2, 3]));
    expect(pkt.length).toBe(15);
    expect(pkt[0]).toBe(0x80);
    expect(pkt[1]).toBe(0x80 | 111);
    const parsed = rtpPayload(pkt)!;
    expect(parsed.ssrc).toBe(0xdeadbeef);
    expect(parsed.seq).toBe(65535);
    expect([...parsed.payload]).toEqual([1, 2, 3]);
  });

  it('skips CSRCs, a header extension and padding', () => {
    const header = Buffer.from([0xb1, 111, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9]); // V=2, P=1, X=1, CC=1
    const csrc = Buffer.alloc(4);
    const ext = Buffer.from([0xbe, 0xde, 0, 1, 0x10, 0xaa, 0, 0]); // RFC 8285 one-byte: id 1, one data byte, two padding bytes
    const payload = Buffer.from([9, 9]);
    const padding = Buffer.from([0, 0, 3]);
    const parsed = rtpPayload(Buffer.concat([header, csrc, ext, payload, padding]))!;
    expect([...parsed.payload]).toEqual([9, 9]);
  });

  it('rejects short, wrong-version, RTCP and inconsistent packets', () => {
    expect(rtpPayload(Buffer.alloc(8))).toBeUndefined();
    expect(rtpPayload(Buffer.from([0x40, 111, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]))).toBeUndefined();
    expect(rtpPayload(Buffer.from([0x80, 200, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0]))).toBeUndefined();
    expect(rtpPayload(Buffer.from([0x8f, 111, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]))).toBeUndefined();
  });
});

describe('WAV codec', () => {
  it('round-trips 16-bit mono PCM', () => {
    const samples = Int16Array.from([0, 1, -1, 32767, -32768, 1234]);
    const { sampleRate, samples: back } = parseWavPcm16(encodeWavPcm16(samples, 48_000));
    expect(sampleRate).toBe(48_000);
    expect([...back]).toEqual([...samples]);
  });

  it('rejects non-WAV data with a typed error', () => {
    expect(() => parseWavPcm16(Buffer.from('hello world, this is certainly not a RIFF/WAVE file at all'))).toThrow(MediabotError);
  });
});
