import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { afterAll, describe, expect, it } from 'vitest';
import { createOpusEncoder, packetHasFec } from '../../../src/media/codec/opus.js';
import { MediaThreadPool } from '../../../src/media/threads/pool.js';
import { batchedRtpAvailable } from '../../../src/media/session/rtp/rtp-io.js';
import type { MediaEvent } from '../../../src/media/hooks/api.js';
import { parseRtp, serializeRtp } from '../../../src/media/wire/rtp.js';
import { ntpFromUnixMs, parseRtcp, serializeRtcp, type RtcpPacket } from '../../../src/media/wire/rtcp.js';
import { speech48 } from '../../helpers/speech.js';

const BACKENDS: Array<'dgram' | 'batched'> = batchedRtpAvailable() ? ['batched', 'dgram'] : ['dgram'];

describe.each(BACKENDS)('mediabot rtp transport (%s socket I/O): RTCP and bad input over real UDP', (rtpIo) => {
  const pool = new MediaThreadPool(1);
  afterAll(() => pool.close());

  it('answers a sender report with a receiver report about that stream, removes a participant on BYE, and survives garbage', async () => {
    const events: MediaEvent[] = [];
    pool.onEvent((e) => events.push(e));
    const call = await pool.createCall({ callId: 'rtcp', rtp: { host: '127.0.0.1', port: 0 }, rtpIo });
    const port = call.rtp!.port;
    const sock = createSocket('udp4');
    sock.bind(0, '127.0.0.1');
    await once(sock, 'listening');
    const rtcpIn: RtcpPacket[][] = [];
    sock.on('message', (m) => {
      if (m.length >= 2 && m[1]! >= 200 && m[1]! <= 204) rtcpIn.push(parseRtcp(m));
    });
    const send = (b: Uint8Array): void => void sock.send(b, port, '127.0.0.1');

    // Garbage first: truncated RTP, wrong version, random bytes, a truncated RTCP.
    send(Uint8Array.of(0x80, 0x6f, 0x00));
    send(Uint8Array.of(0x40, 0x6f, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 2, 3));
    send(Uint8Array.from({ length: 40 }, (_, i) => (i * 37) & 0xff));
    send(Uint8Array.of(0x81, 200, 0, 12, 1, 2));

    // 100 packets with every 10th lost, then an SR.
    const ssrc = 0x1234abcd;
    const pcm = speech48('Reports tell the sender what arrived.');
    const enc = createOpusEncoder();
    const buf = new Uint8Array(1276);
    for (let seq = 0; seq < 100; seq++) {
      const n = enc.encode(pcm.subarray(seq * 960, seq * 960 + 960), buf);
      if (seq % 10 !== 5) send(serializeRtp({ payloadType: 111, sequence: 60_000 + seq, timestamp: seq * 960, ssrc, payload: buf.subarray(0, n) }));
      await new Promise((r) => setTimeout(r, 2));
    }
    const ntp = ntpFromUnixMs(Date.now());
    send(serializeRtcp([{ type: 'sr', ssrc, ntpSeconds: ntp.seconds, ntpFraction: ntp.fraction, rtpTimestamp: 96_000, packetCount: 90, octetCount: 9000, reports: [] }]));
    for (let i = 0; i < 50 && rtcpIn.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    const rr = rtcpIn.flat().find((p) => p.type === 'rr');
    expect(rr).toBeDefined();
    const block = (rr as Extract<RtcpPacket, { type: 'rr' }>).reports[0]!;
    expect(block.ssrc).toBe(ssrc);
    expect(block.highestSeq & 0xffff).toBe((60_000 + 99) & 0xffff);
    expect(block.cumulativeLost).toBe(10);
    expect(block.fractionLost).toBeGreaterThan(15); // 10 % of 256 ≈ 25
    expect(block.fractionLost).toBeLessThan(35);
    expect(block.lsr).toBeGreaterThan(0);

    const stats = await pool.callStats('rtcp');
    expect(stats.transport!['malformed']).toBeGreaterThanOrEqual(3);
    expect(stats.transport!['batched']).toBe(rtpIo === 'batched' ? 1 : 0);
    expect(stats.sources).toHaveLength(1);

    send(serializeRtcp([{ type: 'bye', ssrcs: [ssrc], reason: 'done' }]));
    for (let i = 0; i < 50 && !events.some((e) => e.type === 'source.removed'); i++) await new Promise((r) => setTimeout(r, 20));
    expect(events.some((e) => e.type === 'source.removed' && e.sourceId === `ssrc-${ssrc}`)).toBe(true);
    const final = await pool.endCall('rtcp');
    expect(final.ticks).toBeGreaterThan(0);
    sock.close();
  });
  it('plans in-band FEC for the loss a receiver reports in RTCP: none before, most speech packets after', async () => {
    const call = await pool.createCall({ callId: 'fec', rtp: { host: '127.0.0.1', port: 0 }, rtpIo });
    const port = call.rtp!.port;
    const open = async () => {
      const sock = createSocket('udp4');
      sock.bind(0, '127.0.0.1');
      await once(sock, 'listening');
      return sock;
    };
    const speaker = await open();
    const listener = await open();
    const heard: { atMs: number; fec: boolean; ssrc: number }[] = [];
    listener.on('message', (m) => {
      if (m.length >= 2 && m[1]! >= 200 && m[1]! <= 204) return;
      const p = parseRtp(m);
      if (p.payload.length > 10) heard.push({ atMs: performance.now(), fec: packetHasFec(p.payload), ssrc: p.ssrc });
    });
    const speech = speech48('The listener says how much it lost, and the mixer protects its stream with forward error correction.');
    const enc = createOpusEncoder();
    const quiet = createOpusEncoder();
    const silence = new Int16Array(960);
    const buf = new Uint8Array(1276);
    let reportAt = 0;
    for (let seq = 0; seq < 200; seq++) {
      const o = (seq * 960) % (speech.length - 960);
      let n = enc.encode(speech.subarray(o, o + 960), buf);
      speaker.send(serializeRtp({ payloadType: 111, sequence: seq, timestamp: seq * 960, ssrc: 111, payload: buf.subarray(0, n) }), port, '127.0.0.1');
      n = quiet.encode(silence, buf);
      listener.send(serializeRtp({ payloadType: 111, sequence: seq, timestamp: seq * 960, ssrc: 222, payload: buf.subarray(0, n) }), port, '127.0.0.1');
      if (seq === 100) {
        // The listener reports 25 % loss of the stream the mixer sends it.
        const ours = heard.at(-1)!.ssrc;
        const block = { ssrc: ours, fractionLost: 64, cumulativeLost: 25, highestSeq: 100, jitter: 0, lsr: 0, dlsr: 0 };
        listener.send(serializeRtcp([{ type: 'rr', ssrc: 222, reports: [block] }]), port, '127.0.0.1');
        reportAt = performance.now();
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    await pool.endCall('fec');
    speaker.close();
    listener.close();
    const before = heard.filter((h) => h.atMs < reportAt);
    const after = heard.filter((h) => h.atMs > reportAt + 100);
    expect(before.length).toBeGreaterThan(30);
    expect(after.length).toBeGreaterThan(30);
    expect(before.filter((h) => h.fec)).toHaveLength(0);
    expect(after.filter((h) => h.fec).length).toBeGreaterThan(after.length / 2);
  });
});
