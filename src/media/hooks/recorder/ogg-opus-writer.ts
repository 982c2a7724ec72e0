/**
 * An Ogg Opus muxer (RFC 7845 over RFC 3533) that writes already-encoded Opus
 * packets without re-encoding them.
 *
 * Stream layout: page 0 holds OpusHead alone (BOS), then the OpusTags page(s),
 * then audio pages. Each page's granule position is the 48 kHz sample count
 * (pre-skip included) at the end of the last packet that completes on it.
 *
 * Crash safety: packets are buffered and written as whole pages with one
 * synchronous write per page every `flushEveryPackets` packets, so a killed
 * process leaves only complete, CRC-valid pages behind. The newest packet is
 * always held back until the next flush so that `end()` has a packet to carry
 * the EOS flag (an empty EOS page is legal Ogg but trips some readers).
 */
import { randomInt } from 'node:crypto';
import { MediabotError } from '../../../errors.js';
import { oggCrc32 } from '../../wire/ogg-crc.js';
import { opusPacketSamples } from '../../wire/opus-packet.js';
import { RecordingFile, type RecordingFileOptions } from './recording-file.js';

/** Where finished pages go. `append` must consume the bytes before returning (they are a reused buffer). */
export interface OggPageSink {
  append(bytes: Uint8Array): void;
  /** Forces data to stable storage; called every `syncEveryMs` of media when set. */
  sync?(): void;
  close?(): void;
}

export interface OggOpusWriterOptions {
  /** Samples at 48 kHz the decoder drops at the start (OpusHead pre-skip). Default 312, libopus' usual delay. */
  preSkip?: number;
  /** Bitstream serial number. Default: random. */
  serial?: number;
  /** OpusTags vendor string. Default "mediabot". */
  vendor?: string;
  /** OpusTags user comments, e.g. `{ TITLE: 'call 1 / alice' }`. Keys: printable ASCII without '='. */
  comments?: Readonly<Record<string, string>>;
  /** Write pages once this many audio packets are buffered. Default 25 (0.5 s of 20 ms packets). */
  flushEveryPackets?: number;
  /** Call `sink.sync()` (fdatasync) after a flush once this much media time passed since the last. 0 = never (default). */
  syncEveryMs?: number;
}

const HEADER_BYTES = 27;
const MAX_SEGMENTS = 255;
const MAX_PAGE_BYTES = HEADER_BYTES + MAX_SEGMENTS + MAX_SEGMENTS * 255;
/** Largest packet accepted: an Opus packet is at most 120 ms of 1275-byte frames plus framing. */
export const MAX_OPUS_PACKET_BYTES = 61_440;
const FLAG_CONTINUED = 0x01;
const FLAG_BOS = 0x02;
const FLAG_EOS = 0x04;
const NO_GRANULE = -1;

const encoder = new TextEncoder();

/**
 * One page buffer for every writer in the thread: a page is built and handed to
 * its sink (which must consume it before returning) in one synchronous step, so
 * writers never need the buffer at the same time. Saves 64 KiB per open file.
 */
const SHARED_PAGE = new Uint8Array(MAX_PAGE_BYTES);
const SHARED_PAGE_VIEW = new DataView(SHARED_PAGE.buffer);

export class OggOpusWriter {
  readonly serial: number;
  readonly preSkip: number;

  private readonly sink: OggPageSink;
  private readonly flushEveryPackets: number;
  private readonly syncEverySamples: number;
  private readonly page = SHARED_PAGE;
  private readonly pageView = SHARED_PAGE_VIEW;

  /** Buffered packet bytes, contiguous, and per packet its length and end granule. */
  private data = new Uint8Array(2048);
  private dataLen = 0;
  private lens = new Int32Array(64);
  private ends = new Float64Array(64);
  private count = 0;

  private seq = 0;
  private granule = 0;
  private audioPackets = 0;
  private pagesWritten = 0;
  private bytesWritten = 0;
  private lastSyncGranule = 0;
  private ended = false;

  constructor(sink: OggPageSink, opts: OggOpusWriterOptions = {}) {
    const preSkip = opts.preSkip ?? 312;
    if (!Number.isInteger(preSkip) || preSkip < 0 || preSkip > 0xffff) {
      throw new MediabotError('MEDIABOT_RECORDING_INVALID', `preSkip must be an integer 0..65535, got ${preSkip}`);
    }
    const serial = opts.serial ?? randomInt(0, 0x1_0000_0000 - 1);
    if (!Number.isInteger(serial) || serial < 0 || serial > 0xffff_ffff) {
      throw new MediabotError('MEDIABOT_RECORDING_INVALID', `serial must be a 32-bit unsigned integer, got ${serial}`);
    }
    const flushEvery = opts.flushEveryPackets ?? 25;
    if (!Number.isInteger(flushEvery) || flushEvery < 1 || flushEvery > 10_000) {
      throw new MediabotError('MEDIABOT_RECORDING_INVALID', `flushEveryPackets must be an integer 1..10000, got ${flushEvery}`);
    }
    const syncEveryMs = opts.syncEveryMs ?? 0;
    if (!Number.isFinite(syncEveryMs) || syncEveryMs < 0) {
      throw new MediabotError('MEDIABOT_RECORDING_INVALID', `syncEveryMs must be >= 0, got ${syncEveryMs}`);
    }
    const tags = buildOpusTags(opts.vendor ?? 'mediabot', opts.comments ?? {});
    this.sink = sink;
    this.preSkip = preSkip;
    this.serial = serial;
    this.flushEveryPackets = flushEvery;
    this.syncEverySamples = Math.round(syncEveryMs * 48);

    // Header packets each finish their own page(s), as RFC 7845 section 3 requires.
    this.enqueue(buildOpusHead(preSkip), 0);
    this.writePages(this.count, false);
    this.enqueue(tags, 0);
    this.writePages(this.count, false);
  }

