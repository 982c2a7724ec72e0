import { createRequire } from 'node:module';
import { nativeKernelsEnabled } from '../../config/process-settings.js';

/** The native kernels (native/mediabot_native.c). Every user has a TypeScript fallback. */
export interface NativeKernels {
  createDecoder(rate: number, channels: number): unknown;
  decode(dec: unknown, packet: Uint8Array | null, out: Int16Array, fec: number): number;
  decoderReset(dec: unknown): void;
  /** A 16 kHz decoder that decodes the SILK layer alone when that is all a 16 kHz frame holds (native/speech_decoder.c). */
  createSpeechDecoder(): unknown;
  /** One 20 ms frame (320 samples) into `out`; null conceals. Samples written, or a negative opus error. */
  speechDecode(dec: unknown, packet: Uint8Array | null, out: Int16Array, fec: number): number;
  speechDecoderReset(dec: unknown): void;
  createEncoder(rate: number, channels: number, application: number): unknown;
  encode(enc: unknown, pcm: Int16Array, out: Uint8Array): number;
  encoderCtl(enc: unknown, request: number, value: number): number;
  firDecimate3(buf: Float32Array, taps: Float32Array, input: Int16Array, out: Int16Array): void;
  /** sum[i] += pcm[i] for i < sum.length. */
  mixAdd(sum: Float32Array, pcm: Int16Array): void;
  /** Frame level in hundredths of dBov (an integer, so the call allocates nothing). */
  levelCentiDbov(pcm: Int16Array): number;
  /** out[index] = a monotonic clock in µs (written, not returned: a returned double would allocate). */
  stampUs(out: Float64Array, index: number): void;
}

function load(): NativeKernels | null {
  // MEDIABOT_NATIVE=off forces the TypeScript/@discordjs/opus paths (tests compare both).
  if (!nativeKernelsEnabled()) return null;
  const require = createRequire(import.meta.url);
  // src/media/core under tsx, dist/src/media/core when built.
  for (const rel of ['../../../native/build/Release/mediabot_native.node', '../../../../native/build/Release/mediabot_native.node']) {
    try {
      return require(rel) as NativeKernels;
    } catch {
      // try the next location
    }
  }
  return null;
}

export const native: NativeKernels | null = load();
