/**
 * Jitter buffer for one RTP source carrying 20 ms Opus frames.
 *
 * Packets are stored by extended sequence number in a preallocated ring of
 * slots (parallel typed arrays plus one array of payload views), so push and
 * pull allocate nothing. `pull` runs once per 20 ms tick and always writes one
 * frame: the decoded packet, Opus in-band FEC recovered from the next packet,
 * codec concealment, or silence. Each packet is taken to carry one 20 ms frame
 * (the Opus ptime Teams and WebRTC use), so playout follows sequence numbers;
 * timestamps feed the jitter estimate, where a sender's pause (DTX) costs nothing.
 *
 * Depth policy. The playout depth is the number of frames from the next one to
 * play to the newest one received (holes included), i.e. the playout delay in
 * frames. Its target is
 *     target = clamp(1 + ceil(JITTER_K * jitterMs / 20 - 0.2), min, max) frames
 * from the RFC 3550 interarrival jitter: one frame, plus a margin of about
 * three jitters (the 0.2 keeps sub-millisecond jitter from costing a frame).
 * The target rises at once and falls by one frame only after it has been too
 * high for TARGET_HOLD_TICKS (1 s): grow fast, shrink slowly. The actual depth
 * follows the target, judged on a smoothed (EMA) depth level:
 *   - below target: one concealed frame is inserted instead of playing
 *     (the delay grows by one frame per tick until the target is reached);
 *   - above target + 1 for a while: one frame is dropped, at most once per
 *     SHRINK_INTERVAL_TICKS;
 *   - both wait for a quiet moment, so words are neither stretched by
 *     concealment nor cut: a frame the sender marked as not voice (RFC 6464),
 *     or, when it sends no level, a decoded frame below QUIET_DBOV. After
 *     ADJUST_PATIENCE_TICKS without one (continuous sound), they go ahead.
 *     (A speech recognizer reading the 16 kHz tap is the reason: concealment
 *     inserted mid-word costs recognition accuracy, the same frame in a pause
 *     costs nothing.)
 *   - above max: frames are dropped at once down to max (catch-up after a stall);
 *   - empty: the buffer goes back to buffering and resumes when the target
 *     depth is there again (talk spurts restart with a safe margin).
 *
 * Concealment is bounded: after `maxConcealedFrames` consecutive concealed
 * frames (default 5 = 100 ms) the output is silence. Opus PLC beyond ~100 ms
 * turns into a buzzy or robotic tail, and a sender that went quiet should not
 * keep "talking" through the mix.
 *
 * Why one file of this size: the ring, the sequence state and the depth policy
 * are read and written together by `push` and `pull` on every packet and every
 * tick; each piece alone has no invariant of its own, and splitting them into
 * objects would put an indirection on the hot path and spread one state
 * machine over several files. The pure pieces already live elsewhere
 * (sequence unwrapping in wire/sequence.ts, interarrival jitter and reception
 * counters in wire/rtcp.ts, levels in codec/level.ts).
 */
import { isSilentLevel, isSilentOpusPayload } from '../../codec/silence.js';
import { MediabotError } from '../../../errors.js';
import type { DecodeRate, FrameDecoder } from '../../codec/types.js';
import { FRAME_MS } from '../../core/frame.js';
import { frameLevelDbov } from '../../codec/level.js';
import type { FrameOrigin } from '../../hooks/api.js';
import type { AudioLevel, RtpPacket } from '../../wire/rtp.js';
import { InterarrivalJitter, type ReceptionCounters } from '../../wire/rtcp.js';
import { SEQ_INVALID, SEQ_RESTARTED, SequenceTracker } from '../../wire/sequence.js';

export type PushResult = 'accepted' | 'duplicate' | 'late' | 'reset';

export interface JitterBufferOptions {
  createDecoder: (rate: DecodeRate) => FrameDecoder;
  /** Rate of the frames `pull` writes (default 48 kHz; 16 kHz for a speech-only call). */
  sampleRate?: DecodeRate;
  /** Lowest playout depth (default 20 ms = one frame). */
  minDepthMs?: number;
  /** Highest playout depth (default 200 ms). */
  maxDepthMs?: number;
  /** Consecutive concealed frames before the output turns to silence (default 5 = 100 ms). */
  maxConcealedFrames?: number;
  /** Clock (ms) used when `push` is given no arrival time (default performance.now). */
  now?: () => number;
}

