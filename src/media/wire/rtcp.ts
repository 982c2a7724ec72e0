/**
 * RTCP (RFC 3550 section 6): SR, RR, SDES CNAME and BYE, in compound packets,
 * plus the receiver-side math behind report blocks (appendix A.3 loss, A.8 jitter)
 * and NTP timestamp helpers.
 *
 * Parsing validates every length before reading, skips packet types it does not
 * know, and fails only with MediabotError (MEDIABOT_RTCP_MALFORMED, or
 * MEDIABOT_RTP_BAD_VERSION for a version other than 2).
 */
import { MediabotError } from '../../errors.js';

export const RTCP_SR = 200;
export const RTCP_RR = 201;
export const RTCP_SDES = 202;
export const RTCP_BYE = 203;
const SDES_CNAME = 1;
const REPORT_BLOCK_SIZE = 24;

export interface RtcpReportBlock {
  ssrc: number;
  /** Fraction lost since the previous report, in 1/256 (0..255). */
  fractionLost: number;
  /** Cumulative packets lost, 24-bit signed (duplicates can make it negative). */
  cumulativeLost: number;
  /** Extended highest sequence number received (cycles << 16 | max). */
  highestSeq: number;
  /** Interarrival jitter in RTP timestamp units. */
  jitter: number;
  /** Middle 32 bits of the NTP time of the last SR from this source, or 0. */
  lsr: number;
  /** Delay since that SR, in 1/65536 s, or 0. */
  dlsr: number;
}

export interface RtcpSenderReport {
  type: 'sr';
  ssrc: number;
  ntpSeconds: number;
  ntpFraction: number;
  rtpTimestamp: number;
  packetCount: number;
  octetCount: number;
  reports: RtcpReportBlock[];
}

export interface RtcpReceiverReport {
  type: 'rr';
  ssrc: number;
  reports: RtcpReportBlock[];
}

export interface RtcpSdesChunk {
  ssrc: number;
  /** The CNAME item; null when the chunk carries none (parse) or should carry none (build). */
  cname: string | null;
}

export interface RtcpSdes {
  type: 'sdes';
  chunks: RtcpSdesChunk[];
}

export interface RtcpBye {
  type: 'bye';
  ssrcs: number[];
  reason: string | null;
}

export type RtcpPacket = RtcpSenderReport | RtcpReceiverReport | RtcpSdes | RtcpBye;

function malformed(message: string): never {
  throw new MediabotError('MEDIABOT_RTCP_MALFORMED', message);
}

function invalid(message: string): never {
  throw new MediabotError('MEDIABOT_RTP_INVALID_FIELD', message);
}

function u32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

function put32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = v >>> 16;
  b[o + 2] = v >>> 8;
  b[o + 3] = v;
}

const utf8Decoder = new TextDecoder('utf-8');
const utf8Encoder = new TextEncoder();

/** UTF-8 length of `s` as TextEncoder encodes it (a lone surrogate becomes U+FFFD), without encoding. */
function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/** Writes a length-prefixed UTF-8 string (length byte at `o`), returns its byte length. */
function putText(b: Uint8Array, o: number, s: string): number {
  const n = utf8Length(s);
  b[o] = n;
  utf8Encoder.encodeInto(s, b.subarray(o + 1, o + 1 + n));
  return n;
}

// ---------------------------------------------------------------- parsing

function parseReportBlocks(b: Uint8Array, o: number, count: number): RtcpReportBlock[] {
  const reports: RtcpReportBlock[] = [];
  for (let i = 0; i < count; i++, o += REPORT_BLOCK_SIZE) {
    reports.push({
      ssrc: u32(b, o),
      fractionLost: b[o + 4]!,
      cumulativeLost: (((b[o + 5]! << 16) | (b[o + 6]! << 8) | b[o + 7]!) << 8) >> 8,
      highestSeq: u32(b, o + 8),
      jitter: u32(b, o + 12),
      lsr: u32(b, o + 16),
      dlsr: u32(b, o + 20),
    });
  }
  return reports;
}

function parseSdes(b: Uint8Array, start: number, end: number, count: number): RtcpSdes {
  const chunks: RtcpSdesChunk[] = [];
  let o = start;
  for (let i = 0; i < count; i++) {
    if (o + 4 > end) malformed('SDES chunk truncated');
    const ssrc = u32(b, o);
    o += 4;
    let cname: string | null = null;
    for (;;) {
      if (o >= end) malformed('SDES item list is not terminated');
      const type = b[o]!;
      if (type === 0) break;
      if (o + 2 > end) malformed('SDES item truncated');
      const len = b[o + 1]!;
      if (o + 2 + len > end) malformed('SDES item runs past the packet');
      if (type === SDES_CNAME) cname = utf8Decoder.decode(b.subarray(o + 2, o + 2 + len));
      o += 2 + len;
    }
    // the null terminator, then pad to the next 32-bit boundary (relative to the packet)
    o = start + ((o - start + 4) & ~3);
    if (o > end) malformed('SDES chunk padding runs past the packet');
    chunks.push({ ssrc, cname });
  }
  return { type: 'sdes', chunks };
}

