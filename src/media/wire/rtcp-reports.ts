/**
 * What RTCP reports are computed from (RFC 3550 6.4 and A.3, A.8): NTP time fields, round trip,
 * fraction lost, interarrival jitter, and the report block a receiver builds for one source.
 * Pure arithmetic; the packets themselves are in rtcp.ts.
 */
import type { RtcpReportBlock } from './rtcp.js';

/** Seconds from the NTP epoch (1900) to the Unix epoch (1970). */
export const NTP_UNIX_OFFSET_S = 2_208_988_800;

/** NTP timestamp (seconds since 1900, 2^-32 fraction) of a Unix time in ms. */
export function ntpFromUnixMs(unixMs: number): { seconds: number; fraction: number } {
  const ms = Math.floor(unixMs);
  const secs = Math.floor(ms / 1000);
  const fraction = Math.floor(((ms - secs * 1000) * 0x1_0000_0000) / 1000);
  return { seconds: (secs + NTP_UNIX_OFFSET_S) >>> 0, fraction };
}

/** Unix time in ms of an NTP timestamp (era 0, i.e. until 2036). */
export function unixMsFromNtp(seconds: number, fraction: number): number {
  return (seconds - NTP_UNIX_OFFSET_S) * 1000 + (fraction * 1000) / 0x1_0000_0000;
}

/** The middle 32 bits of an NTP timestamp: the LSR field of a report block. */
export function ntpMiddle32(seconds: number, fraction: number): number {
  return (((seconds & 0xffff) << 16) | (fraction >>> 16)) >>> 0;
}

/** A delay in ms as the DLSR field (units of 1/65536 s). */
export function dlsrFromMs(ms: number): number {
  return Math.min(0xffffffff, Math.max(0, Math.round((ms * 65536) / 1000)));
}

/**
 * Round-trip time (RFC 3550 6.4.1) from a report block that echoes our SR:
 * arrival - LSR - DLSR, all in the 32-bit middle NTP format. Null when the block
 * echoes no SR.
 */
export function roundTripMs(arrivalUnixMs: number, lsr: number, dlsr: number): number | null {
  if (lsr === 0) return null;
  const a = ntpFromUnixMs(arrivalUnixMs);
  const rtt = (ntpMiddle32(a.seconds, a.fraction) - lsr - dlsr) | 0;
  return rtt < 0 ? 0 : (rtt * 1000) / 65536;
}

// ---------------------------------------------------------------- receiver math

/** RFC 3550 A.3 fraction lost over an interval, in 1/256. Duplicates never make it negative. */
export function lossFraction(expectedInterval: number, receivedInterval: number): number {
  const lostInterval = expectedInterval - receivedInterval;
  if (expectedInterval <= 0 || lostInterval <= 0) return 0;
  return Math.min(255, Math.floor((lostInterval * 256) / expectedInterval));
}

/**
 * RFC 3550 A.8 interarrival jitter, kept in RTP timestamp units. Feed it each
 * packet's arrival time (converted to RTP units) and RTP timestamp; the transit
 * difference uses signed 32-bit arithmetic, so timestamp wrap adds nothing.
 */
export class InterarrivalJitter {
  /** Current estimate in RTP timestamp units (fractional). */
  value = 0;
  private lastArrival = 0;
  private lastTs = 0;
  private started = false;

  constructor(private readonly clockRate = 48_000) {}

  reset(): void {
    this.value = 0;
    this.started = false;
  }

  /** @param arrivalMs arrival time in ms on any monotonic clock. */
  update(arrivalMs: number, rtpTimestamp: number): void {
    const arrival = (arrivalMs * this.clockRate) / 1000;
    if (this.started) {
      const d = arrival - this.lastArrival - ((rtpTimestamp - this.lastTs) | 0);
      this.value += (Math.abs(d) - this.value) / 16;
    }
    this.started = true;
    this.lastArrival = arrival;
    this.lastTs = rtpTimestamp >>> 0;
  }

  get ms(): number {
    return (this.value * 1000) / this.clockRate;
  }
}

/** What a receiver knows about one source, enough for an RTCP report block. */
export interface ReceptionCounters {
  readonly ssrc: number;
  readonly extendedHighestSeq: number;
  readonly expected: number;
  /** Packets received (RFC 3550 A.1: duplicates included). */
  readonly received: number;
  /** Interarrival jitter in RTP timestamp units. */
  readonly jitterRtp: number;
}

/** Builds successive report blocks for one source, remembering A.3's expected_prior / received_prior. */
export class ReportBlockBuilder {
  private expectedPrior = 0;
  private receivedPrior = 0;

  reset(): void {
    this.expectedPrior = this.receivedPrior = 0;
  }

  build(c: ReceptionCounters, lsr = 0, dlsr = 0): RtcpReportBlock {
    const expectedInterval = c.expected - this.expectedPrior;
    const receivedInterval = c.received - this.receivedPrior;
    this.expectedPrior = c.expected;
    this.receivedPrior = c.received;
    const lost = c.expected - c.received;
    return {
      ssrc: c.ssrc >>> 0,
      fractionLost: lossFraction(expectedInterval, receivedInterval),
      cumulativeLost: lost > 0x7fffff ? 0x7fffff : lost < -0x800000 ? -0x800000 : lost,
      highestSeq: c.extendedHighestSeq >>> 0,
      jitter: Math.min(0xffffffff, Math.floor(c.jitterRtp)),
      lsr: lsr >>> 0,
      dlsr: dlsr >>> 0,
    };
  }
}
