/**
 * PROTOTYPE: the RTP side of a conference on a batched UDP socket
 * (batched-udp.ts). The same behaviour as UdpRtpTransport — every new SSRC
 * becomes a participant, its mix-minus goes back to where it sends from, RTCP
 * is answered on the same port — but driven by the tick instead of by packets:
 * `poll()` before the tick takes every datagram that arrived (one recvmmsg, the
 * kernel's arrival times go to the jitter buffers), the pipeline's send callback
 * only lays packets out in the send arrays, and `flush()` after the tick sends
 * them all (one sendmmsg). Selected in the media thread by MEDIABOT_RTP_IO=batched.
 */
import { randomInt } from 'node:crypto';
import { isMediabotError } from '../../errors.js';
import type { CallPipeline } from '../core/pipeline.js';
import type { MediaSource } from '../core/source.js';
import { RTP_TICKS_PER_FRAME } from '../core/frame.js';
import { createOpusDecoder } from '../core/codec.js';
import { openBatchedUdp, uint32ToIpv4, type BatchedUdpSocket } from './batched-udp.js';
import { JitterBuffer } from './jitter-buffer.js';
import { emptyRtpPacket, isRtcp, parseRtpInto } from './packet.js';
import { RtcpResponder } from './rtcp-responder.js';
import type { RtpPeer, UdpRtpTransportOptions, UdpTransportStats } from './udp-transport.js';

/** Datagrams per recv() and packets per send(): enough for a tick of a large call; more wait for the next call. */
const BATCH = 1024;
/** Bytes of a participant's payload ring: the jitter buffer keeps payloads until they play (200 ms by default; 16 s of 32 kbps). */
const PAYLOAD_RING = 64 * 1024;
const MAX_PAYLOAD = 1500;

interface BatchedPeer extends RtpPeer {
  addr32: number;
  /** The jitter buffer keeps references to payloads: they are copied here, as the receive slots are reused. */
  ring: Uint8Array;
  ringAt: number;
}

export class BatchedRtpTransport {
  /** The same counters as UdpRtpTransport, and `batchedNative`: 1 on recvmmsg/sendmmsg, 0 on the dgram fallback. */
  readonly stats: UdpTransportStats & { batchedNative: number } = { packetsIn: 0, bytesIn: 0, malformed: 0, rtcpIn: 0, rtcpOut: 0, packetsOut: 0, sendErrors: 0, batchedNative: 0 };
  private sock: BatchedUdpSocket | null = null;
  private queued = 0;
  private queuedBytes = 0;
  private readonly parsed = emptyRtpPacket();
  private readonly bySsrc = new Map<number, MediaSource>();
  private readonly rtcp: RtcpResponder;
  private readonly onError: (err: unknown) => void;

  constructor(
    private readonly pipeline: CallPipeline,
    private readonly opts: UdpRtpTransportOptions & { impl?: 'auto' | 'native' | 'dgram' },
  ) {
    this.onError = opts.onError ?? (() => {});
    this.rtcp = new RtcpResponder((buf, peer) => {
      this.stats.rtcpOut++;
      this.enqueue(peer as BatchedPeer, buf, 0, buf.length, null);
    });
  }

  get kind(): 'native' | 'dgram' | null {
    return this.sock?.kind ?? null;
  }

  async listen(): Promise<{ address: string; port: number }> {
    this.sock = await openBatchedUdp({ host: this.opts.host ?? '127.0.0.1', port: this.opts.port, recvCapacity: BATCH, sendCapacity: BATCH, sendBytes: BATCH * 256, slotSize: MAX_PAYLOAD, ...(this.opts.impl ? { impl: this.opts.impl } : {}) });
    this.stats.batchedNative = this.sock.kind === 'native' ? 1 : 0;
    return { address: this.sock.address, port: this.sock.port };
  }

  /** Lays one packet out in the send arrays: `header` (12 bytes) is written when given, then `payload`. */
  private enqueue(peer: BatchedPeer, payload: Uint8Array, from: number, length: number, header: BatchedPeer | null): void {
    const s = this.sock;
    if (!s) return;
    const tx = s.tx;
    const size = (header ? 12 : 0) + length;
    if (this.queued === tx.capacity || this.queuedBytes + size > tx.data.length) {
      this.stats.sendErrors++;
      return;
    }
    const at = this.queuedBytes;
    const d = tx.data;
    let o = at;
    if (header) {
      d[o++] = 0x80;
      d[o++] = header.payloadType & 0x7f;
      d[o++] = (header.sequence >>> 8) & 0xff;
      d[o++] = header.sequence & 0xff;
      const ts = header.timestamp >>> 0;
      d[o++] = ts >>> 24;
      d[o++] = (ts >>> 16) & 0xff;
      d[o++] = (ts >>> 8) & 0xff;
      d[o++] = ts & 0xff;
      const ssrc = header.ssrc >>> 0;
      d[o++] = ssrc >>> 24;
      d[o++] = (ssrc >>> 16) & 0xff;
      d[o++] = (ssrc >>> 8) & 0xff;
      d[o++] = ssrc & 0xff;
    }
    for (let i = 0; i < length; i++) d[o + i] = payload[from + i]!;
    const q = this.queued++;
    tx.offsets[q] = at;
    tx.lengths[q] = size;
    tx.addresses[q] = peer.addr32;
    tx.ports[q] = peer.port;
    this.queuedBytes += size;
  }

