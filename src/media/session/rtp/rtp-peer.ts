/**
 * One RTP participant as the UDP session sees it: the pipeline source its packets feed, where its
 * mix goes back to, and our outbound stream to it. The fields the header needs match
 * `RtpWriteHeader`, so `writeRtp` writes the header straight from the peer (no per-packet object).
 */
import { randomInt } from 'node:crypto';
import type { MediaSource } from '../../core/source.js';
import { MAX_OPUS_PACKET } from '../../codec/opus.js';
import { RTP_HEADER_SIZE, type RtpWriteHeader } from '../../wire/rtp.js';
import type { JitterBuffer } from './jitter-buffer.js';

export interface RtpPeer extends RtpWriteHeader {
  /** The pipeline source fed by this participant's packets. */
  readonly source: MediaSource;
  /** The participant's SSRC (the stream it sends us). */
  readonly remoteSsrc: number;
  readonly jitter: JitterBuffer;
  /** The latched address and port: where its packets must come from, and where its mix goes. */
  address: string;
  port: number;
  /** When the latched address last sent (ms, performance.now). */
  lastLatchedMs: number;
  /** Another address sending this SSRC (a NAT rebinding, or an attacker): its run of packets in sequence. */
  moveAddress: string;
  movePort: number;
  moveSeq: number;
  moveRun: number;
  /** Decoded frames counted before the latest latch; the peer is proven PROVE_FRAMES decodes later. */
  proofBase: number;
  /** Media may be sent to it (it has proved it sends from its latched address). */
  proven: boolean;
  /** Our SSRC, sequence and timestamp for the stream we send this participant. */
  ssrc: number;
  sequence: number;
  timestamp: number;
  payloadType: number;
  readonly marker: false;
  packetsSent: number;
  octetsSent: number;
  /** The outbound packet buffer (header + largest Opus packet), reused for every send. */
  readonly out: Buffer;
}

export function createRtpPeer(source: MediaSource, jitter: JitterBuffer, remoteSsrc: number, payloadType: number, from: { address: string; port: number }, nowMs: number): RtpPeer {
  return {
    source,
    remoteSsrc,
    jitter,
    address: from.address,
    port: from.port,
    lastLatchedMs: nowMs,
    moveAddress: '',
    movePort: 0,
    moveSeq: 0,
    moveRun: 0,
    proofBase: 0,
    proven: false,
    ssrc: randomInt(1, 0xffffffff),
    sequence: randomInt(0, 0xffff),
    timestamp: randomInt(0, 0xffffffff),
    payloadType,
    marker: false,
    packetsSent: 0,
    octetsSent: 0,
    out: Buffer.alloc(RTP_HEADER_SIZE + MAX_OPUS_PACKET),
  };
}
