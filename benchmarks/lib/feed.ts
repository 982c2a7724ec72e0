import { createOpusDecoder } from '../../src/media/codec/opus.js';
import type { DecodeRate } from '../../src/media/codec/types.js';
import type { CallPipeline } from '../../src/media/core/pipeline.js';
import { JitterBuffer } from '../../src/media/session/rtp/jitter-buffer.js';
import { emptyRtpPacket, type RtpPacket } from '../../src/media/wire/rtp.js';

/**
 * A synthetic participant: its packets come from a pre-encoded track, pushed
 * into a real jitter buffer each tick, as the UDP transport would.
 */
export class TrackFeed {
  readonly jitter: JitterBuffer;
  private readonly packet: RtpPacket = emptyRtpPacket();
  private n = 0;

  /** Packets pushed so far. */
  get sent(): number {
    return this.n;
  }

  /** The payload of the k-th packet this feed sends. */
  packetAt(k: number): Uint8Array {
    return this.track[(k + this.offset) % this.track.length]!;
  }

  constructor(
    private readonly track: Uint8Array[],
    readonly ssrc: number,
    private readonly offset: number,
    sampleRate: DecodeRate = 48_000,
    /** At 16 kHz: libopus's own full decode rather than the SILK-layer speech decoder (to compare them). */
    fullDecode = false,
  ) {
    this.jitter = new JitterBuffer({ createDecoder: (rate) => createOpusDecoder(rate, { fullDecode }), sampleRate });
    this.packet.ssrc = ssrc;
    this.packet.payloadType = 111;
  }

  /** Pushes this tick's packet, arriving on time. */
  push(nowMs: number): void {
    const p = this.packet;
    p.sequence = this.n & 0xffff;
    p.timestamp = (this.n * 960) >>> 0;
    p.payload = this.packetAt(this.n);
    this.jitter.push(p, nowMs);
    this.n++;
  }
}

/** `talkerStride`: talker i starts i × talkerStride packets into its track (0: all in step). */
export function addFeeds(pipeline: CallPipeline, tracks: { speech: Uint8Array[][]; noise: Uint8Array[] }, participants: number, talkers: number, ssrcBase: number, talkerStride = 0, fullDecode = false): TrackFeed[] {
  const feeds: TrackFeed[] = [];
  for (let i = 0; i < participants; i++) {
    const talker = i < talkers;
    const track = talker ? tracks.speech[i % tracks.speech.length]! : tracks.noise;
    const feed = new TrackFeed(track, ssrcBase + i, talker ? i * talkerStride : i * 7, pipeline.speechOnly ? 16_000 : 48_000, fullDecode);
    pipeline.addSource(`p${i}`, feed.jitter);
    feeds.push(feed);
  }
  return feeds;
}
