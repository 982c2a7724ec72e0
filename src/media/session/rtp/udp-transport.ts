import type { RemoteInfo } from 'node:dgram';
import { isMediabotError, MediabotError } from '../../../errors.js';
import type { CallPipeline } from '../../core/pipeline.js';
import type { MediaSource } from '../../core/source.js';
import { RTP_TICKS_PER_FRAME } from '../../core/frame.js';
import { createOpusDecoder } from '../../codec/opus.js';
import { JitterBuffer, type JitterBufferOptions } from './jitter-buffer.js';
import { emptyRtpPacket, isRtcp, parseRtpInto, writeRtp } from '../../wire/rtp.js';
import { RtcpResponder } from './rtcp-responder.js';
import { createRtpPeer, type RtpPeer } from './rtp-peer.js';
import { createRtpSocketIo, type RtpIoMode, type RtpSocketIo } from './rtp-io.js';

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
  /** Socket I/O backend (rtp-io.ts); default auto. */
  io?: RtpIoMode;
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
  /** The socket: dgram or batched (rtp-io.ts); null when not listening. */
  private socket: RtpSocketIo | null = null;
  private readonly parsed = emptyRtpPacket();
  /** Participants by the SSRC they send, and by their pipeline source (for the send callback). */
  private readonly bySsrc = new Map<number, RtpPeer>();
  private readonly bySource = new Map<MediaSource, RtpPeer>();
  private readonly rtcp: RtcpResponder;
  private readonly onError: (err: unknown) => void;

  constructor(
    private readonly pipeline: CallPipeline,
    private readonly opts: UdpRtpTransportOptions,
  ) {
    this.onError = opts.onError ?? (() => {});
    this.rtcp = new RtcpResponder((buf, peer) => this.sendRaw(buf, peer.address, peer.port));
  }

  /** Which backend carries the packets (set by listen). */
  get io(): RtpSocketIo['kind'] | null {
    return this.socket?.kind ?? null;
  }

  async listen(): Promise<{ address: string; port: number }> {
    const socket = createRtpSocketIo(this.opts.io ?? 'auto');
    this.socket = socket;
    try {
      return await socket.listen(this.opts.host ?? '127.0.0.1', this.opts.port, (msg, rinfo, arrivalMs) => this.onMessage(msg, rinfo, arrivalMs));
    } catch (err) {
      this.socket = null;
      throw err;
    }
  }

  /** Batched I/O: takes every datagram that arrived into the jitter buffers (the media thread calls it right before the tick). */
  poll(): void {
    this.socket?.poll();
  }

  /** Batched I/O: sends the tick's packets in one batch (right after the tick). */
  flush(): void {
    const s = this.socket;
    if (!s) return;
    s.flush();
    this.stats.sendErrors = s.sendErrors;
  }

  /** The pipeline's send callback: header + payload into the peer's buffer, then UDP. */
  readonly send = (source: MediaSource, packet: Uint8Array, length: number): void => {
    const peer = this.bySource.get(source);
    if (!peer || !this.socket) return;
    const size = writeRtp(peer.out, peer, packet, length);
    peer.sequence = (peer.sequence + 1) & 0xffff;
    peer.timestamp = (peer.timestamp + RTP_TICKS_PER_FRAME) >>> 0;
    peer.packetsSent++;
    peer.octetsSent += length;
    this.stats.packetsOut++;
    this.socket.send(peer.out, size, peer.port, peer.address);
  };

  private sendRaw(buf: Uint8Array, address: string, port: number): void {
    if (!this.socket) return;
    this.stats.rtcpOut++;
    this.socket.send(buf, buf.length, port, address);
  }

  /** One datagram from either backend; `arrivalMs` is the kernel's arrival time when batched. */
  private onMessage(msg: Uint8Array, rinfo: RemoteInfo, arrivalMs: number): void {
    this.stats.bytesIn += msg.length;
    try {
      if (isRtcp(msg)) {
        this.stats.rtcpIn++;
        this.rtcp.onRtcp(msg, this.bySsrc, (ssrc) => this.removeSsrc(ssrc));
        return;
      }
      const p = parseRtpInto(msg, this.parsed, { audioLevelExtId: this.opts.audioLevelExtId ?? 1 });
      this.stats.packetsIn++;
      const peer = this.bySsrc.get(p.ssrc) ?? this.addParticipant(p.ssrc, p.payloadType, rinfo);
      // Follow the sender if its address changes (NAT rebinding).
      if (peer.port !== rinfo.port || peer.address !== rinfo.address) {
        peer.address = rinfo.address;
        peer.port = rinfo.port;
      }
      peer.jitter.push(p, arrivalMs);
      this.pipeline.touch(peer.source);
    } catch (err) {
      if (isMediabotError(err)) {
        this.stats.malformed++;
        return;
      }
      this.onError(err);
    }
  }

  private addParticipant(ssrc: number, payloadType: number, rinfo: RemoteInfo): RtpPeer {
    const jitter = new JitterBuffer({ ...this.opts.jitter, createDecoder: createOpusDecoder, sampleRate: this.pipeline.speechOnly ? 16_000 : 48_000 });
    const source = this.pipeline.addSource(`ssrc-${ssrc}`, jitter);
    const peer = createRtpPeer(source, jitter, ssrc, payloadType, rinfo);
    this.bySsrc.set(ssrc, peer);
    this.bySource.set(source, peer);
    return peer;
  }

  private removeSsrc(ssrc: number): void {
    const peer = this.bySsrc.get(ssrc);
    if (!peer) return;
    this.bySsrc.delete(ssrc);
    this.bySource.delete(peer.source);
    this.pipeline.removeSource(peer.source.sourceId);
  }

  /** Sends RTCP sender/receiver reports to every participant (call every few seconds). */
  sendReports(): void {
    for (const peer of this.bySsrc.values()) this.rtcp.sendReport(peer);
  }

  participants(): Array<{ sourceId: string; ssrc: number; address: string; port: number; stats: JitterBuffer['stats']; packetsSent: number }> {
    return [...this.bySsrc.values()].map((peer) => ({ sourceId: peer.source.sourceId, ssrc: peer.remoteSsrc, address: peer.address, port: peer.port, stats: { ...peer.jitter.stats }, packetsSent: peer.packetsSent }));
  }

  async close(): Promise<void> {
    const s = this.socket;
    this.socket = null;
    if (s) {
      await s.close();
      this.stats.sendErrors = s.sendErrors;
    }
  }
}

export function assertPort(port: number): number {
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new MediabotError('MEDIABOT_CONFIG_INVALID', `--port must be 0-65535 (got ${port})`);
  return port;
}