export interface JitterBufferStats {
  /** Packets handed to push, whatever became of them. */
  received: number;
  /** Frames whose packet was missing when due (FEC-recovered ones included). */
  lost: number;
  /** Packets that arrived after their frame was played or skipped, or far out of sequence. */
  late: number;
  duplicate: number;
  /** Packets dropped unplayed to shrink the playout delay. */
  dropped: number;
  /** Packets played as silence without a decode (DTX or empty Opus frames, RFC 6464 level −127 dBov). */
  silentSkipped: number;
  /** Packets decoded into a frame (played, not concealed). */
  decoded: number;
  /** Frames produced by the decoder's concealment (PLC). */
  concealed: number;
  /** Frames recovered from in-band FEC. */
  fecRecovered: number;
  /** Frames of silence produced (before the first packet, while buffering, after bounded concealment). */
  silence: number;
  /** Packets the decoder rejected (then concealed). */
  decodeErrors: number;
  ssrcChanges: number;
  /** Playout depth at the last pull, in ms. */
  depthMs: number;
  /** Mean playout depth over the frames played so far: the delay this buffer adds, in ms. */
  meanDepthMs: number;
  /** Current target depth, in ms. */
  targetMs: number;
  /** RFC 3550 interarrival jitter, in ms. */
  jitterMs: number;
  /** The same jitter in RTP timestamp units (the report block field). */
  jitterRtp: number;
  /** SSRC of the current source (0 before the first packet). */
  ssrc: number;
  /** For RTCP receiver reports on the current SSRC (`reception` has all a report block needs): */
  extendedHighestSeq: number;
  expected: number;
  cumulativeLost: number;
}

/** Interarrival jitter multiplier for the target depth; ~2.7 sigma of Gaussian delay. */
const JITTER_K = 3;
/** Fraction of a frame of jitter margin ignored, so sub-millisecond jitter does not cost a whole frame. */
const MARGIN_SLACK = 0.2;
const TARGET_HOLD_TICKS = 50;
const SHRINK_INTERVAL_TICKS = 25;
/** Ticks a pending grow or shrink waits for a quiet moment before going ahead anyway. */
const ADJUST_PATIENCE_TICKS = 25;
/** A decoded frame below this level (dBov) is a pause between words. */
const QUIET_DBOV = -45;
/** Slots beyond max depth, for bursts that arrive before the over-max catch-up. */
const RING_MARGIN = 16;
/**
 * After an SSRC change, packets of the old SSRC are stragglers (dropped as late)
 * for this long; later, the old SSRC coming back is a genuine switch back.
 */
const STRAGGLER_WINDOW_MS = 1000;
const EMPTY = -Number.MAX_SAFE_INTEGER;
const NO_LEVEL = -1;

function frames(ms: number): number {
  return Math.max(1, Math.ceil(ms / FRAME_MS));
}

export class JitterBuffer {
  readonly stats: JitterBufferStats = {
    received: 0,
    lost: 0,
    late: 0,
    duplicate: 0,
    dropped: 0,
    silentSkipped: 0,
    decoded: 0,
    concealed: 0,
    fecRecovered: 0,
    silence: 0,
    decodeErrors: 0,
    ssrcChanges: 0,
    depthMs: 0,
    meanDepthMs: 0,
    targetMs: 0,
    jitterMs: 0,
    jitterRtp: 0,
    ssrc: 0,
    extendedHighestSeq: 0,
    expected: 0,
    cumulativeLost: 0,
  };
  /** The payload played by the last pull; null when that frame was concealed or silent. */
  lastPayload: Uint8Array | null = null;
  /** The RFC 6464 level of the packet played by the last pull, when it had one. */
  lastAudioLevel: Readonly<AudioLevel> | null = null;
  /** Counters for an RTCP report block about the current source (live view). */
  readonly reception: ReceptionCounters;

  /** Rate of the frames `pull` writes; a frame is `frameSamples` samples. */
  readonly sampleRate: DecodeRate;
  private readonly frameSamples: number;
  private readonly decoder: FrameDecoder;
  private readonly now: () => number;
  private readonly minFrames: number;
  private readonly maxFrames: number;
  private readonly maxConcealed: number;

