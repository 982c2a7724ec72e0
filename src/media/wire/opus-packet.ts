import { MediabotError } from '../../errors.js';

/** Samples at 48 kHz of one Opus frame for each TOC configuration number (RFC 6716 section 3.1). */
const FRAME_SAMPLES_BY_CONFIG: readonly number[] = [
  // 0-11 SILK-only: 10, 20, 40, 60 ms for NB, MB, WB
  480, 960, 1920, 2880, 480, 960, 1920, 2880, 480, 960, 1920, 2880,
  // 12-15 hybrid: 10, 20 ms for SWB, FB
  480, 960, 480, 960,
  // 16-31 CELT-only: 2.5, 5, 10, 20 ms for NB, WB, SWB, FB
  120, 240, 480, 960, 120, 240, 480, 960, 120, 240, 480, 960, 120, 240, 480, 960,
];

/** Opus packets carry at most 120 ms (RFC 6716 section 3.2.5). */
const MAX_PACKET_SAMPLES = 5760;

/**
 * Duration of an Opus packet in 48 kHz samples, read from its TOC byte (and the
 * frame-count byte of code 3 packets). Throws MEDIABOT_RECORDING_INVALID for a
 * packet that cannot be a valid Opus packet.
 */
export function opusPacketSamples(packet: Uint8Array): number {
  const toc = packet[0];
  if (toc === undefined) {
    throw new MediabotError('MEDIABOT_RECORDING_INVALID', 'An Opus packet must not be empty');
  }
  const perFrame = FRAME_SAMPLES_BY_CONFIG[toc >> 3]!;
  const code = toc & 0x03;
  if (code === 0) return perFrame;
  if (code === 1 || code === 2) {
    if (code === 1 && (packet.length - 1) % 2 !== 0) {
      throw new MediabotError('MEDIABOT_RECORDING_INVALID', 'A code 1 Opus packet must have an even payload length');
    }
    return perFrame * 2;
  }
  const countByte = packet[1];
  if (countByte === undefined) {
    throw new MediabotError('MEDIABOT_RECORDING_INVALID', 'A code 3 Opus packet lacks its frame-count byte');
  }
  const frames = countByte & 0x3f;
  const samples = frames * perFrame;
  if (frames === 0 || samples > MAX_PACKET_SAMPLES) {
    throw new MediabotError('MEDIABOT_RECORDING_INVALID', `A code 3 Opus packet has an invalid frame count (${frames})`);
  }
  return samples;
}
