/**
 * RTP (RFC 3550) parse and serialize, with RFC 8285 header extensions and the
 * RFC 6464 client-to-mixer audio level.
 *
 * Parsing never copies the payload: `payload` and each extension's `data` are
 * views into the caller's buffer. Every failure is a MediabotError with an
 * RTP code, and every read is bounds-checked before it happens.
 */
import { MediabotError } from '../../errors.js';

export const RTP_VERSION = 2;
export const RTP_HEADER_SIZE = 12;
/** RFC 8285 one-byte header extension profile. */
export const EXT_PROFILE_ONE_BYTE = 0xbede;
/** RFC 8285 two-byte header extension profile (the low 4 "appbits" are free). */
export const EXT_PROFILE_TWO_BYTE = 0x1000;
/** Extension id the RFC 6464 audio level is read from unless told otherwise. */
export const DEFAULT_AUDIO_LEVEL_EXT_ID = 1;

export interface RtpExtension {
  id: number;
  /** A view into the packet (parse) or the bytes to write (serialize). */
  data: Uint8Array;
}

export interface AudioLevel {
  /** The V flag: the sender's voice activity decision. */
  voice: boolean;
  /** 0..127, in -dBov (0 is loudest, 127 is silence). */
  level: number;
}

export interface RtpPacket {
  payloadType: number;
  marker: boolean;
  sequence: number;
  timestamp: number;
  ssrc: number;
  csrcs: number[];
  /** 0 when the packet has no header extension, else the profile (0xBEDE, 0x100X, or another). */
  extensionProfile: number;
  /** Elements of a one-byte or two-byte extension block; empty for other profiles. */
  extensions: RtpExtension[];
  /** A view into the parsed buffer, no copy. */
  payload: Uint8Array;
  paddingLength: number;
  audioLevel: AudioLevel | null;
}

export interface RtpPacketInit {
  payloadType: number;
  marker?: boolean;
  sequence: number;
  timestamp: number;
  ssrc: number;
  csrcs?: readonly number[];
  extensions?: readonly RtpExtension[];
  /** Use the two-byte form even when every element fits the one-byte form. */
  twoByteExtensions?: boolean;
  payload: Uint8Array;
  /** Total padding bytes, including the final count byte; 0..255. */
  paddingLength?: number;
}

export interface RtpParseOptions {
  /** Extension id carrying the RFC 6464 audio level (default 1). */
  audioLevelExtId?: number;
}

/** The header `writeRtp` writes: fixed header, optional CSRCs and optional audio level. */
export interface RtpWriteHeader {
  payloadType: number;
  marker: boolean;
  sequence: number;
  timestamp: number;
  ssrc: number;
  csrcs?: readonly number[] | undefined;
  /** When set, a one-byte RFC 6464 audio level extension with this id (1..14) is written. */
  audioLevel?: { extId: number; voice: boolean; level: number } | null | undefined;
}

function fail(code: 'MEDIABOT_RTP_TRUNCATED' | 'MEDIABOT_RTP_BAD_VERSION' | 'MEDIABOT_RTP_BAD_PADDING' | 'MEDIABOT_RTP_BAD_EXTENSION', message: string): never {
  throw new MediabotError(code, message);
}

function invalid(message: string): never {
  throw new MediabotError('MEDIABOT_RTP_INVALID_FIELD', message);
}

function u16(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}

function u32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

function put16(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 8;
  b[o + 1] = v;
}

function put32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = v >>> 16;
  b[o + 2] = v >>> 8;
  b[o + 3] = v;
}

/** RFC 5761 demultiplexing: RTCP packet types 192-223 show as payload type 64-95 with the marker bit. */
export function isRtcp(buf: Uint8Array): boolean {
  if (buf.length < 2) return false;
  const pt = buf[1]! & 0x7f;
  return pt >= 64 && pt <= 95;
}

function extKind(profile: number): 1 | 2 | 0 {
  if (profile === EXT_PROFILE_ONE_BYTE) return 1;
  if ((profile & 0xfff0) === EXT_PROFILE_TWO_BYTE) return 2;
  return 0;
}

// Layout of the last scanned packet. Parsing is synchronous, so module scratch is safe
// and lets the scan validate everything before anything is written into the result.
let sPayloadStart = 0;
let sPayloadEnd = 0;
let sExtStart = 0;
let sExtEnd = 0;
let sProfile = 0;
let sExtCount = 0;