  private readonly mask: number;
  private readonly slotSeq: Float64Array;
  private readonly slotLevel: Int16Array;
  private readonly slotPayload: (Uint8Array | null)[];
  /** Extended sequence number last taken out of each slot: tells a duplicate from a late packet. */
  private readonly slotTaken: Float64Array;
  private readonly level: AudioLevel = { voice: false, level: 127 };

  private readonly seq = new SequenceTracker(1);
  private readonly jitter = new InterarrivalJitter(48_000);

  private hasSsrc = false;
  private ssrc = 0;
  private prevSsrc = -1;
  private prevSsrcUntilMs = 0;
  /** A stream is running: nextSeq/highest are meaningful. */
  private started = false;
  private playing = false;
  /** Something was decoded in this stream (so concealment makes sense, and earlier packets are late). */
  private played = false;
  private nextSeq = 0;
  private highest = 0;
  private count = 0;
  private concealRun = 0;
  /** A packet was decoded since the last one played as silent (the decoder holds state). */
  private decodedSinceSilent = false;
  /** Frames filled during the current underrun. */
  private covered = 0;

  private target: number;
  private targetHold = 0;
  /** Sum of the playout depth (frames) over the pulls that played, for meanDepthMs. */
  private depthSum = 0;
  private depthPulls = 0;
  private depthLevel = 0;
  private shrinkCooldown = 0;
  /** Ticks a pending depth change has waited for a quiet moment. */
  private adjustWait = 0;
  /** Whether the frame played last was quiet (a pause), as far as it was judged. */
  private lastQuiet = true;
  /** A depth change is pending: judge the level of decoded frames that carry no RFC 6464 level. */
  private watchLevel = false;

  constructor(opts: JitterBufferOptions) {
    const minMs = opts.minDepthMs ?? 20;
    const maxMs = opts.maxDepthMs ?? 200;
    const maxConcealed = opts.maxConcealedFrames ?? 5;
    if (!(minMs >= FRAME_MS && maxMs >= minMs && maxMs <= 10_000)) {
      throw new MediabotError('MEDIABOT_CONFIG_INVALID', `jitter buffer depth must satisfy 20 <= min <= max <= 10000 ms (got ${minMs}..${maxMs})`);
    }
    if (!Number.isInteger(maxConcealed) || maxConcealed < 0) {
      throw new MediabotError('MEDIABOT_CONFIG_INVALID', `maxConcealedFrames must be a non-negative integer (got ${maxConcealed})`);
    }
    this.sampleRate = opts.sampleRate ?? 48_000;
    this.frameSamples = this.sampleRate / 50;
    this.decoder = opts.createDecoder(this.sampleRate);
    this.now = opts.now ?? (() => performance.now());
    this.minFrames = frames(minMs);
    this.maxFrames = frames(maxMs);
    this.maxConcealed = maxConcealed;
    this.target = this.minFrames;
    this.stats.targetMs = this.target * FRAME_MS;

    let cap = 1;
    while (cap < this.maxFrames + RING_MARGIN) cap <<= 1;
    this.mask = cap - 1;
    this.slotSeq = new Float64Array(cap).fill(EMPTY);
    this.slotLevel = new Int16Array(cap);
    this.slotTaken = new Float64Array(cap).fill(EMPTY);
    this.slotPayload = new Array<Uint8Array | null>(cap).fill(null);

    const seq = this.seq;
    const jitter = this.jitter;
    const self = this;
    this.reception = {
      get ssrc() {
        return self.ssrc;
      },
      get extendedHighestSeq() {
        return seq.extendedMax;
      },
      get expected() {
        return seq.expected;
      },
      get received() {
        return seq.received;
      },
      get jitterRtp() {
        return jitter.value;
      },
    };
  }

  /** Packets waiting to be played. */
  get buffered(): number {
    return this.count;
  }

  /** Ring capacity in frames. */
  get capacity(): number {
    return this.mask + 1;
  }

