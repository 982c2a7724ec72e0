/**
 * The media bridge's binary media frame (docs/bridge-protocol.md, "Media frames").
 * A 20-byte header, every multi-byte field little-endian, then the payload:
 *
 *   off size field
 *     0  u8  version      1
 *     1  u8  kind         0 mixed, 1 unmixed, 2 outbound
 *     2  u8  codec        0 PCM 16 kHz mono s16le (640 bytes = 20 ms), 1 Opus (one 20 ms packet)
 *     3  u8  flags        bit0 silence, bit1 concealed; other bits reserved (sent 0, ignored)
 *     4  u16 callIndex    from sessionStarted
 *     6  u32 sourceId     media source id (MSI) of the speaker; 0xFFFFFFFF for mixed and outbound
 *    10  u32 sequence     +1 per frame of this (callIndex, kind, sourceId) stream, wraps
 *    14  u32 timestampMs  media time of the first sample, ms since the media session started, wraps
 *    18  u16 payloadLength
 *    20  ... payload      exactly payloadLength bytes
 */
import { endianness } from 'node:os';
import { MediabotError } from '../../errors.js';

export const FRAME_VERSION = 1;
export const HEADER_BYTES = 20;
export const PCM16K_FRAME_BYTES = 640;
export const MAX_OPUS_BYTES = 1275;
export const MIXED_SOURCE_ID = 0xffff_ffff;

export const FrameKind = { Mixed: 0, Unmixed: 1, Outbound: 2 } as const;
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

export const FrameCodec = { Pcm16k: 0, Opus: 1 } as const;
export type FrameCodec = (typeof FrameCodec)[keyof typeof FrameCodec];

export const FLAG_SILENCE = 1;
export const FLAG_CONCEALED = 2;

export interface MediaFrameHeader {
  version: number;
  kind: FrameKind;
  codec: FrameCodec;
  flags: number;
  callIndex: number;
  sourceId: number;
  sequence: number;
  timestampMs: number;
  payloadLength: number;
}

const bad = (message: string, details?: Record<string, unknown>): MediabotError => new MediabotError('MEDIABOT_INGRESS_BAD_FRAME', message, details);

/**
 * Reads and checks a frame's header. The payload is `buf.subarray(20, 20 + payloadLength)`.
 * Throws MEDIABOT_INGRESS_BAD_VERSION for another version, MEDIABOT_INGRESS_BAD_FRAME for
 * anything else that is wrong (short, length mismatch, unknown kind or codec, PCM not 640 bytes).
 */
export function decodeFrameHeader(buf: Uint8Array): MediaFrameHeader {
  if (buf.length < HEADER_BYTES) throw bad(`media frame of ${buf.length} bytes is shorter than the ${HEADER_BYTES}-byte header`);
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const version = v.getUint8(0);
  if (version !== FRAME_VERSION) throw new MediabotError('MEDIABOT_INGRESS_BAD_VERSION', `media frame version ${version} is not supported (this build speaks ${FRAME_VERSION})`);
  const kind = v.getUint8(1) as FrameKind;
  const codec = v.getUint8(2) as FrameCodec;
  const h: MediaFrameHeader = {
    version,
    kind,
    codec,
    flags: v.getUint8(3),
    callIndex: v.getUint16(4, true),
    sourceId: v.getUint32(6, true),
    sequence: v.getUint32(10, true),
    timestampMs: v.getUint32(14, true),
    payloadLength: v.getUint16(18, true),
  };
  if (kind > FrameKind.Outbound) throw bad(`unknown media frame kind ${kind}`);
  if (codec > FrameCodec.Opus) throw bad(`unknown media frame codec ${codec}`);
  if (buf.length !== HEADER_BYTES + h.payloadLength) throw bad(`media frame is ${buf.length} bytes but its header says ${HEADER_BYTES} + ${h.payloadLength}`);
  if (codec === FrameCodec.Pcm16k && h.payloadLength !== PCM16K_FRAME_BYTES) throw bad(`a PCM 16 kHz frame must carry ${PCM16K_FRAME_BYTES} bytes (20 ms), got ${h.payloadLength}`);
  if (codec === FrameCodec.Opus && (h.payloadLength < 1 || h.payloadLength > MAX_OPUS_BYTES)) throw bad(`an Opus frame must carry 1..${MAX_OPUS_BYTES} bytes, got ${h.payloadLength}`);
  return h;
}

/** Writes one frame (header + payload) into a new buffer. */
export function encodeFrame(h: Omit<MediaFrameHeader, 'version' | 'payloadLength'>, payload: Uint8Array): Buffer {
  if (payload.length > 0xffff) throw bad(`payload of ${payload.length} bytes does not fit a frame`);
  const out = Buffer.allocUnsafe(HEADER_BYTES + payload.length);
  out.writeUInt8(FRAME_VERSION, 0);
  out.writeUInt8(h.kind, 1);
  out.writeUInt8(h.codec, 2);
  out.writeUInt8(h.flags & 0xff, 3);
  out.writeUInt16LE(h.callIndex & 0xffff, 4);
  out.writeUInt32LE(h.sourceId >>> 0, 6);
  out.writeUInt32LE(h.sequence >>> 0, 10);
  out.writeUInt32LE(h.timestampMs >>> 0, 14);
  out.writeUInt16LE(payload.length, 18);
  out.set(payload, HEADER_BYTES);
  return out;
}

const LITTLE_ENDIAN_HOST = endianness() === 'LE';

/** PCM payload bytes (s16le) → samples, copied into an aligned Int16Array. */
export function pcmFromPayload(buf: Uint8Array, offset: number, bytes: number, out = new Int16Array(bytes >> 1)): Int16Array {
  if (LITTLE_ENDIAN_HOST) {
    // One memcpy: the payload's byte offset may be odd, the Int16Array's buffer is aligned.
    new Uint8Array(out.buffer, out.byteOffset, bytes).set(buf.subarray(offset, offset + bytes));
    return out;
  }
  const v = new DataView(buf.buffer, buf.byteOffset + offset, bytes);
  for (let i = 0; i < out.length; i++) out[i] = v.getInt16(2 * i, true);
  return out;
}

/** Samples → s16le bytes. */
export function payloadFromPcm(pcm: Int16Array): Uint8Array {
  if (LITTLE_ENDIAN_HOST) return new Uint8Array(pcm.buffer.slice(pcm.byteOffset, pcm.byteOffset + pcm.byteLength));
  const out = new Uint8Array(pcm.length * 2);
  const v = new DataView(out.buffer);
  for (let i = 0; i < pcm.length; i++) v.setInt16(2 * i, pcm[i]!, true);
  return out;
}