/** Validates `buf` completely and records its layout in the scratch variables. */
function scan(buf: Uint8Array): void {
  const len = buf.length;
  if (len < RTP_HEADER_SIZE) fail('MEDIABOT_RTP_TRUNCATED', `RTP packet of ${len} bytes is shorter than the 12-byte header`);
  const b0 = buf[0]!;
  if (b0 >> 6 !== RTP_VERSION) fail('MEDIABOT_RTP_BAD_VERSION', `RTP version ${b0 >> 6}, expected 2`);
  let off = RTP_HEADER_SIZE + (b0 & 0x0f) * 4;
  if (off > len) fail('MEDIABOT_RTP_TRUNCATED', `RTP packet of ${len} bytes is shorter than its CSRC list`);
  sProfile = 0;
  sExtStart = sExtEnd = off;
  sExtCount = 0;
  if (b0 & 0x10) {
    if (off + 4 > len) fail('MEDIABOT_RTP_TRUNCATED', 'RTP packet ends inside the header extension header');
    sProfile = u16(buf, off);
    sExtStart = off + 4;
    sExtEnd = sExtStart + u16(buf, off + 2) * 4;
    if (sExtEnd > len) fail('MEDIABOT_RTP_TRUNCATED', 'RTP packet ends inside its header extension');
    scanExtensions(buf, extKind(sProfile));
    off = sExtEnd;
  }
  let end = len;
  if (b0 & 0x20) {
    const pad = len > off ? buf[len - 1]! : 0;
    if (pad === 0 || pad > len - off) fail('MEDIABOT_RTP_BAD_PADDING', `RTP padding of ${pad} bytes does not fit after the header`);
    end = len - pad;
  }
  sPayloadStart = off;
  sPayloadEnd = end;
}

function scanExtensions(buf: Uint8Array, kind: 0 | 1 | 2): void {
  if (kind === 0) return;
  let p = sExtStart;
  const end = sExtEnd;
  while (p < end) {
    const b = buf[p]!;
    if (b === 0) {
      p++; // padding byte, allowed between and after elements in both forms
      continue;
    }
    let size: number;
    if (kind === 1) {
      if (b >> 4 === 15) return; // id 15: stop processing the block (RFC 8285 4.2)
      size = 1 + (b & 0x0f) + 1;
    } else {
      if (p + 2 > end) fail('MEDIABOT_RTP_BAD_EXTENSION', 'two-byte extension element ends after its id');
      size = 2 + buf[p + 1]!;
    }
    if (p + size > end) fail('MEDIABOT_RTP_BAD_EXTENSION', 'extension element runs past the extension block');
    sExtCount++;
    p += size;
  }
}

function fillExtensions(buf: Uint8Array, into: RtpPacket, levelId: number): void {
  const list = into.extensions;
  const kind = extKind(sProfile);
  let n = 0;
  const spare = into.audioLevel;
  into.audioLevel = null;
  let p = sExtStart;
  while (n < sExtCount) {
    const b = buf[p]!;
    if (b === 0) {
      p++;
      continue;
    }
    let id: number;
    let start: number;
    let size: number;
    if (kind === 1) {
      id = b >> 4;
      start = p + 1;
      size = (b & 0x0f) + 1;
    } else {
      id = b;
      start = p + 2;
      size = buf[p + 1]!;
    }
    const data = buf.subarray(start, start + size);
    const reuse = list[n];
    if (reuse) {
      reuse.id = id;
      reuse.data = data;
    } else {
      list.push({ id, data });
    }
    if (id === levelId && size > 0) {
      const v = buf[start]!;
      const level = spare ?? { voice: false, level: 0 };
      level.voice = (v & 0x80) !== 0;
      level.level = v & 0x7f;
      into.audioLevel = level;
    }
    n++;
    p = start + size;
  }
  if (list.length !== n) list.length = n; // the length setter is slow even when unchanged
}

export function emptyRtpPacket(): RtpPacket {
  return {
    payloadType: 0,
    marker: false,
    sequence: 0,
    timestamp: 0,
    ssrc: 0,
    csrcs: [],
    extensionProfile: 0,
    extensions: [],
    payload: new Uint8Array(0),
    paddingLength: 0,
    audioLevel: null,
  };
}

/**
 * Parses `buf` into `into`, reusing its arrays and extension records (the receive
 * path parses every packet into one scratch packet). `into` is untouched on error.
 * Copy what you keep: the next parse overwrites it.
 */