  push(packet: RtpPacket, arrivalMs: number = this.now()): PushResult {
    const st = this.stats;
    st.received++;
    let result: PushResult = 'accepted';
    if (!this.hasSsrc || packet.ssrc !== this.ssrc) {
      if (this.hasSsrc && packet.ssrc === this.prevSsrc && arrivalMs < this.prevSsrcUntilMs) {
        st.late++; // a straggler of the source this one just replaced
        return 'late';
      }
      if (this.hasSsrc) {
        this.prevSsrc = this.ssrc;
        this.prevSsrcUntilMs = arrivalMs + STRAGGLER_WINDOW_MS;
        this.resetSource();
        this.decoder.reset();
        st.ssrcChanges++;
        result = 'reset';
      }
      this.hasSsrc = true;
      this.ssrc = packet.ssrc;
      st.ssrc = packet.ssrc;
    }

    const r = this.seq.update(packet.sequence);
    if (r === SEQ_INVALID) {
      st.late++; // a jump beyond MAX_DROPOUT not (yet) confirmed by the next packet
      return 'late';
    }
    if (r === SEQ_RESTARTED && this.started) this.clearStream(); // the source restarted its numbering
    const ext = this.seq.lastExtended;
    st.extendedHighestSeq = this.seq.extendedMax;
    st.expected = this.seq.expected;
    st.cumulativeLost = this.seq.cumulativeLost;

    if (this.started && (this.slotSeq[ext & this.mask] === ext || this.slotTaken[ext & this.mask] === ext)) {
      st.duplicate++;
      return 'duplicate';
    }
    // Late packets count too: they are the strongest sign that the depth is too small.
    this.jitter.update(arrivalMs, packet.timestamp);
    st.jitterMs = this.jitter.ms;
    st.jitterRtp = Math.floor(this.jitter.value);
    if (this.started) {
      if (ext < this.nextSeq) {
        // Not yet played anything: an earlier packet that arrived second can still go first.
        if (this.played || this.highest - ext >= this.capacity) {
          st.late++;
          return 'late';
        }
        this.nextSeq = ext;
      }
    }

    if (!this.started) {
      this.started = true;
      this.nextSeq = ext;
      this.highest = ext;
    } else if (ext - this.nextSeq >= this.capacity) {
      this.skipTo(ext - this.capacity + 1); // far ahead: forget the oldest to make room
    }
    const i = ext & this.mask;
    this.slotSeq[i] = ext;
    this.slotPayload[i] = packet.payload;
    const lv = packet.audioLevel;
    this.slotLevel[i] = lv ? (lv.voice ? 0x80 : 0) | lv.level : NO_LEVEL;
    this.count++;
    if (ext > this.highest) this.highest = ext;
    return result;
  }

  /** Writes exactly one 20 ms frame (960 samples at 48 kHz, 320 at 16 kHz) into `out`. */
  pull(out: Int16Array): FrameOrigin {
    if (out.length < this.frameSamples) throw new MediabotError('MEDIABOT_BUFFER_TOO_SMALL', `pull needs ${this.frameSamples} samples, got ${out.length}`);
    this.lastPayload = null;
    this.lastAudioLevel = null;
    this.adaptTarget();
    const st = this.stats;
    if (!this.started) {
      st.depthMs = 0;
      return this.silence(out);
    }
    let depth = this.count > 0 ? this.highest - this.nextSeq + 1 : 0;
    this.depthLevel += (depth - this.depthLevel) / 8;

    if (!this.playing) {
      if (depth === 0 || depth < this.target) {
        st.depthMs = depth * FRAME_MS;
        return this.fillGap(out);
      }
      this.playing = true;
      depth = this.skipCoveredHoles(depth);
      this.depthLevel = depth;
    } else if (depth === 0) {
      this.playing = false; // underrun: rebuffer to the target before resuming
      st.depthMs = 0;
      return this.fillGap(out);
    }

    if (this.shrinkCooldown > 0) this.shrinkCooldown--;
    const grow = depth < this.target && this.depthLevel < this.target - 0.5;
    const shrink = depth > this.target && this.depthLevel > this.target + 1 && this.shrinkCooldown === 0;
    // Only while a change is pending are decoded frames judged quiet or not.
    this.watchLevel = grow || shrink;
    if (!this.watchLevel) this.adjustWait = 0;

    if (depth > this.maxFrames) {
      this.skipTo(this.highest - this.maxFrames + 1);
      depth = this.maxFrames;
      this.depthLevel = depth;
    } else if (shrink && this.shrinkNow()) {
      this.dropHead();
      depth--;
      this.depthLevel -= 1;
    } else if (grow && this.quietMoment(this.lastQuiet)) {
      this.noteDepth(depth);
      this.depthLevel += 1;
      return this.fill(out); // grow: hold playout back one frame
    }
    this.noteDepth(depth);
    return this.playNext(out);
  }

