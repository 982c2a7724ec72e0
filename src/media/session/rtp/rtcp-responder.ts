import { dlsrFromMs, ntpFromUnixMs, ntpMiddle32, parseRtcp, ReportBlockBuilder, serializeRtcp, type RtcpPacket, type RtcpReportBlock } from '../../wire/rtcp.js';
import type { RtpPeer } from './rtp-peer.js';

interface PeerRtcpState {
  builder: ReportBlockBuilder;
  /** LSR: middle 32 bits of the last SR's NTP time, and when it arrived. */
  lsr: number;
  lsrArrivalMs: number;
}

const CNAME = 'mediabot';

/**
 * Where RTCP about a participant may come from: its latched address, on its RTP port (RTCP
 * multiplexed, RFC 5761) or the port above it (RFC 3550's convention for a separate RTCP port).
 */
export function rtcpFromPeer(peer: RtpPeer, from: { address: string; port: number }): boolean {
  return from.address === peer.address && (from.port === peer.port || from.port === peer.port + 1);
}

/**
 * Answers RTCP for the conference: an SR from a participant is answered with a
 * receiver report about its stream; `sendReport` sends our SR for the stream
 * we send it, with a report block about the stream it sends us. BYE removes
 * the participant. Every report or BYE about an SSRC is honoured only from that
 * participant's own address (rtcpFromPeer); others are counted and ignored.
 */
export class RtcpResponder {
  private readonly state = new WeakMap<RtpPeer, PeerRtcpState>();

  constructor(private readonly sendTo: (buf: Uint8Array, peer: RtpPeer) => void) {}

  private stateOf(peer: RtpPeer): PeerRtcpState {
    let s = this.state.get(peer);
    if (!s) {
      s = { builder: new ReportBlockBuilder(), lsr: 0, lsrArrivalMs: 0 };
      this.state.set(peer, s);
    }
    return s;
  }

  private block(peer: RtpPeer): RtcpReportBlock {
    const s = this.stateOf(peer);
    const dlsr = s.lsr === 0 ? 0 : dlsrFromMs(Date.now() - s.lsrArrivalMs);
    // `reception` counts the current SSRC only (RFC 3550 A.3), unlike the buffer's lifetime stats.
    return s.builder.build(peer.jitter.reception, s.lsr, dlsr);
  }

  /** A participant's report block about the stream we send it: its loss steers our encoders' FEC. */
  private noteReportedLoss(peer: RtpPeer, reports: readonly RtcpReportBlock[]): void {
    for (const b of reports) if (b.ssrc === peer.ssrc) peer.source.reportedLossPct = (b.fractionLost * 100) / 256;
  }

  /**
   * Handles one compound RTCP packet from `from`. Returns how many of its reports and BYEs were
   * ignored for naming a participant that sends from elsewhere. Throws MediabotError on malformed input.
   */
  onRtcp(buf: Uint8Array, from: { address: string; port: number }, bySsrc: ReadonlyMap<number, RtpPeer>, remove: (ssrc: number) => void): number {
    const packets = parseRtcp(buf);
    let refused = 0;
    const own = (ssrc: number): RtpPeer | undefined => {
      const peer = bySsrc.get(ssrc);
      if (peer && !rtcpFromPeer(peer, from)) {
        refused++;
        return undefined;
      }
      return peer;
    };
    for (const p of packets) {
      if (p.type === 'sr') {
        const peer = own(p.ssrc);
        if (!peer) continue;
        const s = this.stateOf(peer);
        s.lsr = ntpMiddle32(p.ntpSeconds, p.ntpFraction);
        s.lsrArrivalMs = Date.now();
        const rr: RtcpPacket[] = [
          { type: 'rr', ssrc: peer.ssrc, reports: [this.block(peer)] },
          { type: 'sdes', chunks: [{ ssrc: peer.ssrc, cname: CNAME }] },
        ];
        this.sendTo(serializeRtcp(rr), peer);
        this.noteReportedLoss(peer, p.reports);
      } else if (p.type === 'rr') {
        const peer = own(p.ssrc);
        if (peer) this.noteReportedLoss(peer, p.reports);
      } else if (p.type === 'bye') {
        for (const ssrc of p.ssrcs) if (own(ssrc)) remove(ssrc);
      }
    }
    return refused;
  }

  /** Our periodic sender report to one participant. */
  sendReport(peer: RtpPeer): void {
    const ntp = ntpFromUnixMs(Date.now());
    const sr: RtcpPacket[] = [
      { type: 'sr', ssrc: peer.ssrc, ntpSeconds: ntp.seconds, ntpFraction: ntp.fraction, rtpTimestamp: peer.timestamp, packetCount: peer.packetsSent, octetCount: peer.octetsSent >>> 0, reports: [this.block(peer)] },
      { type: 'sdes', chunks: [{ ssrc: peer.ssrc, cname: CNAME }] },
    ];
    this.sendTo(serializeRtcp(sr), peer);
  }
}