  /** Granule position after the last accepted packet: 48 kHz samples, pre-skip included. */
  get samples(): number {
    return this.granule;
  }

  /** Playable duration in 48 kHz samples (granule minus pre-skip). */
  get durationSamples(): number {
    return Math.max(0, this.granule - this.preSkip);
  }

  get packets(): number {
    return this.audioPackets;
  }

  get pages(): number {
    return this.pagesWritten;
  }

  /** Bytes handed to the sink so far. */
  get bytes(): number {
    return this.bytesWritten;
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /**
   * Buffers one Opus packet (copied; the caller may reuse its buffer). Its duration
   * is read from its TOC unless `samples` is given. Throws MEDIABOT_RECORDING_INVALID
   * for a malformed packet, and then changes nothing.
   */
  writePacket(packet: Uint8Array, samples?: number): void {
    if (this.ended) throw new MediabotError('MEDIABOT_RECORDING_FAILED', 'The Ogg Opus stream has already ended');
    if (packet.length > MAX_OPUS_PACKET_BYTES) {
      throw new MediabotError('MEDIABOT_RECORDING_INVALID', `An Opus packet of ${packet.length} bytes is too large`);
    }
    if (packet.length === 0) throw new MediabotError('MEDIABOT_RECORDING_INVALID', 'An Opus packet must not be empty');
    if (samples !== undefined && (!Number.isInteger(samples) || samples <= 0 || samples > 5760)) {
      throw new MediabotError('MEDIABOT_RECORDING_INVALID', `Packet duration must be 1..5760 samples, got ${samples}`);
    }
    const n = samples ?? opusPacketSamples(packet);
    this.granule += n;
    this.audioPackets++;
    this.enqueue(packet, this.granule);
    if (this.count > this.flushEveryPackets) this.flush();
  }

  /** Writes every buffered packet except the newest (held back to carry EOS later). */
  flush(): void {
    if (this.ended || this.count <= 1) return;
    this.writePages(this.count - 1, false);
    if (this.syncEverySamples > 0 && this.granule - this.lastSyncGranule >= this.syncEverySamples && this.sink.sync) {
      this.lastSyncGranule = this.granule;
      this.sink.sync();
    }
  }

  /** Writes everything with EOS on the last page (fdatasync if `syncEveryMs` is set) and closes the sink. Idempotent. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.count > 0) {
      this.writePages(this.count, true);
    } else {
      // No audio at all: an empty EOS page ends the stream.
      this.writeEmptyEosPage();
    }
    // fdatasync costs milliseconds; only when power-loss safety was asked for.
    if (this.syncEverySamples > 0) this.sink.sync?.();
    this.sink.close?.();
  }

  private enqueue(packet: Uint8Array, endGranule: number): void {
    if (this.dataLen + packet.length > this.data.length) {
      const grown = new Uint8Array(Math.max(this.data.length * 2, this.dataLen + packet.length));
      grown.set(this.data.subarray(0, this.dataLen));
      this.data = grown;
    }
    if (this.count === this.lens.length) {
      const lens = new Int32Array(this.lens.length * 2);
      lens.set(this.lens);
      this.lens = lens;
      const ends = new Float64Array(this.ends.length * 2);
      ends.set(this.ends);
      this.ends = ends;
    }
    this.data.set(packet, this.dataLen);
    this.dataLen += packet.length;
    this.lens[this.count] = packet.length;
    this.ends[this.count] = endGranule;
    this.count++;
  }

  /** Pages out the first `m` buffered packets; the rest move to the front of the buffers. */
  private writePages(m: number, final: boolean): void {
    let idx = 0; // packet being paged
    let done = 0; // bytes of packet `idx` already on earlier pages
    let cursor = 0; // byte offset in `data` of the next unpaged byte
    while (idx < m) {
      const firstIdx = idx;
      const firstDone = done;
      let segs = 0;
      let body = 0;
      let granule = NO_GRANULE;
      while (idx < m && segs < MAX_SEGMENTS) {
        const remaining = this.lens[idx]! - done;
        const need = Math.floor(remaining / 255) + 1;
        if (segs + need <= MAX_SEGMENTS) {
          segs += need;
          body += remaining;
          granule = this.ends[idx]!;
          idx++;
          done = 0;
        } else {
          const fit = MAX_SEGMENTS - segs;
          segs += fit;
          body += fit * 255;
          done += fit * 255;
          break;
        }
      }
      // Segment table: 255 for each full segment, then the packet's remainder (0..254).
      const page = this.page;
      let t = HEADER_BYTES;
      let i = firstIdx;
      let d = firstDone;
      while (t < HEADER_BYTES + segs) {
        const remaining = this.lens[i]! - d;
        if (remaining >= 255) {
          page[t++] = 255;
          d += 255;
        } else {
          page[t++] = remaining;
          i++;
          d = 0;
        }
      }
      page.set(this.data.subarray(cursor, cursor + body), HEADER_BYTES + segs);
      cursor += body;
      const last = final && idx === m && done === 0;
      const flags = (firstDone > 0 ? FLAG_CONTINUED : 0) | (this.seq === 0 ? FLAG_BOS : 0) | (last ? FLAG_EOS : 0);
      this.emitPage(flags, granule, segs, body);
    }
    // Keep the unpaged packets (the held-back one) at the front.
    const rest = this.count - m;
    if (rest > 0) {
      this.data.copyWithin(0, cursor, this.dataLen);
      this.lens.copyWithin(0, m, this.count);
      this.ends.copyWithin(0, m, this.count);
    }
    this.dataLen -= cursor;
    this.count = rest;
  }

  private writeEmptyEosPage(): void {
    this.emitPage(FLAG_EOS | (this.seq === 0 ? FLAG_BOS : 0), this.granule, 0, 0);
  }

  /** Fills in the page header (segment table and body already in place), checksums and hands it to the sink. */
  private emitPage(flags: number, granule: number, segs: number, body: number): void {
    const page = this.page;
    const v = this.pageView;
    page[0] = 0x4f; // 'O'
    page[1] = 0x67; // 'g'
    page[2] = 0x67; // 'g'
    page[3] = 0x53; // 'S'
    page[4] = 0; // stream structure version
    page[5] = flags;
    if (granule === NO_GRANULE) {
      v.setUint32(6, 0xffff_ffff, true);
      v.setUint32(10, 0xffff_ffff, true);
    } else {
      v.setUint32(6, granule % 0x1_0000_0000, true);
      v.setUint32(10, Math.floor(granule / 0x1_0000_0000), true);
    }
    v.setUint32(14, this.serial, true);
    v.setUint32(18, this.seq, true);
    v.setUint32(22, 0, true);
    page[26] = segs;
    const len = HEADER_BYTES + segs + body;
    v.setUint32(22, oggCrc32(page, 0, len), true);
    this.sink.append(page.subarray(0, len));
    this.seq = (this.seq + 1) >>> 0;
    this.pagesWritten++;
    this.bytesWritten += len;
  }
}

/**
 * Opens `path` (never overwriting an existing file) and returns a writer whose pages
 * go to it with synchronous writes. With `deferOpen` the file is created off the
 * caller's thread and pages wait in memory until it exists.
 */
export function openOggOpusFile(path: string, opts: OggOpusWriterOptions & RecordingFileOptions = {}): OggOpusWriter {
  const file = new RecordingFile(path, opts);
  try {
    return new OggOpusWriter(file, opts);
  } catch (err) {
    file.close();
    throw err;
  }
}

/** The OpusHead identification header (RFC 7845 section 5.1), mono, channel mapping family 0. */
export function buildOpusHead(preSkip: number): Uint8Array {
  const head = new Uint8Array(19);
  const v = new DataView(head.buffer);
  head.set(encoder.encode('OpusHead'), 0);
  head[8] = 1; // version
  head[9] = 1; // channel count
  v.setUint16(10, preSkip, true);
  v.setUint32(12, 48_000, true); // input sample rate (informational)
  v.setInt16(16, 0, true); // output gain
  head[18] = 0; // mapping family 0: mono/stereo, no mapping table
  return head;
}

/** The OpusTags comment header (RFC 7845 section 5.2). */
export function buildOpusTags(vendor: string, comments: Readonly<Record<string, string>>): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const [key, value] of Object.entries(comments)) {
    if (!/^[\x20-\x3c\x3e-\x7d]+$/.test(key)) {
      throw new MediabotError('MEDIABOT_RECORDING_INVALID', `Invalid Opus comment key ${JSON.stringify(key)}`);
    }
    parts.push(encoder.encode(`${key}=${value}`));
  }
  const vendorBytes = encoder.encode(vendor);
  const size = 8 + 4 + vendorBytes.length + 4 + parts.reduce((s, p) => s + 4 + p.length, 0);
  if (size > 60_000) throw new MediabotError('MEDIABOT_RECORDING_INVALID', 'Opus comments are too large');
  const tags = new Uint8Array(size);
  const v = new DataView(tags.buffer);
  tags.set(encoder.encode('OpusTags'), 0);
  let o = 8;
  v.setUint32(o, vendorBytes.length, true);
  o += 4;
  tags.set(vendorBytes, o);
  o += vendorBytes.length;
  v.setUint32(o, parts.length, true);
  o += 4;
  for (const p of parts) {
    v.setUint32(o, p.length, true);
    o += 4;
    tags.set(p, o);
    o += p.length;
  }
  return tags;
}
