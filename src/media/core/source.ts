import type { FrameOrigin, SourceFrame } from '../hooks/api.js';
import { MAX_OPUS_PACKET } from '../codec/opus.js';
import type { FrameEncoder } from '../codec/types.js';
import { SAMPLES_16K, SAMPLES_48K } from './frame.js';
import { frameLevelDbov } from '../codec/level.js';
import { SoftLimiter } from './limiter.js';
import type { MixParticipant } from './mixer.js';
import { Decimator48to16 } from '../codec/resampler.js';
import { TalkDetector, type TalkDetectorOptions } from './talk-detector.js';

/**
 * Where a source's frames come from: the RTP jitter buffer, or a PCM queue
 * (ACS and bridge ingress). `pull` fills exactly one 20 ms frame at
 * `sampleRate` (48 kHz when absent).
 */
export interface FrameInput {
  pull(out: Int16Array): FrameOrigin;
  /** 16 kHz for an input decoding straight into the speech tap (a speech-only call). */
  readonly sampleRate?: number;
  /** The Opus packet played by the last pull, or null. */
  readonly lastPayload: Uint8Array | null;
  /** The sender's RFC 6464 level of the last packet, when it sends one. */
  readonly lastAudioLevel: { voice: boolean; level: number } | null;
}

/**
 * One participant of a call inside the media core: its input, its decoded
 * frame and speech tap, its talk state, and its outbound encoder. Implements
 * the hook view (SourceFrame) and the mixer's view (MixParticipant) directly,
 * so a tick hands out the same objects every time.
 */
export class MediaSource implements SourceFrame, MixParticipant {
  readonly pcm48 = new Int16Array(SAMPLES_48K);
  readonly pcm16 = new Int16Array(SAMPLES_16K);
  readonly limiter = new SoftLimiter();
  readonly packet = new Uint8Array(MAX_OPUS_PACKET);
  packetLength = 0;
  ownPacket = false;
  origin: FrameOrigin = 'silence';
  opus: Uint8Array | null = null;
  talking = false;
  levelDbov = -127;
  contributes = false;
  /** Loss (percent) the participant last reported for the stream we send it (RTCP), or -1. */
  reportedLossPct = -1;
  /** Arrival time (ms) of the newest packet or frame. */
  lastInputMs: number;
  private readonly decimator = new Decimator48to16();
  /** The input writes the 16 kHz tap itself: no 48 kHz frame, no decimation (`pcm48` stays silent). */
  readonly speechOnly: boolean;
  private readonly talk: TalkDetector;
  private enc: FrameEncoder | null = null;

  constructor(
    readonly sourceId: string,
    readonly input: FrameInput,
    private readonly makeEncoder: () => FrameEncoder,
    talk: TalkDetectorOptions,
    nowMs: number,
    /** Whether this source also receives the mix (an RTP participant) or only sends (an unmixed tap). */
    readonly receivesMix: boolean,
  ) {
    this.talk = new TalkDetector(talk);
    this.lastInputMs = nowMs;
    this.speechOnly = input.sampleRate === 16_000;
  }

  /** Lazily created: only participants who talk ever need their own encoder. */
  get encoder(): FrameEncoder {
    this.enc ??= this.makeEncoder();
    return this.enc;
  }

  /** Step 1 and 2 of the tick: pull (decode or conceal), tap at 16 kHz, detect talk. */
  pullFrame(): void {
    const speechOnly = this.speechOnly;
    this.origin = this.input.pull(speechOnly ? this.pcm16 : this.pcm48);
    this.opus = this.origin === 'packet' ? this.input.lastPayload : null;
    this.contributes = this.origin !== 'silence';
    if (!speechOnly) this.decimator.process(this.pcm48, this.pcm16);
    const sent = this.origin === 'packet' ? this.input.lastAudioLevel : null;
    if (sent) {
      this.levelDbov = -sent.level;
      this.talking = this.talk.update(this.levelDbov, sent.voice);
    } else {
      this.levelDbov = this.contributes ? frameLevelDbov(speechOnly ? this.pcm16 : this.pcm48) : -127;
      this.talking = this.talk.update(this.levelDbov);
    }
  }
}
