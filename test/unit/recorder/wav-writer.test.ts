import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WavWriter } from '../../../src/media/hooks/recorder/wav-writer.js';
import { wavHeader } from '../../../src/media/wire/wav.js';
import { ffmpegDecode, speech48k } from '../../fixtures/recorder/speech.js';

let dir: string;
let speech: Int16Array;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'wav-writer-'));
  speech = speech48k('Every word spoken here must come back from the file.');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function soxDuration(path: string): { samples: number; stderr: string } {
  const r = spawnSync('soxi', ['-s', path]);
  return { samples: Number(r.stdout.toString().trim()), stderr: r.stderr.toString() };
}

function ffprobeDuration(path: string): number {
  const r = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', path]);
  expect(r.stderr.toString()).toBe('');
  return Number(r.stdout.toString().trim());
}

function downsample16k(pcm: Int16Array): Int16Array {
  // Any 16 kHz signal will do for the container test; take every third sample.
  const out = new Int16Array(Math.floor(pcm.length / 3));
  for (let i = 0; i < out.length; i++) out[i] = pcm[i * 3]!;
  return out;
}

describe('WavWriter', () => {
  for (const rate of [48_000, 16_000] as const) {
    it(`writes ${rate} Hz mono int16 that sox and ffprobe read with the right duration and exact samples`, () => {
      const pcm = rate === 48_000 ? speech : downsample16k(speech);
      const frame = rate / 50;
      const path = join(dir, `speech-${rate}.wav`);
      const w = new WavWriter(path, { sampleRate: rate });
      for (let off = 0; off + frame <= pcm.length; off += frame) w.write(pcm.subarray(off, off + frame));
      const written = Math.floor(pcm.length / frame) * frame;
      expect(w.samples).toBe(written);
      w.close();
      w.close(); // idempotent
      const sox = soxDuration(path);
      expect(sox.stderr).toBe('');
      expect(sox.samples).toBe(written);
      expect(Math.abs(ffprobeDuration(path) - written / rate)).toBeLessThan(0.001);
      const { pcm: back, stderr } = ffmpegDecode(path, rate);
      expect(stderr).toBe('');
      expect(Buffer.from(back.buffer, back.byteOffset, back.byteLength).equals(Buffer.from(pcm.buffer, pcm.byteOffset, written * 2))).toBe(true);
      expect(statSync(path).size).toBe(44 + written * 2);
    });
  }

  it('keeps the header sizes exact at every flush, so a killed writer leaves a readable file', () => {
    const path = join(dir, 'unclosed.wav');
    const w = new WavWriter(path, { sampleRate: 16_000, flushEveryMs: 100 });
    // Even before any audio, the file is a valid empty WAV.
    expect(soxDuration(path).samples).toBe(0);
    const frame = new Int16Array(320).fill(1234);
    for (let i = 1; i <= 40; i++) {
      w.write(frame);
      const bytes = readFileSync(path);
      const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const dataBytes = v.getUint32(40, true);
      expect(v.getUint32(4, true)).toBe(36 + dataBytes);
      expect(bytes.length).toBe(44 + dataBytes); // header agrees with the bytes on disk
      expect(i * 320 - dataBytes / 2).toBeLessThanOrEqual(1600); // at most 100 ms unflushed
    }
    // Not closed (like after kill -9): 40 frames of 20 ms were flushed in 100 ms blocks.
    expect(soxDuration(path).samples).toBe(40 * 320);
    expect(Math.abs(ffprobeDuration(path) - 0.8)).toBeLessThan(0.001);
    w.close();
  });

  it('pads gaps with zeros', () => {
    const path = join(dir, 'gap.wav');
    const w = new WavWriter(path, { sampleRate: 16_000 });
    w.write(new Int16Array(320).fill(1000));
    w.writeSilence(16_000);
    w.write(new Int16Array(320).fill(-1000));
    w.close();
    const { pcm } = ffmpegDecode(path, 16_000);
    expect(pcm.length).toBe(16_640);
    expect(pcm[0]).toBe(1000);
    expect(pcm.subarray(320, 16_320).every((x) => x === 0)).toBe(true);
    expect(pcm[16_320]).toBe(-1000);
  });

  it('rejects bad options with a typed error and never overwrites a file', () => {
    const bad = [{ sampleRate: 44_100 }, { sampleRate: 16_000, flushEveryMs: 5 }, { sampleRate: 16_000, syncEveryMs: -1 }];
    for (const opts of bad) {
      expect(() => new WavWriter(join(dir, 'bad.wav'), opts as never)).toThrow(expect.objectContaining({ code: 'MEDIABOT_RECORDING_INVALID' }));
    }
    expect(() => statSync(join(dir, 'bad.wav'))).toThrow(); // nothing was created
    const path = join(dir, 'speech-48000.wav');
    const before = readFileSync(path);
    expect(() => new WavWriter(path, { sampleRate: 48_000 })).toThrow(/EEXIST/);
    expect(readFileSync(path).equals(before)).toBe(true);
  });

  it('builds the canonical 44-byte header', () => {
    const h = wavHeader(48_000, 1920);
    const v = new DataView(h.buffer);
    expect(Buffer.from(h.subarray(0, 4)).toString()).toBe('RIFF');
    expect(v.getUint32(4, true)).toBe(1956);
    expect(Buffer.from(h.subarray(8, 16)).toString()).toBe('WAVEfmt ');
    expect(v.getUint16(20, true)).toBe(1);
    expect(v.getUint16(22, true)).toBe(1);
    expect(v.getUint32(24, true)).toBe(48_000);
    expect(v.getUint32(28, true)).toBe(96_000);
    expect(v.getUint16(34, true)).toBe(16);
    expect(v.getUint32(40, true)).toBe(1920);
  });
});
