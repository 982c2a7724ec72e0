import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/**
 * 20 ms Opus packets of real speech (espeak-ng, 48 kHz mono, in-band FEC on),
 * made by test/fixtures/rtp/make-speech-packets.ts.
 */
export function loadSpeechPackets(): Uint8Array[] {
  const file = readFileSync(join(here, '../../fixtures/rtp/speech-opus-20ms.bin'));
  const packets: Uint8Array[] = [];
  for (let o = 0; o + 2 <= file.length; ) {
    const n = file.readUInt16BE(o);
    packets.push(new Uint8Array(file.subarray(o + 2, o + 2 + n)));
    o += 2 + n;
  }
  return packets;
}
