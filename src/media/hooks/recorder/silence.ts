import { MediabotError } from '../../../errors.js';
import { createOpusEncoder, MAX_OPUS_PACKET } from '../../codec/opus.js';
import { opusPacketSamples } from '../../wire/opus-packet.js';

let cached: Uint8Array | null = null;

/**
 * A 20 ms Opus packet of digital silence (48 kHz mono), encoded once by libopus
 * and reused: the recorder writes it for ticks without a packet (loss, DTX,
 * concealment) so a file's granule advances exactly one frame per tick. It is a
 * few bytes and decodes to zeros. Callers must not modify it.
 */
export function silenceOpusPacket(): Uint8Array {
  if (cached) return cached;
  const out = new Uint8Array(MAX_OPUS_PACKET);
  const packet = out.slice(0, createOpusEncoder({ application: 'audio', inbandFec: false, expectedLossPct: 0, adaptiveLoss: false }).encode(new Int16Array(960), out));
  if (packet.length === 0 || opusPacketSamples(packet) !== 960) {
    throw new MediabotError('MEDIABOT_CODEC_FAILED', 'libopus did not produce a 20 ms silence packet');
  }
  cached = packet;
  return packet;
}