export function parseRtpInto(buf: Uint8Array, into: RtpPacket, opts?: RtpParseOptions): RtpPacket {
  scan(buf);
  const b0 = buf[0]!;
  const b1 = buf[1]!;
  into.marker = (b1 & 0x80) !== 0;
  into.payloadType = b1 & 0x7f;
  into.sequence = u16(buf, 2);
  into.timestamp = u32(buf, 4);
  into.ssrc = u32(buf, 8);
  const cc = b0 & 0x0f;
  const csrcs = into.csrcs;
  if (csrcs.length !== cc) csrcs.length = cc;
  for (let i = 0; i < cc; i++) csrcs[i] = u32(buf, RTP_HEADER_SIZE + i * 4);
  into.extensionProfile = sProfile;
  fillExtensions(buf, into, opts?.audioLevelExtId ?? DEFAULT_AUDIO_LEVEL_EXT_ID);
  into.payload = buf.subarray(sPayloadStart, sPayloadEnd);
  into.paddingLength = buf.length - sPayloadEnd;
  return into;
}

export function parseRtp(buf: Uint8Array, opts?: RtpParseOptions): RtpPacket {
  return parseRtpInto(buf, emptyRtpPacket(), opts);
}

function checkHeader(pt: number, seq: number, ts: number, ssrc: number, csrcs: readonly number[] | undefined): void {
  if (!Number.isInteger(pt) || pt < 0 || pt > 127) invalid(`payload type ${pt} is not 0..127`);
  if (!Number.isInteger(seq) || seq < 0 || seq > 0xffff) invalid(`sequence ${seq} is not 0..65535`);
  if (!Number.isInteger(ts) || ts < 0 || ts > 0xffffffff) invalid(`timestamp ${ts} is not a 32-bit unsigned integer`);
  if (!Number.isInteger(ssrc) || ssrc < 0 || ssrc > 0xffffffff) invalid(`ssrc ${ssrc} is not a 32-bit unsigned integer`);
  if (csrcs) {
    if (csrcs.length > 15) invalid(`${csrcs.length} CSRCs, at most 15 fit`);
    for (const c of csrcs) if (!Number.isInteger(c) || c < 0 || c > 0xffffffff) invalid(`csrc ${c} is not a 32-bit unsigned integer`);
  }
}

function writeFixed(out: Uint8Array, b0: number, pt: number, marker: boolean, seq: number, ts: number, ssrc: number): void {
  out[0] = b0;
  out[1] = (marker ? 0x80 : 0) | pt;
  put16(out, 2, seq);
  put32(out, 4, ts);
  put32(out, 8, ssrc);
}

/** Bytes of the element list in the chosen form, before padding to 32 bits. */
function extensionBytes(exts: readonly RtpExtension[], twoByte: boolean): number {
  let n = 0;
  for (const e of exts) n += (twoByte ? 2 : 1) + e.data.length;
  return n;
}

function fitsOneByte(exts: readonly RtpExtension[]): boolean {
  for (const e of exts) if (e.id < 1 || e.id > 14 || e.data.length < 1 || e.data.length > 16) return false;
  return true;
}

/** Serialized size of `p`. Validates every field. */
export function rtpByteLength(p: RtpPacketInit): number {
  checkHeader(p.payloadType, p.sequence, p.timestamp, p.ssrc, p.csrcs);
  let n = RTP_HEADER_SIZE + (p.csrcs?.length ?? 0) * 4;
  const exts = p.extensions ?? [];
  if (exts.length > 0) {
    const twoByte = p.twoByteExtensions === true || !fitsOneByte(exts);
    for (const e of exts) {
      if (!Number.isInteger(e.id) || e.id < 1 || e.id > 255) invalid(`extension id ${e.id} is not 1..255`);
      if (e.data.length > 255) invalid(`extension ${e.id} has ${e.data.length} bytes, at most 255 fit`);
    }
    const words = Math.ceil(extensionBytes(exts, twoByte) / 4);
    if (words > 0xffff) invalid('header extension longer than 65535 words');
    n += 4 + words * 4;
  }
  const pad = p.paddingLength ?? 0;
  if (!Number.isInteger(pad) || pad < 0 || pad > 255) invalid(`padding ${pad} is not 0..255`);
  return n + p.payload.length + pad;
}

