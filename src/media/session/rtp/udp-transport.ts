import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isMediabotError, MediabotError } from '../../../errors.js';
import type { CallPipeline } from '../../core/pipeline.js';
import type { MediaSource } from '../../core/source.js';
import { RTP_TICKS_PER_FRAME } from '../../core/frame.js';
import { createOpusDecoder } from '../../codec/opus.js';
import { JitterBuffer, type JitterBufferOptions } from './jitter-buffer.js';
import { emptyRtpPacket, isRtcp, parseRtpInto, writeRtp, type RtpPacket } from '../../wire/rtp.js';
import { RtcpResponder } from './rtcp-responder.js';
import { createRtpPeer, type RtpPeer } from './rtp-peer.js';
import { checkGuardOptions, followsInSequence, PeerFilter, plausibleOpus, Probation, PROVE_FRAMES, RELATCH_PACKETS, RELATCH_SILENCE_MS, TokenBucket, type RtpGuardOptions } from './source-guard.js';

export interface UdpTransportStats {
  packetsIn: number;
  bytesIn: number;
  malformed: number;
  rtcpIn: number;
  rtcpOut: number;
  packetsOut: number;
  sendErrors: number;
  /** SSRCs that became participants (source-guard.ts). */
  sourcesAdmitted: number;
  /** SSRCs refused by the participant cap or the new-source rate (once per SSRC). */
  sourcesRefused: number;
  /** Packets of SSRCs still on probation (not yet participants). */
  probationPackets: number;
  /** Packets for a participant's SSRC from an address other than its latched one, dropped. */
  wrongAddress: number;
  /** Participants that moved to a new address (NAT rebinding rule). */
  relatched: number;
  /** Packets from addresses outside the allowed peers, dropped. */
  peerRefused: number;
  /** RTCP reports and BYEs about a participant from another address, ignored. */
  rtcpRefused: number;
  /** Mix packets not sent to participants that have not proved themselves yet. */
  withheld: number;
}

export interface UdpRtpTransportOptions {
  host?: string;
  port: number;
  jitter?: Omit<JitterBufferOptions, 'createDecoder'>;
  /** RFC 6464 audio level extension id used by senders (default 1). */
  audioLevelExtId?: number;
  /** Allowed peers and per-call limits on participants (source-guard.ts). */
  guard?: RtpGuardOptions;
  onError?: (err: unknown) => void;
}

/**
 * The RTP side of a conference on one UDP port: a new SSRC that passes the
 * source guard (source-guard.ts: in-sequence Opus packets, the limits, the
 * allowed peers) becomes a participant (source `ssrc-<n>`) latched to the
 * address it came from; its packets go to that source's jitter buffer, and its
 * mix is sent back, as Opus RTP, to that address once it has proved itself.
 * RTCP is multiplexed on the same port (RFC 5761).
 */
export class UdpRtpTransport {
  readonly stats: UdpTransportStats = {
    packetsIn: 0,
    bytesIn: 0,
    malformed: 0,
    rtcpIn: 0,
    rtcpOut: 0,
    packetsOut: 0,
    sendErrors: 0,
    sourcesAdmitted: 0,
    sourcesRefused: 0,
    probationPackets: 0,
    wrongAddress: 0,
    relatched: 0,
    peerRefused: 0,
    rtcpRefused: 0,
    withheld: 0,
  };
  private socket: Socket | null = null;
  private readonly parsed = emptyRtpPacket();
  /** Participants by the SSRC they send, and by their pipeline source (for the send callback). */
  private readonly bySsrc = new Map<number, RtpPeer>();
  private readonly bySource = new Map<MediaSource, RtpPeer>();
  private readonly rtcp: RtcpResponder;
  private readonly onError: (err: unknown) => void;
  private readonly probation = new Probation();
  private readonly peers: PeerFilter;
  private readonly newSources: TokenBucket;
  private readonly maxParticipants: number;

