/**
 * Talk detection on frame energy, with attack and hang times.
 *
 * A source starts talking after its level stays above the threshold for
 * `attackMs`, and stops after it stays below for `hangMs` (so the gaps between
 * words do not end a turn). The threshold follows the source's noise floor:
 * max(thresholdDbov, floor + marginDb), with the floor tracking the quietest
 * frames slowly. When the sender provides RFC 6464 levels, those are used
 * instead of decoding-side energy (the sender's level is measured before
 * encoding, and its V flag is its own VAD decision).
 */
export interface TalkDetectorOptions {
  thresholdDbov?: number;
  marginDb?: number;
  attackMs?: number;
  hangMs?: number;
}

export const TALK_DEFAULTS = { thresholdDbov: -50, marginDb: 12, attackMs: 40, hangMs: 400 } as const;

export class TalkDetector {
  talking = false;
  private above = 0;
  private below = 0;
  private floorDb = -90;
  private readonly attackFrames: number;
  private readonly hangFrames: number;
  private readonly thresholdDbov: number;
  private readonly marginDb: number;

  constructor(opts: TalkDetectorOptions = {}) {
    this.thresholdDbov = opts.thresholdDbov ?? TALK_DEFAULTS.thresholdDbov;
    this.marginDb = opts.marginDb ?? TALK_DEFAULTS.marginDb;
    this.attackFrames = Math.max(1, Math.round((opts.attackMs ?? TALK_DEFAULTS.attackMs) / 20));
    this.hangFrames = Math.max(1, Math.round((opts.hangMs ?? TALK_DEFAULTS.hangMs) / 20));
  }

  /**
   * Feeds one frame. `levelDbov` is the frame's level; `senderVoice` is the
   * RFC 6464 V flag when present (null otherwise). Returns the talking state.
   */
  update(levelDbov: number, senderVoice: boolean | null = null): boolean {
    // The floor drops fast to quiet frames and rises slowly (about 1 dB/s).
    if (levelDbov < this.floorDb) this.floorDb = levelDbov;
    else this.floorDb += 0.02;
    const threshold = Math.max(this.thresholdDbov, this.floorDb + this.marginDb);
    const active = senderVoice ?? levelDbov > threshold;
    if (active) {
      this.above++;
      this.below = 0;
      if (!this.talking && this.above >= this.attackFrames) this.talking = true;
    } else {
      this.below++;
      this.above = 0;
      if (this.talking && this.below >= this.hangFrames) this.talking = false;
    }
    return this.talking;
  }

  reset(): void {
    this.talking = false;
    this.above = 0;
    this.below = 0;
    this.floorDb = -90;
  }
}