function parseBye(b: Uint8Array, start: number, end: number, count: number): RtcpBye {
  if (start + count * 4 > end) malformed('BYE SSRC list truncated');
  const ssrcs: number[] = [];
  for (let i = 0; i < count; i++) ssrcs.push(u32(b, start + i * 4));
  let reason: string | null = null;
  const r = start + count * 4;
  if (r < end) {
    const len = b[r]!;
    if (r + 1 + len > end) malformed('BYE reason runs past the packet');
    reason = utf8Decoder.decode(b.subarray(r + 1, r + 1 + len));
  }
  return { type: 'bye', ssrcs, reason };
}

/**
 * Parses a compound RTCP packet. Unknown packet types are skipped. Padding is
 * honoured only on the last packet, as RFC 3550 A.2 requires.
 */
export function parseRtcp(buf: Uint8Array): RtcpPacket[] {
  const out: RtcpPacket[] = [];
  if (buf.length < 4) malformed(`RTCP packet of ${buf.length} bytes is shorter than a header`);
  let o = 0;
  while (o < buf.length) {
    if (o + 4 > buf.length) malformed('RTCP header truncated');
    const b0 = buf[o]!;
    if (b0 >> 6 !== 2) throw new MediabotError('MEDIABOT_RTP_BAD_VERSION', `RTCP version ${b0 >> 6}, expected 2`);
    const count = b0 & 0x1f;
    const pt = buf[o + 1]!;
    const next = o + 4 + ((buf[o + 2]! << 8) | buf[o + 3]!) * 4;
    if (next > buf.length) malformed('RTCP packet length runs past the buffer');
    let end = next;
    if (b0 & 0x20) {
      if (next !== buf.length) malformed('RTCP padding on a packet that is not the last of the compound');
      const pad = next > o + 4 ? buf[next - 1]! : 0;
      if (pad === 0 || pad > next - o - 4) malformed('RTCP padding length is impossible');
      end = next - pad;
    }
    const body = o + 4;
    switch (pt) {
      case RTCP_SR: {
        if (body + 24 + count * REPORT_BLOCK_SIZE > end) malformed('SR truncated');
        out.push({
          type: 'sr',
          ssrc: u32(buf, body),
          ntpSeconds: u32(buf, body + 4),
          ntpFraction: u32(buf, body + 8),
          rtpTimestamp: u32(buf, body + 12),
          packetCount: u32(buf, body + 16),
          octetCount: u32(buf, body + 20),
          reports: parseReportBlocks(buf, body + 24, count),
        });
        break;
      }
      case RTCP_RR: {
        if (body + 4 + count * REPORT_BLOCK_SIZE > end) malformed('RR truncated');
        out.push({ type: 'rr', ssrc: u32(buf, body), reports: parseReportBlocks(buf, body + 4, count) });
        break;
      }
      case RTCP_SDES:
        out.push(parseSdes(buf, body, end, count));
        break;
      case RTCP_BYE:
        out.push(parseBye(buf, body, end, count));
        break;
      default:
        break; // APP, feedback (RFC 4585) and XR are not ours to read
    }
    o = next;
  }
  return out;
}

// ---------------------------------------------------------------- building

function checkU32(v: number, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) invalid(`${what} ${v} is not a 32-bit unsigned integer`);
}

function checkCount(n: number, what: string): void {
  if (n > 31) invalid(`${n} ${what}, at most 31 fit one RTCP packet`);
}

function checkBlock(r: RtcpReportBlock): void {
  checkU32(r.ssrc, 'report ssrc');
  if (!Number.isInteger(r.fractionLost) || r.fractionLost < 0 || r.fractionLost > 255) invalid(`fraction lost ${r.fractionLost} is not 0..255`);
  if (!Number.isInteger(r.cumulativeLost) || r.cumulativeLost < -0x800000 || r.cumulativeLost > 0x7fffff) invalid(`cumulative lost ${r.cumulativeLost} does not fit 24 bits signed`);
  checkU32(r.highestSeq, 'highest sequence');
  checkU32(r.jitter, 'jitter');
  checkU32(r.lsr, 'LSR');
  checkU32(r.dlsr, 'DLSR');
}

function sdesChunkSize(c: RtcpSdesChunk): number {
  const items = c.cname === null ? 0 : 2 + utf8Length(c.cname);
  return 4 + ((items + 4) & ~3); // SSRC, items, at least one null octet, padded to 32 bits
}

function byeSize(p: RtcpBye): number {
  return 4 + p.ssrcs.length * 4 + (p.reason === null ? 0 : (1 + utf8Length(p.reason) + 3) & ~3);
}