  constructor(
    private readonly pipeline: CallPipeline,
    private readonly opts: UdpRtpTransportOptions,
  ) {
    this.onError = opts.onError ?? (() => {});
    const guard = checkGuardOptions(opts.guard ?? {});
    this.peers = new PeerFilter(guard.allowed);
    this.newSources = new TokenBucket(guard.newSourcesPerSecond, performance.now());
    this.maxParticipants = guard.maxParticipants;
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
    const peer = this.bySource.get(source);
    if (!peer || !this.socket) return;
    if (!peer.proven) {
      if (peer.jitter.stats.decoded - peer.proofBase < PROVE_FRAMES) {
        this.stats.withheld++;
        return;
      }
      peer.proven = true;
    }
    const size = writeRtp(peer.out, peer, packet, length);
    peer.sequence = (peer.sequence + 1) & 0xffff;
    peer.timestamp = (peer.timestamp + RTP_TICKS_PER_FRAME) >>> 0;
    peer.packetsSent++;
    peer.octetsSent += length;
    this.stats.packetsOut++;
    this.socket.send(peer.out, 0, size, peer.port, peer.address, this.onSent);
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
        this.stats.rtcpRefused += this.rtcp.onRtcp(msg, rinfo, this.bySsrc, (ssrc) => this.removeSsrc(ssrc));
        return;
      }
      const p = parseRtpInto(msg, this.parsed, { audioLevelExtId: this.opts.audioLevelExtId ?? 1 });
      this.stats.packetsIn++;
      const now = performance.now();
      let peer = this.bySsrc.get(p.ssrc);
      if (peer && this.pipeline.getSource(peer.source.sourceId) !== peer.source) {
        this.forget(peer); // removed as idle: it has to be admitted again
        peer = undefined;
      }
      if (!peer) {
        this.offer(p, rinfo, now);
        return;
      }
      if (rinfo.port === peer.port && rinfo.address === peer.address) {
        peer.lastLatchedMs = now;
        peer.moveRun = 0;
      } else if (!this.mayMove(peer, p, rinfo, now)) {
        this.stats.wrongAddress++;
        return;
      }
      peer.jitter.push(p, now);
      this.pipeline.touch(peer.source);
    } catch (err) {
      if (isMediabotError(err)) {
        this.stats.malformed++;
        return;
      }
      this.onError(err);
    }
  }

  /** A packet of an SSRC that is not a participant: probation, then the limits. */
  private offer(p: RtpPacket, rinfo: RemoteInfo, now: number): void {
    if (!this.peers.allows(rinfo.address)) {
      this.stats.peerRefused++;
      return;
    }
    if (!plausibleOpus(p)) {
      this.stats.malformed++;
      return;
    }
    this.stats.probationPackets++;
    const offer = this.probation.offer(p, rinfo.address, rinfo.port, now);
    if (offer.verdict !== 'ready') return;
    if (this.bySsrc.size >= this.maxParticipants) this.pruneDeparted();
    if (this.bySsrc.size >= this.maxParticipants || !this.newSources.take(now)) {
      if (this.probation.refuse(p.ssrc)) this.stats.sourcesRefused++;
      return;
    }
    this.probation.admitted(p.ssrc);
    this.stats.sourcesAdmitted++;
    const peer = this.addParticipant(p.ssrc, p.payloadType, rinfo, now);
    for (const kept of offer.packets) peer.jitter.push(kept, now);
    this.pipeline.touch(peer.source);
  }

  /**
   * A participant's SSRC from another address: true (and the participant moves there) only when
   * its latched address has been silent for RELATCH_SILENCE_MS and this address has sent
   * RELATCH_PACKETS valid packets in sequence; the moved participant must prove itself again.
   */
  private mayMove(peer: RtpPeer, p: RtpPacket, rinfo: RemoteInfo, now: number): boolean {
    if (!this.peers.allows(rinfo.address)) {
      this.stats.peerRefused++;
      return false;
    }
    if (!plausibleOpus(p)) return false;
    if (peer.moveRun > 0 && rinfo.port === peer.movePort && rinfo.address === peer.moveAddress && followsInSequence(peer.moveSeq, p.sequence)) {
      peer.moveRun++;
    } else {
      peer.moveAddress = rinfo.address;
      peer.movePort = rinfo.port;
      peer.moveRun = 1;
    }
    peer.moveSeq = p.sequence;
    if (peer.moveRun < RELATCH_PACKETS || now - peer.lastLatchedMs < RELATCH_SILENCE_MS) return false;
    peer.address = rinfo.address;
    peer.port = rinfo.port;
    peer.lastLatchedMs = now;
    peer.moveRun = 0;
    peer.proofBase = peer.jitter.stats.decoded;
    peer.proven = false;
    this.stats.relatched++;
    return true;
  }

  private addParticipant(ssrc: number, payloadType: number, rinfo: RemoteInfo, now: number): RtpPeer {
    const jitter = new JitterBuffer({ ...this.opts.jitter, createDecoder: createOpusDecoder, sampleRate: this.pipeline.speechOnly ? 16_000 : 48_000 });
    const source = this.pipeline.addSource(`ssrc-${ssrc}`, jitter);
    const peer = createRtpPeer(source, jitter, ssrc, payloadType, rinfo, now);
    this.bySsrc.set(ssrc, peer);
    this.bySource.set(source, peer);
    return peer;
  }

  private removeSsrc(ssrc: number): void {
    const peer = this.bySsrc.get(ssrc);
    if (!peer) return;
    this.forget(peer);
    this.pipeline.removeSource(peer.source.sourceId);
  }

  private forget(peer: RtpPeer): void {
    if (this.bySsrc.get(peer.remoteSsrc) === peer) this.bySsrc.delete(peer.remoteSsrc);
    this.bySource.delete(peer.source);
  }

  /** Forgets participants the pipeline removed as idle (they no longer count against the cap). */
  private pruneDeparted(): void {
    for (const peer of [...this.bySsrc.values()]) if (this.pipeline.getSource(peer.source.sourceId) !== peer.source) this.forget(peer);
  }

  /** Sends RTCP sender/receiver reports to every participant (call every few seconds). */
  sendReports(): void {
    this.pruneDeparted();
    this.probation.sweep(performance.now());
    for (const peer of this.bySsrc.values()) if (peer.proven) this.rtcp.sendReport(peer);
  }

  participants(): Array<{ sourceId: string; ssrc: number; address: string; port: number; stats: JitterBuffer['stats']; packetsSent: number }> {
    return [...this.bySsrc.values()].map((peer) => ({ sourceId: peer.source.sourceId, ssrc: peer.remoteSsrc, address: peer.address, port: peer.port, stats: { ...peer.jitter.stats }, packetsSent: peer.packetsSent }));
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
