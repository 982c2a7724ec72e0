import { createReadStream } from 'node:fs';
import prism from 'prism-media';
import { MediabotError } from '../../errors.js';
import { createOpusDecoder } from './opus.js';
import { SAMPLES_48K } from '../core/frame.js';

/** Decodes a mono 48 kHz Ogg Opus file (demuxed by prism-media) to int16 samples, pre-skip removed. */
export async function decodeOggOpusFile(path: string): Promise<Int16Array> {
  const demuxer = new prism.opus.OggDemuxer();
  let preSkip = 312;
  demuxer.once('head', (head: Buffer) => {
    if (head.length >= 12) preSkip = head.readUInt16LE(10);
  });
  const packets: Buffer[] = [];
  try {
    for await (const packet of createReadStream(path).pipe(demuxer)) packets.push(packet as Buffer);
  } catch (err) {
    throw new MediabotError('MEDIABOT_AUDIO_INVALID', `cannot read ${path}: ${(err as Error).message}`);
  }
  const decoder = createOpusDecoder();
  const out = new Int16Array(packets.length * SAMPLES_48K);
  const frame = new Int16Array(SAMPLES_48K);
  let n = 0;
  for (const p of packets) {
    const got = decoder.decode(p, frame);
    out.set(frame.subarray(0, got), n);
    n += got;
  }
  return out.slice(Math.min(preSkip, n), n);
}
