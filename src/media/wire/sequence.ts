/**
 * Extended (unwrapped) RTP sequence numbers and timestamps.
 *
 * `SequenceTracker` follows RFC 3550 appendix A.1: packets within MAX_DROPOUT
 * ahead are accepted (counting a new cycle on wrap), packets within MAX_MISORDER
 * behind are accepted as reordered or duplicate, and a larger jump is believed
 * only when the next packet confirms it (the source restarted).
 */

export const RTP_SEQ_MOD = 0x1_0000;
export const MAX_DROPOUT = 3000;
export const MAX_MISORDER = 100;

/** Results of `SequenceTracker.update`. */
export const SEQ_INVALID = 0;
export const SEQ_VALID = 1;
/** Valid, and the tracker re-initialised on this packet (large confirmed jump or end of probation). */
export const SEQ_RESTARTED = 2;
export type SeqUpdateResult = typeof SEQ_INVALID | typeof SEQ_VALID | typeof SEQ_RESTARTED;

export class SequenceTracker {
  /** Sequence number of the first packet of the current run (16-bit). */
  baseSeq = 0;
  /** Highest sequence number seen (16-bit). */
  maxSeq = 0;
  /** Shifted count of wraps (a multiple of 65536). */
  cycles = 0;
  /** Valid packets received, duplicates included (RFC 3550 A.1 `received`). */
  received = 0;
  /** Extended sequence number of the last packet passed to `update` when valid (may be below base). */
  lastExtended = 0;
  private badSeq = RTP_SEQ_MOD + 1;
  private probation = 0;
  private started = false;

  /**
   * @param minSequential packets in sequence needed before a new source is valid.
   *   RFC 3550 suggests 2; 1 accepts the first packet at once.
   */
  constructor(private readonly minSequential = 2) {}

  /** Extended highest sequence number (cycles + max), the RR "extended highest sequence number". */
  get extendedMax(): number {
    return this.cycles + this.maxSeq;
  }

  /** Packets expected so far: extended max - base + 1. */
  get expected(): number {
    return this.started ? this.extendedMax - this.baseSeq + 1 : 0;
  }

  /** Expected minus received, clamped to the 24-bit signed range of a report block. */
  get cumulativeLost(): number {
    const lost = this.expected - this.received;
    return lost > 0x7fffff ? 0x7fffff : lost < -0x800000 ? -0x800000 : lost;
  }

  reset(): void {
    this.started = false;
    this.baseSeq = this.maxSeq = this.cycles = this.received = this.lastExtended = 0;
    this.badSeq = RTP_SEQ_MOD + 1;
    this.probation = 0;
  }

  private init(seq: number): void {
    this.baseSeq = seq;
    this.maxSeq = seq;
    this.badSeq = RTP_SEQ_MOD + 1;
    this.cycles = 0;
    this.received = 0;
  }

  update(seq: number): SeqUpdateResult {
    seq &= 0xffff;
    if (!this.started) {
      this.started = true;
      this.init(seq);
      this.maxSeq = (seq - 1) & 0xffff;
      this.probation = this.minSequential;
    }
    const udelta = (seq - this.maxSeq) & 0xffff;
    if (this.probation > 0) {
      if (seq === ((this.maxSeq + 1) & 0xffff)) {
        this.probation--;
        this.maxSeq = seq;
        if (this.probation === 0) {
          this.init(seq);
          this.received++;
          this.lastExtended = seq;
          return SEQ_RESTARTED;
        }
      } else {
        this.probation = this.minSequential - 1;
        this.maxSeq = seq;
      }
      return SEQ_INVALID;
    }
    if (udelta < MAX_DROPOUT) {
      if (seq < this.maxSeq) this.cycles += RTP_SEQ_MOD;
      this.maxSeq = seq;
      this.lastExtended = this.cycles + seq;
    } else if (udelta <= RTP_SEQ_MOD - MAX_MISORDER) {
      if (seq !== this.badSeq) {
        this.badSeq = (seq + 1) & 0xffff;
        return SEQ_INVALID;
      }
      // two sequential packets after a big jump: the source restarted
      this.init(seq);
      this.received++;
      this.lastExtended = seq;
      return SEQ_RESTARTED;
    } else {
      // duplicate or reordered: at most MAX_MISORDER behind the maximum
      this.lastExtended = this.cycles + seq - (seq > this.maxSeq ? RTP_SEQ_MOD : 0);
    }
    this.received++;
    return SEQ_VALID;
  }
}

/** Unwraps 32-bit RTP timestamps into a monotonic-ish number line (exact up to 2^53). */
export class TimestampUnwrapper {
  private last = 0;
  private lastExtended = 0;
  private started = false;

  reset(): void {
    this.started = false;
    this.last = this.lastExtended = 0;
  }

  /** Extended value of `ts`, placed within +-2^31 of the highest timestamp seen. */
  unwrap(ts: number): number {
    ts >>>= 0;
    if (!this.started) {
      this.started = true;
      this.last = ts;
      this.lastExtended = ts;
      return ts;
    }
    const delta = (ts - this.last) | 0; // signed 32-bit distance survives the wrap
    const ext = this.lastExtended + delta;
    if (delta > 0) {
      this.last = ts;
      this.lastExtended = ext;
    }
    return ext;
  }
}