  /** The pipeline's send callback: the packet is queued and leaves with the tick's batch in flush(). */
  readonly send = (source: MediaSource, packet: Uint8Array, length: number): void => {
    const peer = source.transport as BatchedPeer | null;
    if (!peer) return;
    this.enqueue(peer, packet, 0, length, peer);
    peer.sequence = (peer.sequence + 1) & 0xffff;
    peer.timestamp = (peer.timestamp + RTP_TICKS_PER_FRAME) >>> 0;
    peer.packetsSent++;
    peer.octetsSent += length;
    this.stats.packetsOut++;
  };

  /** Takes every datagram that arrived since the last call into the jitter buffers (call before the tick). */
  poll(): void {
    const s = this.sock;
    if (!s) return;
    for (;;) {
      const n = s.recv();
      const rx = s.rx;
      for (let i = 0; i < n; i++) {
        const at = i * rx.slotSize;
        this.onDatagram(rx.data.subarray(at, at + rx.lengths[i]!), rx.addresses[i]!, rx.ports[i]!, rx.arrivalMs[i]!, rx.truncated[i] === 1);
      }
      if (n < rx.capacity) return;
    }
  }

  /** Sends the packets queued since the last flush in one batch (call after the tick). */
  flush(): void {
    if (this.queued === 0 || !this.sock) return;
    const sent = this.sock.send(this.queued);
    this.stats.sendErrors += this.queued - sent;
    this.queued = 0;
    this.queuedBytes = 0;
  }

  private onDatagram(msg: Uint8Array, addr32: number, port: number, arrivalMs: number, truncated: boolean): void {
    this.stats.bytesIn += msg.length;
    if (truncated) {
      this.stats.malformed++;
      return;
    }
    try {
      if (isRtcp(msg)) {
        this.stats.rtcpIn++;
        this.rtcp.onRtcp(msg, this.bySsrc, (ssrc) => this.removeSsrc(ssrc));
        return;
      }
      const p = parseRtpInto(msg, this.parsed, { audioLevelExtId: this.opts.audioLevelExtId ?? 1 });
      this.stats.packetsIn++;
      let source = this.bySsrc.get(p.ssrc);
      if (!source) source = this.addParticipant(p.ssrc, p.payloadType, addr32, port);
      const peer = source.transport as BatchedPeer;
      // Follow the sender if its address changes (NAT rebinding).
      if (peer.port !== port || peer.addr32 !== addr32) {
        peer.addr32 = addr32;
        peer.address = uint32ToIpv4(addr32);
        peer.port = port;
      }
      const len = p.payload.length;
      if (peer.ringAt + len > peer.ring.length) peer.ringAt = 0;
      const copy = peer.ring.subarray(peer.ringAt, peer.ringAt + len);
      copy.set(p.payload);
      peer.ringAt += len;
      p.payload = copy;
      peer.jitter.push(p, arrivalMs);
      this.pipeline.touch(source);
    } catch (err) {
      if (isMediabotError(err)) {
        this.stats.malformed++;
        return;
      }
      this.onError(err);
    }
  }

  private addParticipant(ssrc: number, payloadType: number, addr32: number, port: number): MediaSource {
    const jitter = new JitterBuffer({ ...this.opts.jitter, createDecoder: createOpusDecoder, sampleRate: this.pipeline.speechOnly ? 16_000 : 48_000 });
    const peer: BatchedPeer = {
      address: uint32ToIpv4(addr32),
      port,
      addr32,
      ssrc: randomInt(1, 0xffffffff),
      sequence: randomInt(0, 0xffff),
      timestamp: randomInt(0, 0xffffffff),
      payloadType,
      packetsSent: 0,
      octetsSent: 0,
      out: Buffer.alloc(0),
      jitter,
      remoteSsrc: ssrc,
      ring: new Uint8Array(PAYLOAD_RING),
      ringAt: 0,
    };
    const source = this.pipeline.addSource(`ssrc-${ssrc}`, jitter);
    source.transport = peer;
    this.bySsrc.set(ssrc, source);
    return source;
  }

  private removeSsrc(ssrc: number): void {
    const source = this.bySsrc.get(ssrc);
    if (!source) return;
    this.bySsrc.delete(ssrc);
    this.pipeline.removeSource(source.sourceId);
  }

  /** Queues RTCP sender/receiver reports to every participant (they leave with the next flush). */
  sendReports(): void {
    for (const source of this.bySsrc.values()) this.rtcp.sendReport(source.transport as RtpPeer);
  }

  participants(): Array<{ sourceId: string; ssrc: number; address: string; port: number; stats: JitterBuffer['stats']; packetsSent: number }> {
    return [...this.bySsrc.entries()].map(([ssrc, s]) => {
      const peer = s.transport as RtpPeer;
      return { sourceId: s.sourceId, ssrc, address: peer.address, port: peer.port, stats: { ...peer.jitter.stats }, packetsSent: peer.packetsSent };
    });
  }

  async close(): Promise<void> {
    const s = this.sock;
    this.sock = null;
    if (s) await s.close();
  }
}
