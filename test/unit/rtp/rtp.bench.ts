/**
 * Hot-path costs of the RTP layer. Run: npx vitest bench --run test/unit/rtp
 * (not part of `vitest run`; the media benchmarks proper live in benchmarks/).
 */
import { bench, describe } from 'vitest';
import { createOpusDecoder } from '../../../src/media/codec/opus.js';
import type { FrameDecoder } from '../../../src/media/codec/types.js';
import { JitterBuffer } from '../../../src/media/session/rtp/jitter-buffer.js';
import { emptyRtpPacket, parseRtpInto, writeRtp, type RtpWriteHeader } from '../../../src/media/wire/rtp.js';
import { parseRtcp, serializeRtcp, type RtcpPacket } from '../../../src/media/wire/rtcp.js';
import { loadSpeechPackets } from './speech-packets.js';

const speech = loadSpeechPackets();
const out = new Uint8Array(1500);
const header: RtpWriteHeader = { payloadType: 111, marker: false, sequence: 0, timestamp: 0, ssrc: 7, audioLevel: { extId: 1, voice: true, level: 30 } };
const wires = speech.slice(0, 64).map((p, i) => {
  header.sequence = i;
  return out.slice(0, writeRtp(out, header, p));
});
const into = emptyRtpPacket();
const packets = wires.map((w) => parseRtpInto(w, emptyRtpPacket()));
const pcm = new Int16Array(960);
const noDecode: FrameDecoder = { decode: () => 960, decodeFec: () => 0, conceal: () => 960, reset: () => undefined };

function feeder(jb: JitterBuffer): () => void {
  let i = 0;
  return () => {
    const p = packets[i & 63]!;
    p.sequence = i & 0xffff;
    p.timestamp = (i * 960) >>> 0;
    jb.push(p, i * 20 + (i % 5));
    jb.pull(pcm);
    i++;
  };
}

const rr: RtcpPacket[] = [
  { type: 'rr', ssrc: 1, reports: [{ ssrc: 2, fractionLost: 3, cumulativeLost: -4, highestSeq: 5, jitter: 6, lsr: 7, dlsr: 8 }] },
  { type: 'sdes', chunks: [{ ssrc: 1, cname: 'mediabot' }] },
];
const rrWire = serializeRtcp(rr);

describe('rtp hot path', () => {
  let k = 0;
  bench('writeRtp (speech packet + audio level)', () => {
    header.sequence = k++ & 0xffff;
    writeRtp(out, header, speech[k & 63]!);
  });
  bench('parseRtpInto (audio level extension)', () => {
    parseRtpInto(wires[k++ & 63]!, into);
  });
  bench('JitterBuffer push + pull, decode excluded', feeder(new JitterBuffer({ createDecoder: () => noDecode })));
  bench('JitterBuffer push + pull with libopus decode', feeder(new JitterBuffer({ createDecoder: createOpusDecoder })));
});

describe('rtcp', () => {
  bench('serializeRtcp RR + SDES', () => {
    serializeRtcp(rr);
  });
  bench('parseRtcp RR + SDES', () => {
    parseRtcp(rrWire);
  });
});
