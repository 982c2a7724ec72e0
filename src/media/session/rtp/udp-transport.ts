import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { randomInt } from 'node:crypto';
import { isMediabotError, MediabotError } from '../../../errors.js';
import type { CallPipeline } from '../../core/pipeline.js';
import type { MediaSource } from '../../core/source.js';
import { RTP_TICKS_PER_FRAME } from '../../core/frame.js';
import { createOpusDecoder } from '../../codec/opus.js';
import { JitterBuffer, type JitterBufferOptions } from './jitter-buffer.js';
import { emptyRtpPacket, isRtcp, parseRtpInto } from '../../wire/rtp.js';
import { RtcpResponder } from './rtcp-responder.js';

/** Per-participant send state: where to send and our outbound RTP stream. */
export interface RtpPeer {
  address: string;
  port: number;
  /** Our SSRC for the stream we send to this participant. */
  ssrc: number;
  sequence: number;
  timestamp: number;
  payloadType: number;
  packetsSent: number;
  octetsSent: number;
  readonly out: Buffer;
  readonly jitter: JitterBuffer;
  remoteSsrc: number;
}

export interface UdpTransportStats {
  packetsIn: number;
  bytesIn: number;
  malformed: number;
  rtcpIn: number;
  rtcpOut: number;
  packetsOut: number;
  sendErrors: number;
}

export interface UdpRtpTransportOptions {
  host?: string;
  port: number;
  jitter?: Omit<JitterBufferOptions, 'createDecoder'>;
  /** RFC 6464 audio level extension id used by senders (default 1). */
  audioLevelExtId?: number;
  onError?: (err: unknown) => void;
}

/**
 * The RTP side of a conference on one UDP port: every new SSRC becomes a
 * participant (source `ssrc-<n>`), packets go to that source's jitter buffer,
 * and each participant's mix is sent back, as Opus RTP, to the address and
 * port it sends from. RTCP is multiplexed on the same port (RFC 5761).
 */
export class UdpRtpTransport {
  readonly stats: UdpTransportStats = { packetsIn: 0, bytesIn: 0, malformed: 0, rtcpIn: 0, rtcpOut: 0, packetsOut: 0, sendErrors: 0 };
  private socket: Socket | null = null;
  private readonly parsed = emptyRtpPacket();
  private readonly bySsrc = new Map<number, MediaSource>();
  private readonly rtcp: RtcpResponder;
  private readonly onError: (err: unknown) => void;

  constructor(
    private readonly pipeline: CallPipeline,
    private readonly opts: UdpRtpTransportOptions,
  ) {
    this.onError = opts.onError ?? (() => {});
    this.rtcp = new RtcpResponder((buf, peer) => this.sendRaw(buf, peer.address, peer.port));
  }

  async listen(): Promise<{ address: string; port: number }> {
    const socket = createSocket({ type: 'udp4', recvBufferSize: 4 * 1024 * 1024 });
    this.socket = socket;
    socket.on('message', (msg, rinfo) => this.onMessage(msg, rinfo));
    socket.on('error', (err) => this.onError(err));
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(this.opts.port, this.opts.host ?? '127.0.0.1', () => {
        socket.off('error', reject);
        resolve();
      });
    });
    const a = socket.address();
    return { address: a.address, port: a.port };
  }

  /** The pipeline's send callback: header + payload into the peer's buffer, then UDP. */
  readonly send = (source: MediaSource, packet: Uint8Array, length: number): void => {
    const peer = source.transport as RtpPeer | null;
    if (!peer || !this.socket) return;
    const out = peer.out;
    out[0] = 0x80;
    out[1] = peer.payloadType & 0x7f;
    out.writeUInt16BE(peer.sequence, 2);
    out.writeUInt32BE(peer.timestamp >>> 0, 4);
    out.writeUInt32BE(peer.ssrc, 8);
    for (let i = 0; i < length; i++) out[12 + i] = packet[i]!;
    peer.sequence = (peer.sequence + 1) & 0xffff;
    peer.timestamp = (peer.timestamp + RTP_TICKS_PER_FRAME) >>> 0;
    peer.packetsSent++;
    peer.octetsSent += length;
    this.stats.packetsOut++;
    this.socket.send(out, 0, 12 + length, peer.port, peer.address, this.onSent);
  };

  private readonly onSent = (err: Error | null): void => {
    if (err) this.stats.sendErrors++;
  };

  private sendRaw(buf: Uint8Array, address: string, port: number): void {
    if (!this.socket) return;
    this.stats.rtcpOut++;
    this.socket.send(buf, port, address, this.onSent);
  }

  private onMessage(msg: Buffer, rinfo: RemoteInfo): void {
    this.stats.bytesIn += msg.length;
    try {
      if (isRtcp(msg)) {
        this.stats.rtcpIn++;
        this.rtcp.onRtcp(msg, this.bySsrc, (ssrc) => this.removeSsrc(ssrc));
        return;
      }
      const p = parseRtpInto(msg, this.parsed, { audioLevelExtId: this.opts.audioLevelExtId ?? 1 });
      this.stats.packetsIn++;
      let source = this.bySsrc.get(p.ssrc);
      if (!source) source = this.addParticipant(p.ssrc, p.payloadType, rinfo);
      const peer = source.transport as RtpPeer;
      // Follow the sender if its address changes (NAT rebinding).
      if (peer.port !== rinfo.port || peer.address !== rinfo.address) {
        peer.address = rinfo.address;
        peer.port = rinfo.port;
      }
      peer.jitter.push(p, performance.now());
      this.pipeline.touch(source);
    } catch (err) {
      if (isMediabotError(err)) {
        this.stats.malformed++;
        return;
      }
      this.onError(err);
    }
  }

  private addParticipant(ssrc: number, payloadType: number, rinfo: RemoteInfo): MediaSource {
    const jitter = new JitterBuffer({ ...this.opts.jitter, createDecoder: createOpusDecoder, sampleRate: this.pipeline.speechOnly ? 16_000 : 48_000 });
    const peer: RtpPeer = {
      address: rinfo.address,
      port: rinfo.port,
      ssrc: randomInt(1, 0xffffffff),
      sequence: randomInt(0, 0xffff),
      timestamp: randomInt(0, 0xffffffff),
      payloadType,
      packetsSent: 0,
      octetsSent: 0,
      out: Buffer.alloc(12 + 1276),
      jitter,
      remoteSsrc: ssrc,
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

  /** Sends RTCP sender/receiver reports to every participant (call every few seconds). */
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
    const s = this.socket;
    this.socket = null;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

export function assertPort(port: number): number {
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new MediabotError('MEDIABOT_CONFIG_INVALID', `--port must be 0-65535 (got ${port})`);
  return port;
}