/** Serializes `p` into `out` (or a new exact-size buffer) and returns the written view. */
export function serializeRtp(p: RtpPacketInit, out?: Uint8Array): Uint8Array {
  const size = rtpByteLength(p);
  if (out && out.length < size) throw new MediabotError('MEDIABOT_BUFFER_TOO_SMALL', `RTP packet needs ${size} bytes, buffer has ${out.length}`);
  const buf = out ?? new Uint8Array(size);
  const csrcs = p.csrcs ?? [];
  const exts = p.extensions ?? [];
  const pad = p.paddingLength ?? 0;
  const b0 = 0x80 | (pad > 0 ? 0x20 : 0) | (exts.length > 0 ? 0x10 : 0) | csrcs.length;
  writeFixed(buf, b0, p.payloadType, p.marker === true, p.sequence, p.timestamp, p.ssrc);
  let o = RTP_HEADER_SIZE;
  for (const c of csrcs) {
    put32(buf, o, c);
    o += 4;
  }
  if (exts.length > 0) {
    const twoByte = p.twoByteExtensions === true || !fitsOneByte(exts);
    const words = Math.ceil(extensionBytes(exts, twoByte) / 4);
    put16(buf, o, twoByte ? EXT_PROFILE_TWO_BYTE : EXT_PROFILE_ONE_BYTE);
    put16(buf, o + 2, words);
    o += 4;
    const blockEnd = o + words * 4;
    for (const e of exts) {
      if (twoByte) {
        buf[o++] = e.id;
        buf[o++] = e.data.length;
      } else {
        buf[o++] = (e.id << 4) | (e.data.length - 1);
      }
      buf.set(e.data, o);
      o += e.data.length;
    }
    buf.fill(0, o, blockEnd);
    o = blockEnd;
  }
  buf.set(p.payload, o);
  o += p.payload.length;
  if (pad > 0) {
    buf.fill(0, o, o + pad - 1);
    o += pad;
    buf[o - 1] = pad;
  }
  return out ? buf.subarray(0, o) : buf;
}

/**
 * Hot-path writer for the mixer: fixed header, optional CSRCs and optional RFC 6464
 * audio level, then the first `payloadLength` bytes of `payload` (all of it by default, so a
 * reused packet buffer needs no subarray view). Allocates nothing; returns the bytes written.
 */
export function writeRtp(out: Uint8Array, header: RtpWriteHeader, payload: Uint8Array, payloadLength = payload.length): number {
  if (!Number.isInteger(payloadLength) || payloadLength < 0 || payloadLength > payload.length) invalid(`payload length ${payloadLength} is not 0..${payload.length}`);
  const csrcs = header.csrcs;
  const cc = csrcs ? csrcs.length : 0;
  checkHeader(header.payloadType, header.sequence, header.timestamp, header.ssrc, csrcs);
  const level = header.audioLevel;
  if (level) {
    if (!Number.isInteger(level.extId) || level.extId < 1 || level.extId > 14) invalid(`audio level extension id ${level.extId} is not 1..14`);
    if (!Number.isInteger(level.level) || level.level < 0 || level.level > 127) invalid(`audio level ${level.level} is not 0..127`);
  }
  const size = RTP_HEADER_SIZE + cc * 4 + (level ? 8 : 0) + payloadLength;
  if (out.length < size) throw new MediabotError('MEDIABOT_BUFFER_TOO_SMALL', `RTP packet needs ${size} bytes, buffer has ${out.length}`);
  writeFixed(out, 0x80 | (level ? 0x10 : 0) | cc, header.payloadType, header.marker, header.sequence, header.timestamp, header.ssrc);
  let o = RTP_HEADER_SIZE;
  for (let i = 0; i < cc; i++) {
    put32(out, o, csrcs![i]!);
    o += 4;
  }
  if (level) {
    put16(out, o, EXT_PROFILE_ONE_BYTE);
    put16(out, o + 2, 1);
    out[o + 4] = level.extId << 4; // length field 0 means one data byte
    out[o + 5] = (level.voice ? 0x80 : 0) | level.level;
    out[o + 6] = 0;
    out[o + 7] = 0;
    o += 8;
  }
  if (payloadLength === payload.length) out.set(payload, o);
  else for (let i = 0; i < payloadLength; i++) out[o + i] = payload[i]!;
  return o + payloadLength;
}

/** An RFC 6464 audio level element, for `serializeRtp`. */
export function audioLevelExtension(id: number, voice: boolean, level: number): RtpExtension {
  if (!Number.isInteger(level) || level < 0 || level > 127) invalid(`audio level ${level} is not 0..127`);
  return { id, data: Uint8Array.of((voice ? 0x80 : 0) | level) };
}
