/**
 * The codec seam of the media core. Implementations write into caller-owned
 * buffers so the tick allocates nothing of its own.
 */
/** Rates a decoder can produce: 48 kHz for mixing, 16 kHz straight into the speech tap. */
export type DecodeRate = 48_000 | 16_000;

export interface FrameDecoder {
  /** Decodes one packet into `out` (one 20 ms frame at the decoder's rate: 960 or 320 samples). Returns samples written. */
  decode(packet: Uint8Array, out: Int16Array): number;
  /**
   * Recovers the frame *before* `nextPacket` from the in-band FEC data carried in
   * `nextPacket`. Returns samples written, or 0 if the packet carries no FEC
   * (then the caller falls back to `conceal`).
   */
  decodeFec(nextPacket: Uint8Array, out: Int16Array): number;
  /** Packet-loss concealment for exactly one frame. Returns samples written. */
  conceal(out: Int16Array): number;
  /** Forgets all decoder state (used on SSRC change). */
  reset(): void;
}

export interface FrameEncoder {
  /** Encodes one frame (960 samples) into `out`. Returns bytes written. */
  encode(pcm: Int16Array, out: Uint8Array): number;
  /** Changes the packet loss (percent) in-band FEC protects against; a repeat of the current value costs nothing. */
  setExpectedLossPct?(pct: number): void;
}

export type OpusApplication = 'voip' | 'audio' | 'lowdelay';

export interface EncoderSettings {
  application: OpusApplication;
  bitrate: number;
  complexity: number;
  inbandFec: boolean;
  /**
   * Expected packet loss in percent, 0-100; steers how much FEC the encoder spends (at 0 it spends
   * none). With `adaptiveLoss`, the value until a receiver reports its loss.
   */
  expectedLossPct: number;
  /** Follow the loss the receivers report in RTCP (their fraction lost of our stream). */
  adaptiveLoss: boolean;
}
