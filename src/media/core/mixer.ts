import { MAX_OPUS_PACKET } from '../codec/opus.js';
import type { FrameEncoder } from '../codec/types.js';
import { SAMPLES_48K } from './frame.js';
import { SoftLimiter } from './limiter.js';
import { native } from '../codec/native.js';

/** One input and output of the mixer: a participant. */
export interface MixParticipant {
  /** This tick's decoded frame (960 samples at 48 kHz). */
  readonly pcm48: Int16Array;
  /** Whether the participant's audio goes into the mix this tick. */
  readonly contributes: boolean;
  /** Talkers get their own mix-minus; everyone else shares the full-mix encode. */
  readonly talking: boolean;
  /** The participant's own encoder, used for its mix-minus while it talks. */
  readonly encoder: FrameEncoder;
  readonly limiter: SoftLimiter;
  /** Where this participant's packet for this tick is written. */
  readonly packet: Uint8Array;
  packetLength: number;
  /** True when `packet` holds a mix-minus; false when the shared full-mix packet applies. */
  ownPacket: boolean;
  /** Loss (percent) this participant last reported for the stream we send it (RTCP), or -1. */
  readonly reportedLossPct: number;
}

/** How the encoders' expected loss is set: fixed, or following what the receivers report. */
export interface LossPolicy {
  adaptive: boolean;
  /** The expected loss while no receiver has reported (or always, when not adaptive). */
  basePct: number;
}

/** Adaptive FEC never plans for more loss than this: beyond it, FEC bits starve the speech. */
const MAX_ADAPTIVE_LOSS_PCT = 40;

/**
 * The conference mixer: float accumulation at 48 kHz, soft limiting, a
 * mix-minus per talker and one shared encode of the full mix for everyone
 * else, so a tick costs talkers + 1 encodes. Allocates nothing per tick.
 */
export class Mixer {
  private readonly sum = new Float32Array(SAMPLES_48K);
  private readonly minus = new Float32Array(SAMPLES_48K);
  private readonly minusPcm = new Int16Array(SAMPLES_48K);
  private readonly fullLimiter = new SoftLimiter();
  /** The full mix after limiting (what non-talkers hear and what taps record). */
  readonly mix48 = new Int16Array(SAMPLES_48K);
  readonly mixPacket = new Uint8Array(MAX_OPUS_PACKET);
  mixPacketLength = 0;
  encodes = 0;
  private mixEncodedThisTick = false;

  constructor(
    private readonly fullMixEncoder: FrameEncoder,
    private readonly loss: LossPolicy = { adaptive: false, basePct: 0 },
  ) {}

  /** An integer percentage (`| 0`: a small integer, so passing it on allocates nothing). */
  private lossFor(reportedPct: number): number {
    return (reportedPct < 0 ? this.loss.basePct : Math.min(MAX_ADAPTIVE_LOSS_PCT, Math.ceil(reportedPct))) | 0;
  }

  /** Sums the contributing participants and limits the full mix into `mix48`. */
  mix(participants: readonly MixParticipant[], count: number): void {
    const sum = this.sum;
    sum.fill(0);
    const kernel = native;
    for (let p = 0; p < count; p++) {
      const part = participants[p]!;
      if (!part.contributes) continue;
      const pcm = part.pcm48;
      if (kernel) kernel.mixAdd(sum, pcm);
      else for (let i = 0; i < SAMPLES_48K; i++) sum[i]! += pcm[i]!;
    }
    this.fullLimiter.process(sum, this.mix48);
    this.mixEncodedThisTick = false;
  }

  /**
   * Encodes what each participant hears. Talkers get a mix-minus (the sum
   * without their own voice); the full mix is encoded once, only if someone
   * needs it, or when `alwaysEncodeMix` is set (e.g. for the recorder).
   * With an adaptive loss policy, each talker's encoder plans FEC for the loss
   * its receiver reports, and the shared encoder for the worst of its receivers.
   */
  encode(participants: readonly MixParticipant[], count: number, alwaysEncodeMix: boolean): void {
    this.encodes = 0;
    const adaptive = this.loss.adaptive;
    let needsMix = alwaysEncodeMix;
    let mixReceiversLoss = -1;
    for (let p = 0; p < count; p++) {
      const part = participants[p]!;
      if (!part.talking) {
        part.ownPacket = false;
        needsMix = true;
        if (part.reportedLossPct > mixReceiversLoss) mixReceiversLoss = part.reportedLossPct;
        continue;
      }
      if (adaptive) part.encoder.setExpectedLossPct?.(this.lossFor(part.reportedLossPct));
      const minus = this.minus;
      const own = part.pcm48;
      const sum = this.sum;
      if (part.contributes) for (let i = 0; i < SAMPLES_48K; i++) minus[i] = sum[i]! - own[i]!;
      else minus.set(sum);
      part.limiter.process(minus, this.minusPcm);
      part.packetLength = part.encoder.encode(this.minusPcm, part.packet);
      part.ownPacket = true;
      this.encodes++;
    }
    if (needsMix) {
      if (adaptive) this.fullMixEncoder.setExpectedLossPct?.(this.lossFor(mixReceiversLoss));
      this.mixPacketLength = this.fullMixEncoder.encode(this.mix48, this.mixPacket);
      this.mixEncodedThisTick = true;
      this.encodes++;
    }
  }

  /** Views of `mixPacket` by length, made once each, so handing out the packet allocates nothing. */
  private readonly mixViews: Array<Uint8Array | undefined> = [];

  /** The shared full-mix packet of this tick, or null if none was encoded. */
  get mixOpus(): Uint8Array | null {
    if (!this.mixEncodedThisTick) return null;
    const n = this.mixPacketLength;
    let v = this.mixViews[n];
    if (!v) {
      v = this.mixPacket.subarray(0, n);
      this.mixViews[n] = v;
    }
    return v;
  }
}
