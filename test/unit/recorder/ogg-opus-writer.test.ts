import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isMediabotError } from '../../../src/errors.js';
import { oggCrc32 } from '../../../src/media/wire/ogg-crc.js';
import { OggOpusWriter, openOggOpusFile, type OggPageSink } from '../../../src/media/hooks/recorder/ogg-opus-writer.js';
import { silenceOpusPacket } from '../../../src/media/hooks/recorder/silence.js';
import {
  FRAME,
  correlation,
  encodeFrames,
  ffmpegDecode,
  packetsFromPages,
  parseOggPages,
  referenceOggCrc,
  rmsWindows,
  speech48k,
} from '../../fixtures/recorder/speech.js';

const require = createRequire(import.meta.url);
const prism = require('prism-media') as { opus: { OggDemuxer: new () => NodeJS.ReadWriteStream } };

/** A sink that keeps every page (copied, since the writer reuses its page buffer). */
class MemorySink implements OggPageSink {
  chunks: Uint8Array[] = [];
  appends = 0;
  closed = false;
  append(bytes: Uint8Array): void {
    this.chunks.push(bytes.slice());
    this.appends++;
  }
  close(): void {
    this.closed = true;
  }
  get bytes(): Uint8Array {
    return Buffer.concat(this.chunks);
  }
}

function demux(bytes: Uint8Array): Promise<{ packets: Buffer[]; head: Buffer | null; tags: Buffer | null }> {
  return new Promise((resolvePromise, reject) => {
    const d = new prism.opus.OggDemuxer();
    const packets: Buffer[] = [];
    let head: Buffer | null = null;
    let tags: Buffer | null = null;
    d.on('head', (h: Buffer) => (head = Buffer.from(h)));
    d.on('tags', (t: Buffer) => (tags = Buffer.from(t)));
    d.on('data', (p: Buffer) => packets.push(Buffer.from(p)));
    d.on('error', reject);
    d.on('end', () => resolvePromise({ packets, head, tags }));
    // Feed in odd-sized chunks so page boundaries fall mid-chunk.
    for (let o = 0; o < bytes.length; o += 777) d.write(Buffer.from(bytes.subarray(o, o + 777)));
    d.end();
  });
}

function ffprobePacketSizes(path: string): number[] {
  const r = spawnSync('ffprobe', ['-v', 'error', '-select_streams', 'a', '-show_entries', 'packet=size', '-of', 'json', path]);
  expect(r.stderr.toString()).toBe('');
  const parsed = JSON.parse(r.stdout.toString()) as { packets: Array<{ size: string }> };
  return parsed.packets.map((p) => Number(p.size));
}

let dir: string;
let speech: Int16Array;
let packets: Uint8Array[];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ogg-writer-'));
  speech = speech48k('The quick brown fox jumps over the lazy dog. Recording keeps every word.');
  packets = encodeFrames(speech);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function muxToFile(name: string, pkts: readonly (Uint8Array | null)[], opts = {}): { path: string; writer: OggOpusWriter } {
  const path = join(dir, name);
  const writer = openOggOpusFile(path, opts);
  const silence = silenceOpusPacket();
  for (const p of pkts) writer.writePacket(p ?? silence);
  writer.end();
  return { path, writer };
}

describe('oggCrc32', () => {
  it('matches a bit-by-bit reference of the Ogg polynomial', () => {
    const data = new Uint8Array(4096);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7919 + 13) & 0xff;
    expect(oggCrc32(data)).toBe(referenceOggCrc(data));
    expect(oggCrc32(new TextEncoder().encode('123456789'))).toBe(referenceOggCrc(new TextEncoder().encode('123456789')));
    // Continuing a CRC over two parts equals the CRC of the whole.
    expect(oggCrc32(data, 1000, 4096, oggCrc32(data, 0, 1000))).toBe(oggCrc32(data));
    expect(oggCrc32(new Uint8Array(0))).toBe(0);
  });
});

