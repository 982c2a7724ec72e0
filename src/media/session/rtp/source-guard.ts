/**
 * Who may become, and stay, an RTP participant on a call's UDP port. Anyone can send UDP to the
 * port and put any SSRC in a packet, so an SSRC is only a name the sender chose:
 *
 * - **Admission.** A new SSRC is a candidate until it has sent ADMIT_PACKETS packets in sequence
 *   (sequence numbers one to three apart), from one address, with one dynamic payload type and
 *   payloads that parse as Opus. A single packet, or garbage whose SSRC field is random, never
 *   becomes a participant. The candidates' first packets are kept and played once admitted.
 * - **Limits.** At most `maxParticipants` participants per call and `newSourcesPerSecond` new
 *   ones (a token bucket with a burst of the same size); candidates beyond them are refused.
 * - **Allowed peers.** Optionally only addresses in `allowedPeers` (IPs or CIDRs: the addresses
 *   negotiated for the call) are heard at all.
 * - **Latching.** A participant's address is the one it was admitted from. Packets for its SSRC
 *   from anywhere else are dropped and counted, unless the latched address has been silent for
 *   RELATCH_SILENCE_MS and the new one has sent RELATCH_PACKETS valid packets in sequence
 *   (NAT rebinding): then the participant moves there, and has to prove itself again.
 * - **Proof.** No media goes to a participant until PROVE_FRAMES of its packets have played (decoded, or known silent without a decode)
 *   (see udp-transport.ts), so a sender cannot point the mix at an address it does not hear from.
 */
import ipaddr from 'ipaddr.js';
import { MediabotError } from '../../../errors.js';
import { opusPacketSamples } from '../../wire/opus-packet.js';
import type { RtpPacket } from '../../wire/rtp.js';

export interface RtpGuardOptions {
  /** IPs or CIDRs allowed to send (the negotiated peers); absent or empty: any address. */
  allowedPeers?: readonly string[] | undefined;
  /** Participants per call (default 64). */
  maxParticipants?: number | undefined;
  /** New participants per second, per call (default 10; the burst is the same number). */
  newSourcesPerSecond?: number | undefined;
}

export const RTP_GUARD_DEFAULTS = {
  maxParticipants: 64,
  newSourcesPerSecond: 10,
} as const;

/** Packets in sequence a new SSRC sends before it becomes a participant. */
export const ADMIT_PACKETS = 3;
/** Frames of a participant that must decode before media is sent to it. */
export const PROVE_FRAMES = 5;
/** How long a latched address must be silent before its SSRC may move to another address. */
export const RELATCH_SILENCE_MS = 2000;
/** Packets in sequence the new address must send before the SSRC moves there. */
export const RELATCH_PACKETS = 5;
/** Candidates kept at once, and how long one lives without a packet. */
const CANDIDATE_TABLE = 32;
const CANDIDATE_TTL_MS = 1000;

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];

/** Whether `seq` follows `prev` closely enough to be the same stream (one to three ahead, with wrap). */
export function followsInSequence(prev: number, seq: number): boolean {
  const d = (seq - prev) & 0xffff;
  return d >= 1 && d <= 3;
}

/** A payload that could be one Opus packet of a dynamic payload type (RFC 7587). */
export function plausibleOpus(p: RtpPacket): boolean {
  if (p.payloadType < 96 || p.payloadType > 127 || p.payload.length === 0) return false;
  try {
    opusPacketSamples(p.payload);
    return true;
  } catch {
    return false;
  }
}

/** Checks the limit options; throws MEDIABOT_CONFIG_INVALID. */
export function checkGuardOptions(o: RtpGuardOptions): { allowed: Range[] | null; maxParticipants: number; newSourcesPerSecond: number } {
  const maxParticipants = o.maxParticipants ?? RTP_GUARD_DEFAULTS.maxParticipants;
  const rate = o.newSourcesPerSecond ?? RTP_GUARD_DEFAULTS.newSourcesPerSecond;
  if (!Number.isInteger(maxParticipants) || maxParticipants < 1 || maxParticipants > 10_000) throw new MediabotError('MEDIABOT_CONFIG_INVALID', `rtp maxParticipants must be an integer 1-10000 (got ${maxParticipants})`);
  if (!(rate > 0 && rate <= 10_000)) throw new MediabotError('MEDIABOT_CONFIG_INVALID', `rtp newSourcesPerSecond must be in (0, 10000] (got ${rate})`);
  let allowed: Range[] | null = null;
  if (o.allowedPeers && o.allowedPeers.length > 0) {
    allowed = o.allowedPeers.map((entry): Range => {
      try {
        if (entry.includes('/')) return ipaddr.parseCIDR(entry);
        const a = ipaddr.process(entry);
        return [a, a.kind() === 'ipv4' ? 32 : 128];
      } catch {
        throw new MediabotError('MEDIABOT_CONFIG_INVALID', `rtp allowedPeers entry ${JSON.stringify(entry)} is not an IP or CIDR`);
      }
    });
  }
  return { allowed, maxParticipants, newSourcesPerSecond: rate };
}