/** Size of one RTCP packet; validates its fields. */
function packetSize(p: RtcpPacket): number {
  switch (p.type) {
    case 'sr':
    case 'rr':
      checkU32(p.ssrc, 'ssrc');
      checkCount(p.reports.length, 'report blocks');
      p.reports.forEach(checkBlock);
      if (p.type === 'sr') {
        for (const [v, what] of [[p.ntpSeconds, 'NTP seconds'], [p.ntpFraction, 'NTP fraction'], [p.rtpTimestamp, 'RTP timestamp'], [p.packetCount, 'packet count'], [p.octetCount, 'octet count']] as const) checkU32(v, what);
        return 28 + p.reports.length * REPORT_BLOCK_SIZE;
      }
      return 8 + p.reports.length * REPORT_BLOCK_SIZE;
    case 'sdes': {
      checkCount(p.chunks.length, 'SDES chunks');
      let n = 4;
      for (const c of p.chunks) {
        checkU32(c.ssrc, 'SDES ssrc');
        if (c.cname !== null && utf8Length(c.cname) > 255) invalid('CNAME longer than 255 bytes');
        n += sdesChunkSize(c);
      }
      return n;
    }
    case 'bye':
      checkCount(p.ssrcs.length, 'BYE SSRCs');
      p.ssrcs.forEach((s) => checkU32(s, 'BYE ssrc'));
      if (p.reason !== null && utf8Length(p.reason) > 255) invalid('BYE reason longer than 255 bytes');
      return byeSize(p);
    default:
      return invalid(`unknown RTCP packet type ${String((p as { type: unknown }).type)}`);
  }
}

/** Serialized size of a compound packet made of `packets`. */
export function rtcpByteLength(packets: readonly RtcpPacket[]): number {
  let n = 0;
  for (const p of packets) n += packetSize(p);
  return n;
}

function writeHeader(b: Uint8Array, o: number, count: number, pt: number, size: number): void {
  b[o] = 0x80 | count;
  b[o + 1] = pt;
  b[o + 2] = (size / 4 - 1) >>> 8;
  b[o + 3] = size / 4 - 1;
}

function writeBlocks(b: Uint8Array, o: number, reports: readonly RtcpReportBlock[]): void {
  for (const r of reports) {
    put32(b, o, r.ssrc);
    put32(b, o + 4, r.cumulativeLost & 0xffffff);
    b[o + 4] = r.fractionLost;
    put32(b, o + 8, r.highestSeq);
    put32(b, o + 12, r.jitter);
    put32(b, o + 16, r.lsr);
    put32(b, o + 20, r.dlsr);
    o += REPORT_BLOCK_SIZE;
  }
}

function writePacket(b: Uint8Array, o: number, p: RtcpPacket, size: number): void {
  b.fill(0, o, o + size);
  switch (p.type) {
    case 'sr':
      writeHeader(b, o, p.reports.length, RTCP_SR, size);
      put32(b, o + 4, p.ssrc);
      put32(b, o + 8, p.ntpSeconds);
      put32(b, o + 12, p.ntpFraction);
      put32(b, o + 16, p.rtpTimestamp);
      put32(b, o + 20, p.packetCount);
      put32(b, o + 24, p.octetCount);
      writeBlocks(b, o + 28, p.reports);
      break;
    case 'rr':
      writeHeader(b, o, p.reports.length, RTCP_RR, size);
      put32(b, o + 4, p.ssrc);
      writeBlocks(b, o + 8, p.reports);
      break;
    case 'sdes': {
      writeHeader(b, o, p.chunks.length, RTCP_SDES, size);
      let c = o + 4;
      for (const chunk of p.chunks) {
        put32(b, c, chunk.ssrc);
        if (chunk.cname !== null) {
          b[c + 4] = SDES_CNAME;
          putText(b, c + 5, chunk.cname);
        }
        c += sdesChunkSize(chunk); // the terminator and padding are the zeros from fill
      }
      break;
    }
    case 'bye': {
      writeHeader(b, o, p.ssrcs.length, RTCP_BYE, size);
      p.ssrcs.forEach((s, i) => put32(b, o + 4 + i * 4, s));
      if (p.reason !== null) putText(b, o + 4 + p.ssrcs.length * 4, p.reason);
      break;
    }
  }
}

/** Serializes a compound RTCP packet into `out` (or a new buffer); returns the written view. */
export function serializeRtcp(packets: readonly RtcpPacket[], out?: Uint8Array): Uint8Array {
  const sizes = packets.map(packetSize);
  const total = sizes.reduce((a, s) => a + s, 0);
  if (out && out.length < total) throw new MediabotError('MEDIABOT_BUFFER_TOO_SMALL', `RTCP needs ${total} bytes, buffer has ${out.length}`);
  const buf = out ?? new Uint8Array(total);
  let o = 0;
  packets.forEach((p, i) => {
    writePacket(buf, o, p, sizes[i]!);
    o += sizes[i]!;
  });
  return out ? buf.subarray(0, total) : buf;
}

// ---------------------------------------------------------------- NTP time

export * from './rtcp-reports.js';