describe('OggOpusWriter with real speech', () => {
  it('demuxes with prism-media to exactly the packets written, after OpusHead and OpusTags', async () => {
    const sink = new MemorySink();
    const w = new OggOpusWriter(sink, { serial: 0x1234abcd, comments: { TITLE: 'call-1 alice' } });
    for (const p of packets) w.writePacket(p);
    w.end();
    expect(sink.closed).toBe(true);
    const { packets: out, head, tags } = await demux(sink.bytes);
    expect(out.length).toBe(packets.length);
    for (let i = 0; i < packets.length; i++) expect(Buffer.compare(out[i]!, Buffer.from(packets[i]!))).toBe(0);

    expect(head).not.toBeNull();
    const h = head!;
    expect(h.subarray(0, 8).toString('latin1')).toBe('OpusHead');
    expect(h[8]).toBe(1); // version
    expect(h[9]).toBe(1); // channels
    expect(h.readUInt16LE(10)).toBe(312);
    expect(h.readUInt32LE(12)).toBe(48_000);
    expect(h.readInt16LE(16)).toBe(0);
    expect(h[18]).toBe(0);
    expect(tags!.subarray(0, 8).toString('latin1')).toBe('OpusTags');
    expect(tags!.toString('utf8')).toContain('mediabot');
    expect(tags!.toString('utf8')).toContain('TITLE=call-1 alice');
  });

  it('writes pages with correct CRCs, flags, sequence numbers, serial and granule positions', () => {
    const sink = new MemorySink();
    const w = new OggOpusWriter(sink, { serial: 77, flushEveryPackets: 10 });
    for (const p of packets) w.writePacket(p);
    w.end();
    const bytes = sink.bytes;
    const pages = parseOggPages(bytes);
    expect(pages.length).toBeGreaterThan(3);
    pages.forEach((p, i) => {
      expect(p.seq).toBe(i);
      expect(p.serial).toBe(77);
      const copy = bytes.slice(p.offset, p.offset + p.length);
      copy.fill(0, 22, 26);
      expect(referenceOggCrc(copy)).toBe(p.crc);
    });
    expect(pages[0]!.flags).toBe(0x02); // BOS, alone
    expect(pages[0]!.segments).toEqual([19]);
    expect(pages[1]!.flags).toBe(0);
    expect(pages[1]!.granule).toBe(0n);
    expect(pages.at(-1)!.flags).toBe(0x04); // EOS on the last page only
    for (const p of pages.slice(1, -1)) expect(p.flags & 0x06).toBe(0);
    // Every audio page's granule = 960 x packets completed so far.
    let done = 0;
    for (const p of pages.slice(2)) {
      done += p.segments.filter((s) => s < 255).length;
      expect(p.granule).toBe(BigInt(done * FRAME));
    }
    expect(done).toBe(packets.length);
    // Flushed every 10 packets: audio pages hold at most 10 packets.
    for (const p of pages.slice(2)) expect(p.segments.filter((s) => s < 255).length).toBeLessThanOrEqual(10);
    expect(w.samples).toBe(packets.length * FRAME);
    expect(w.durationSamples).toBe(packets.length * FRAME - 312);
  });

  it('decodes with ffmpeg without any error, to the input duration and with speech where the speech was', () => {
    const { path } = muxToFile('speech.opus', packets);
    const { pcm, stderr } = ffmpegDecode(path);
    expect(stderr).toBe('');
    expect(Math.abs(pcm.length - speech.length)).toBeLessThanOrEqual(FRAME);
    const win = 4800; // 100 ms
    const a = rmsWindows(speech, win);
    const b = rmsWindows(pcm, win);
    const n = Math.min(a.length, b.length);
    expect(n).toBeGreaterThan(20);
    expect(correlation(a.slice(0, n), b.slice(0, n))).toBeGreaterThan(0.9);
    // Loud windows stay loud and quiet ones quiet.
    const loud = a.map((x, i) => (x > 1000 ? i : -1)).filter((i) => i >= 0 && i < n);
    expect(loud.length).toBeGreaterThan(5);
    for (const i of loud) expect(b[i]!).toBeGreaterThan(a[i]! * 0.3);

    const probe = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', path]);
    expect(probe.stderr.toString()).toBe('');
    expect(Math.abs(Number(probe.stdout.toString()) * 48_000 - speech.length)).toBeLessThanOrEqual(FRAME);
  });

  it('makes ffmpeg report a damaged page (the CRC is really checked)', () => {
    const { path } = muxToFile('damaged.opus', packets);
    const bytes = readFileSync(path);
    const pages = parseOggPages(bytes);
    const victim = pages[4]!;
    bytes[victim.offset + 22]! ^= 0xff; // only the stored checksum changes
    const bad = join(dir, 'damaged-edit.opus');
    writeFileSync(bad, bytes);
    const r = spawnSync('ffmpeg', ['-nostdin', '-v', 'error', '-i', bad, '-f', 's16le', '-']);
    expect(r.stderr.toString()).toMatch(/CRC mismatch/);
  });

  it('laces packets of 255 and 510 bytes and more (trailing zero lacing value) correctly', async () => {
    for (const [bitrate, size] of [
      [102_000, 255],
      [204_000, 510],
      [300_000, 750],
    ] as const) {
      const pkts = encodeFrames(speech.subarray(0, 50 * FRAME), bitrate);
      expect(pkts.every((p) => p.length === size)).toBe(true);
      const { path } = muxToFile(`cbr-${size}.opus`, pkts);
      const bytes = readFileSync(path);
      const pages = parseOggPages(bytes);
      if (size % 255 === 0) {
        // size/255 full segments then a 0-length terminator per packet.
        const audio = pages.slice(2).flatMap((p) => p.segments);
        expect(audio.filter((s) => s === 0).length).toBe(pkts.length);
      }
      expect(ffprobePacketSizes(path)).toEqual(pkts.map((p) => p.length));
      const { packets: out } = await demux(bytes);
      expect(out.map((p) => Buffer.from(p).toString('hex'))).toEqual(pkts.map((p) => Buffer.from(p).toString('hex')));
      const { pcm, stderr } = ffmpegDecode(path);
      expect(stderr).toBe('');
      expect(pcm.length).toBe(pkts.length * FRAME - 312);
    }
  });

  it('continues packets across pages when a page runs out of its 255 segments', () => {
    const pkts = encodeFrames(speech.subarray(0, 200 * FRAME), 160_000); // 400 bytes = 2 segments each
    expect(pkts.every((p) => p.length === 400)).toBe(true);
    const { path } = muxToFile('span.opus', pkts, { flushEveryPackets: 200 });
    const bytes = readFileSync(path);
    const pages = parseOggPages(bytes);
    const audio = pages.slice(2);
    expect(audio.some((p) => p.flags & 0x01)).toBe(true); // some page continues a packet
    for (const p of audio.slice(0, -1)) expect(p.segments.length).toBe(255);
    // A page on which no packet completes carries granule -1; none here, but check the rule holds.
    for (const p of audio) {
      const completes = p.segments.some((s) => s < 255);
      if (!completes) expect(p.granule).toBe(0xffffffffffffffffn);
    }
    const reassembled = packetsFromPages(bytes, audio);
    expect(reassembled.map((p) => p.length)).toEqual(pkts.map((p) => p.length));
    expect(ffprobePacketSizes(path)).toEqual(pkts.map((p) => p.length));
    const { pcm, stderr } = ffmpegDecode(path);
    expect(stderr).toBe('');
    expect(pcm.length).toBe(pkts.length * FRAME - 312);
  });

  it('keeps the duration right across gaps filled with the silence packet', () => {
    // Drop every 7th packet and a 1.5 s run in the middle: the recorder writes silence there.
    const withGaps = packets.map((p, i) => (i % 7 === 3 || (i >= 40 && i < 115) ? null : p));
    const { path } = muxToFile('gaps.opus', withGaps);
    const { pcm, stderr } = ffmpegDecode(path);
    expect(stderr).toBe('');
    expect(Math.abs(pcm.length - packets.length * FRAME)).toBeLessThanOrEqual(FRAME);
    // The long gap decodes to near-silence, at the right place (compensating the 312-sample pre-skip).
    const gapStart = 41 * FRAME;
    const gapEnd = 114 * FRAME;
    const gapRms = rmsWindows(pcm.subarray(gapStart, gapEnd), gapEnd - gapStart)[0]!;
    expect(gapRms).toBeLessThan(50);
    const before = rmsWindows(speech.subarray(0, 40 * FRAME), 40 * FRAME)[0]!;
    const decodedBefore = rmsWindows(pcm.subarray(0, 39 * FRAME), 39 * FRAME)[0]!;
    expect(decodedBefore).toBeGreaterThan(before * 0.3);
  });

  it('the silence packet is a valid 20 ms libopus packet', () => {
    const s = silenceOpusPacket();
    expect(s.length).toBeGreaterThan(0);
    expect(s.length).toBeLessThan(10);
    expect(s[0]! >> 3).toBeGreaterThanOrEqual(16); // CELT-only ...
    expect(s[0]! & 0x03).toBe(0); // ... one frame
  });

  it('rejects malformed packets with a typed error and changes nothing', async () => {
    const sink = new MemorySink();
    const w = new OggOpusWriter(sink, { flushEveryPackets: 5 });
    for (const p of packets.slice(0, 12)) w.writePacket(p);
    const before = { samples: w.samples, packets: w.packets, appends: sink.appends };
    const bad: Array<[Uint8Array, number | undefined]> = [
      [new Uint8Array(0), undefined],
      [Uint8Array.of(0x03), undefined], // code 3 without a count byte
      [Uint8Array.of(0x03, 0x00), undefined], // code 3 with zero frames
      [Uint8Array.of(0x1b, 0x3f), undefined], // code 3, 63 x 60 ms > 120 ms
      [Uint8Array.of(0x79, 1, 2, 3), undefined], // code 1 with an odd payload
      [new Uint8Array(70_000).fill(0xf8), undefined], // too large
      [packets[0]!, 0],
      [packets[0]!, 1.5],
    ];
    for (const [p, n] of bad) {
      let caught: unknown = null;
      try {
        w.writePacket(p, n);
      } catch (err) {
        caught = err;
      }
      expect(isMediabotError(caught) && caught.code === 'MEDIABOT_RECORDING_INVALID').toBe(true);
    }
    expect({ samples: w.samples, packets: w.packets, appends: sink.appends }).toEqual(before);
    for (const p of packets.slice(12, 20)) w.writePacket(p);
    w.end();
    const { packets: out } = await demux(sink.bytes);
    expect(out.length).toBe(20);
    expect(() => w.writePacket(packets[0]!)).toThrow(/ended/);
    w.end(); // idempotent

    for (const opts of [{ preSkip: -1 }, { preSkip: 70_000 }, { serial: 2 ** 33 }, { flushEveryPackets: 0 }, { syncEveryMs: -5 }, { comments: { 'A=B': 'x' } }]) {
      expect(() => new OggOpusWriter(new MemorySink(), opts)).toThrow(expect.objectContaining({ code: 'MEDIABOT_RECORDING_INVALID' }));
    }
    expect(() => openOggOpusFile(join(dir, 'speech.opus'))).toThrow(/EEXIST/); // never overwrites
  });

  it('leaves only whole valid pages on disk at every flush, none buffered longer than the flush interval', () => {
    const path = join(dir, 'partial.opus');
    const w = openOggOpusFile(path, { flushEveryPackets: 25 });
    for (let i = 0; i < 60; i++) {
      w.writePacket(packets[i % packets.length]!);
      const onDisk = readFileSync(path);
      const pages = parseOggPages(onDisk); // throws on a torn page
      const flushed = pages.slice(2).reduce((n, p) => n + p.segments.filter((s) => s < 255).length, 0);
      expect(i + 1 - flushed).toBeLessThanOrEqual(25);
      expect(pages.some((p) => p.flags & 0x04)).toBe(false);
    }
    // An un-ended file (as after kill -9) still decodes cleanly.
    const { pcm, stderr } = ffmpegDecode(path);
    expect(stderr).toBe('');
    expect(pcm.length).toBeGreaterThanOrEqual(50 * FRAME - 312);
    w.end();
  });
});