/** Allowed-peer matching, cached per address string (a call hears from few addresses). */
export class PeerFilter {
  private readonly verdicts = new Map<string, boolean>();
  constructor(private readonly ranges: readonly Range[] | null) {}

  allows(address: string): boolean {
    if (this.ranges === null) return true;
    let v = this.verdicts.get(address);
    if (v === undefined) {
      try {
        const a = ipaddr.process(address);
        v = this.ranges.some(([net, bits]) => net.kind() === a.kind() && a.match(net, bits));
      } catch {
        v = false;
      }
      if (this.verdicts.size > 1024) this.verdicts.clear();
      this.verdicts.set(address, v);
    }
    return v;
  }
}

/** New participants per second: a token bucket whose burst is the rate. */
export class TokenBucket {
  private tokens: number;
  private last: number;
  constructor(
    private readonly perSecond: number,
    now: number,
  ) {
    this.tokens = perSecond;
    this.last = now;
  }

  take(now: number): boolean {
    this.tokens = Math.min(this.perSecond, this.tokens + ((now - this.last) * this.perSecond) / 1000);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** The fields of a packet the jitter buffer reads, copied (the receive path reuses its packet). */
function keep(p: RtpPacket): RtpPacket {
  return { ...p, csrcs: [], extensions: [], audioLevel: p.audioLevel ? { ...p.audioLevel } : null };
}

interface Candidate {
  address: string;
  port: number;
  payloadType: number;
  lastSeq: number;
  lastMs: number;
  /** Packets in sequence so far, oldest first (at most ADMIT_PACKETS). */
  packets: RtpPacket[];
  refused: boolean;
}

export type Offer = { verdict: 'wait' } | { verdict: 'ready'; packets: RtpPacket[] };

/** SSRCs on probation: what a new SSRC sent until it has sent enough in sequence. */
export class Probation {
  private readonly table = new Map<number, Candidate>();

  /** A packet of an unknown SSRC; 'ready' with its packets once it has sent ADMIT_PACKETS in sequence. */
  offer(p: RtpPacket, address: string, port: number, now: number): Offer {
    let c = this.table.get(p.ssrc);
    const fresh = c === undefined || c.address !== address || c.port !== port || c.payloadType !== p.payloadType || now - c.lastMs > CANDIDATE_TTL_MS;
    if (c !== undefined && !fresh && p.sequence === c.lastSeq) return { verdict: 'wait' }; // a duplicate
    if (c === undefined || fresh || !followsInSequence(c.lastSeq, p.sequence)) {
      if (c === undefined) this.makeRoom(now);
      c = { address, port, payloadType: p.payloadType, lastSeq: p.sequence, lastMs: now, packets: [keep(p)], refused: c?.refused ?? false };
      this.table.delete(p.ssrc);
      this.table.set(p.ssrc, c);
    } else {
      c.lastSeq = p.sequence;
      c.lastMs = now;
      c.packets.push(keep(p));
      if (c.packets.length > ADMIT_PACKETS) c.packets.shift();
    }
    return c.packets.length >= ADMIT_PACKETS ? { verdict: 'ready', packets: c.packets } : { verdict: 'wait' };
  }

  /** Marks a ready candidate refused (by a limit); true the first time, so refusals count once per SSRC. */
  refuse(ssrc: number): boolean {
    const c = this.table.get(ssrc);
    if (!c || c.refused) return false;
    c.refused = true;
    return true;
  }

  admitted(ssrc: number): void {
    this.table.delete(ssrc);
  }

  get size(): number {
    return this.table.size;
  }

  /** Forgets candidates silent for longer than their TTL. */
  sweep(now: number): void {
    for (const [ssrc, c] of this.table) if (now - c.lastMs > CANDIDATE_TTL_MS) this.table.delete(ssrc);
  }

  private makeRoom(now: number): void {
    if (this.table.size < CANDIDATE_TABLE) return;
    this.sweep(now);
    // Still full (a flood of new SSRCs): the oldest goes.
    while (this.table.size >= CANDIDATE_TABLE) {
      const oldest = this.table.keys().next().value;
      if (oldest === undefined) break;
      this.table.delete(oldest);
    }
  }
}