  private noteDepth(depth: number): void {
    this.depthSum += depth;
    this.depthPulls++;
    this.stats.depthMs = depth * FRAME_MS;
    this.stats.meanDepthMs = (this.depthSum / this.depthPulls) * FRAME_MS;
  }

  /** A frame emitted while starved; once something was played it stands in for the frame due now. */
  private fillGap(out: Int16Array): FrameOrigin {
    if (this.played) this.covered++;
    return this.fill(out);
  }

  /**
   * On resuming after an underrun: missing frames whose time was already filled
   * by concealment are skipped (counted lost), so a loss does not also add a
   * frame of delay. A present head is played: the sender paused or the network
   * delayed it, and the delay it gained is shed later by the shrink policy.
   */
  private skipCoveredHoles(depth: number): number {
    while (this.covered > 0 && depth > 1 && this.slotSeq[this.nextSeq & this.mask] !== this.nextSeq) {
      this.nextSeq++;
      this.stats.lost++;
      this.covered--;
      depth--;
    }
    this.covered = 0;
    return depth;
  }

  /** Clears everything about the current stream; counters stay. */
  private resetSource(): void {
    this.clearStream();
    this.seq.reset();
    this.jitter.reset();
    this.target = this.minFrames;
    this.targetHold = 0;
    this.concealRun = 0;
  }

  private clearStream(): void {
    for (let i = 0; i <= this.mask; i++) {
      this.slotSeq[i] = EMPTY;
      this.slotTaken[i] = EMPTY;
      this.slotPayload[i] = null;
    }
    this.count = 0;
    this.covered = 0;
    this.started = false;
    this.playing = false;
    this.played = false;
    this.adjustWait = 0;
    this.lastQuiet = true;
  }

  private adaptTarget(): void {
    const margin = Math.ceil((JITTER_K * this.jitter.ms) / FRAME_MS - MARGIN_SLACK);
    const want = Math.min(this.maxFrames, Math.max(this.minFrames, 1 + Math.max(0, margin)));
    if (want > this.target) {
      this.target = want;
      this.targetHold = 0;
    } else if (want < this.target && ++this.targetHold >= TARGET_HOLD_TICKS) {
      this.target--;
      this.targetHold = 0;
    } else if (want === this.target) {
      this.targetHold = 0;
    }
    this.stats.targetMs = this.target * FRAME_MS;
  }

  /** A shrink is pending: drops the head now if this is a quiet moment (its RFC 6464 flag, else the last frame's level). */
  private shrinkNow(): boolean {
    const head = this.nextSeq & this.mask;
    if (this.slotSeq[head] !== this.nextSeq) return false; // a hole is skipped by playout anyway
    const lv = this.slotLevel[head]!;
    if (!this.quietMoment(lv === NO_LEVEL ? this.lastQuiet : (lv & 0x80) === 0)) return false;
    this.shrinkCooldown = SHRINK_INTERVAL_TICKS;
    return true;
  }

  /** Whether a pending depth change goes ahead now: in a pause, or after waiting long enough for one. */
  private quietMoment(quiet: boolean): boolean {
    if (!quiet && ++this.adjustWait < ADJUST_PATIENCE_TICKS) return false;
    this.adjustWait = 0;
    return true;
  }

  private take(i: number): Uint8Array | null {
    const p = this.slotPayload[i]!;
    this.slotPayload[i] = null;
    this.slotTaken[i] = this.slotSeq[i]!;
    this.slotSeq[i] = EMPTY;
    this.count--;
    return p;
  }

  private dropHead(): void {
    this.take(this.nextSeq & this.mask);
    this.stats.dropped++;
    this.nextSeq++;
  }

