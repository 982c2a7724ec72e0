/** WAV (RIFF, PCM 16-bit mono): the header, a whole-file encoder and a reader. Pure byte code. */
import { MediabotError } from '../../errors.js';

export const WAV_HEADER_BYTES = 44;

/** A canonical 44-byte PCM WAV header for mono int16 at `sampleRate` with `dataBytes` of samples. */
export function wavHeader(sampleRate: number, dataBytes: number): Uint8Array {
  const h = new Uint8Array(WAV_HEADER_BYTES);
  const v = new DataView(h.buffer);
  const ascii = (o: number, s: string): void => {
    for (let i = 0; i < s.length; i++) h[o + i] = s.charCodeAt(i);
  };
  ascii(0, 'RIFF');
  v.setUint32(4, 36 + dataBytes, true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  v.setUint32(16, 16, true); // fmt chunk size
  v.setUint16(20, 1, true); // PCM
  v.setUint16(22, 1, true); // mono
  v.setUint32(24, sampleRate, true);
  v.setUint32(28, sampleRate * 2, true); // byte rate
  v.setUint16(32, 2, true); // block align
  v.setUint16(34, 16, true); // bits per sample
  ascii(36, 'data');
  v.setUint32(40, dataBytes, true);
  return h;
}

/** Serializes 16-bit mono PCM as a WAV file. */
export function encodeWavPcm16(samples: Int16Array, sampleRate: number): Buffer {
  const out = Buffer.alloc(WAV_HEADER_BYTES + samples.length * 2);
  out.set(wavHeader(sampleRate, samples.length * 2), 0);
  for (let i = 0; i < samples.length; i++) out.writeInt16LE(samples[i]!, WAV_HEADER_BYTES + 2 * i);
  return out;
}

/** Reads a 16-bit PCM mono WAV produced by sox into samples (the data chunk is located by walking chunks). */
export function parseWavPcm16(buf: Buffer): { sampleRate: number; samples: Int16Array } {
  if (buf.length < 44 || buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE') {
    throw new MediabotError('MEDIABOT_AUDIO_INVALID', 'not a RIFF/WAVE file');
  }
  let off = 12;
  let sampleRate = 0;
  let channels = 0;
  let bits = 0;
  while (off + 8 <= buf.length) {
    const id = buf.toString('ascii', off, off + 4);
    const size = buf.readUInt32LE(off + 4);
    const body = off + 8;
    if (id === 'fmt ') {
      channels = buf.readUInt16LE(body + 2);
      sampleRate = buf.readUInt32LE(body + 4);
      bits = buf.readUInt16LE(body + 14);
    } else if (id === 'data') {
      if (channels !== 1 || bits !== 16) throw new MediabotError('MEDIABOT_AUDIO_INVALID', 'expected 16-bit mono PCM');
      const end = Math.min(buf.length, body + size);
      const n = Math.floor((end - body) / 2);
      const samples = new Int16Array(n);
      for (let i = 0; i < n; i++) samples[i] = buf.readInt16LE(body + 2 * i);
      return { sampleRate, samples };
    }
    off = body + size + (size % 2);
  }
  throw new MediabotError('MEDIABOT_AUDIO_INVALID', 'WAV has no data chunk');
}