  /** Forgets every frame before `seq`: present ones count as dropped, missing ones as lost. */
  private skipTo(seq: number): void {
    const stop = Math.min(seq, this.highest + 1);
    for (let s = this.nextSeq; s < stop; s++) {
      const i = s & this.mask;
      if (this.slotSeq[i] === s) {
        this.take(i);
        this.stats.dropped++;
      } else {
        this.stats.lost++;
      }
    }
    if (seq > stop) this.stats.lost += seq - stop;
    this.nextSeq = seq;
  }

  /** Plays the frame at nextSeq: its packet, else FEC from the next one, else concealment. */
  private playNext(out: Int16Array): FrameOrigin {
    const st = this.stats;
    const s = this.nextSeq;
    const i = s & this.mask;
    this.nextSeq++;
    if (this.slotSeq[i] === s) {
      const lv = this.slotLevel[i]!;
      const payload = this.take(i)!;
      if (isSilentOpusPayload(payload) || (lv !== NO_LEVEL && isSilentLevel((lv & 0x80) !== 0, lv & 0x7f))) return this.playSilent(payload, lv, out);
      if (this.decode(payload, out)) {
        st.decoded++;
        this.decodedSinceSilent = true;
        if (this.notePlayed(payload, lv)) {
          this.lastQuiet = !this.level.voice;
        } else {
          // Not judged (no change pending) counts as not quiet: a change waits a tick for a fresh judgement.
          this.lastQuiet = this.watchLevel && frameLevelDbov(out) < QUIET_DBOV;
        }
        return 'packet';
      }
      return this.fill(out);
    }
    st.lost++;
    const n = (s + 1) & this.mask;
    if (this.slotSeq[n] === s + 1 && this.played) {
      let written = 0;
      try {
        written = this.decoder.decodeFec(this.slotPayload[n]!, out);
      } catch {
        written = 0;
      }
      if (written > 0) {
        if (written < this.frameSamples) out.fill(0, written, this.frameSamples);
        st.fecRecovered++;
        this.concealRun = 0;
        return 'fec';
      }
    }
    return this.fill(out);
  }

  /** A packet played (decoded or known silent): the run of concealment ends; its RFC 6464 level, if any, is kept. True when it had one. */
  private notePlayed(payload: Uint8Array, lv: number): boolean {
    this.played = true;
    this.concealRun = 0;
    this.lastPayload = payload;
    if (lv === NO_LEVEL) return false;
    this.level.voice = (lv & 0x80) !== 0;
    this.level.level = lv & 0x7f;
    this.lastAudioLevel = this.level;
    return true;
  }

  /**
   * A packet known silent without decoding it: zeros, quiet for talk detection. The decoder is
   * reset on the first one after speech, so the next decode does not continue from a stale tail.
   */
  private playSilent(payload: Uint8Array, lv: number, out: Int16Array): FrameOrigin {
    if (this.decodedSinceSilent) {
      this.decoder.reset();
      this.decodedSinceSilent = false;
    }
    out.fill(0, 0, this.frameSamples);
    this.stats.silentSkipped++;
    this.notePlayed(payload, lv);
    this.lastQuiet = true;
    return 'packet';
  }

  private decode(payload: Uint8Array, out: Int16Array): boolean {
    let written: number;
    try {
      written = this.decoder.decode(payload, out);
    } catch {
      this.stats.decodeErrors++;
      return false;
    }
    if (written <= 0) {
      this.stats.decodeErrors++;
      return false;
    }
    if (written < this.frameSamples) out.fill(0, written, this.frameSamples);
    return true;
  }

  /** A frame without a packet: concealment while the run is short, then silence. */
  private fill(out: Int16Array): FrameOrigin {
    if (!this.played || this.concealRun >= this.maxConcealed) return this.silence(out);
    let written: number;
    try {
      written = this.decoder.conceal(out);
    } catch {
      return this.silence(out);
    }
    if (written < this.frameSamples) out.fill(0, Math.max(0, written), this.frameSamples);
    this.concealRun++;
    this.stats.concealed++;
    return 'plc';
  }

  private silence(out: Int16Array): FrameOrigin {
    out.fill(0, 0, this.frameSamples);
    this.stats.silence++;
    this.lastQuiet = true;
    return 'silence';
  }
}
