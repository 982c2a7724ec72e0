/**
 * A crash-safe WAV (RIFF, PCM 16-bit mono) writer.
 *
 * The 44-byte header is written at open with zero sizes, so even an empty file is
 * valid. Samples are buffered and appended with one synchronous write per flush
 * (every `flushEveryMs` of audio); right after each append the RIFF and data size
 * fields are rewritten in place. Data is written before the sizes, so the header
 * never claims bytes that are not on disk: a killed process leaves a file whose
 * header is exact up to the last flush.
 */
import { wavHeader, WAV_HEADER_BYTES as HEADER_BYTES } from '../../wire/wav.js';
import { endianness } from 'node:os';
import { MediabotError } from '../../../errors.js';
import { RecordingFile, type RecordingFileOptions } from './recording-file.js';

export type WavSampleRate = 16_000 | 48_000;

export interface WavWriterOptions extends RecordingFileOptions {
  sampleRate: WavSampleRate;
  /** Append buffered samples once this much audio is buffered. Default 500 ms. */
  flushEveryMs?: number;
  /** fdatasync after a flush once this much audio passed since the last sync. 0 = never (default). */
  syncEveryMs?: number;
}


/** RIFF sizes are 32-bit: the data chunk can hold at most this many bytes. */
const MAX_DATA_BYTES = 0xffff_ffff - 36;

export class WavWriter {
  readonly sampleRate: WavSampleRate;
  private readonly file: RecordingFile;
  private readonly buf: Int16Array;
  private readonly bufBytes: Uint8Array;
  private buffered = 0;
  private flushedSamples = 0;
  private readonly syncEverySamples: number;
  private lastSyncSamples = 0;
  private readonly sizes = new Uint8Array(4);
  private readonly sizesView = new DataView(this.sizes.buffer);

  /** Opens `path` (never overwriting an existing file) and writes the header. */
  constructor(path: string, opts: WavWriterOptions) {
    if (opts.sampleRate !== 16_000 && opts.sampleRate !== 48_000) {
      throw new MediabotError('MEDIABOT_RECORDING_INVALID', `WAV sample rate must be 16000 or 48000, got ${String(opts.sampleRate)}`);
    }
    const flushEveryMs = opts.flushEveryMs ?? 500;
    if (!Number.isFinite(flushEveryMs) || flushEveryMs < 20 || flushEveryMs > 10_000) {
      throw new MediabotError('MEDIABOT_RECORDING_INVALID', `flushEveryMs must be 20..10000, got ${flushEveryMs}`);
    }
    const syncEveryMs = opts.syncEveryMs ?? 0;
    if (!Number.isFinite(syncEveryMs) || syncEveryMs < 0) {
      throw new MediabotError('MEDIABOT_RECORDING_INVALID', `syncEveryMs must be >= 0, got ${syncEveryMs}`);
    }
    if (endianness() !== 'LE') {
      // Int16Array bytes are host-endian and WAV is little-endian.
      throw new MediabotError('MEDIABOT_RECORDING_FAILED', 'The WAV writer needs a little-endian host');
    }
    this.sampleRate = opts.sampleRate;
    this.buf = new Int16Array(Math.round((opts.sampleRate * flushEveryMs) / 1000));
    this.bufBytes = new Uint8Array(this.buf.buffer);
    this.syncEverySamples = Math.round((opts.sampleRate * syncEveryMs) / 1000);
    this.file = new RecordingFile(path, opts);
    try {
      this.file.append(wavHeader(opts.sampleRate, 0));
    } catch (err) {
      this.file.close();
      throw err;
    }
  }

  get path(): string {
    return this.file.path;
  }

  /** Samples accepted so far (buffered included). */
  get samples(): number {
    return this.flushedSamples + this.buffered;
  }

  /** Bytes on disk so far. */
  get bytes(): number {
    return this.file.bytes;
  }

  get closed(): boolean {
    return this.file.closed;
  }

  /** The error that stopped the file (failed open or write), or null. */
  get error(): Error | null {
    return this.file.error;
  }

  /** Resolves once the file is fully written and closed. */
  whenClosed(): Promise<void> {
    return this.file.whenClosed();
  }

  /** Buffers `pcm` (copied). Flushes whenever the buffer fills. */
  write(pcm: Int16Array): void {
    let off = 0;
    while (off < pcm.length) {
      const n = Math.min(pcm.length - off, this.buf.length - this.buffered);
      this.buf.set(pcm.subarray(off, off + n), this.buffered);
      this.buffered += n;
      off += n;
      if (this.buffered === this.buf.length) this.flush();
    }
  }

  /** Appends `count` zero samples (a gap). */
  writeSilence(count: number): void {
    let left = count;
    while (left > 0) {
      const n = Math.min(left, this.buf.length - this.buffered);
      this.buf.fill(0, this.buffered, this.buffered + n);
      this.buffered += n;
      left -= n;
      if (this.buffered === this.buf.length) this.flush();
    }
  }

  /** Appends the buffered samples, then updates the size fields. */
  flush(): void {
    if (this.buffered === 0 || this.file.closed) return;
    const dataBytes = (this.flushedSamples + this.buffered) * 2;
    if (dataBytes > MAX_DATA_BYTES) {
      throw new MediabotError('MEDIABOT_RECORDING_FAILED', `${this.file.path} reached the 4 GiB WAV size limit`);
    }
    this.file.append(this.bufBytes.subarray(0, this.buffered * 2));
    this.flushedSamples += this.buffered;
    this.buffered = 0;
    this.writeSizes(dataBytes);
    if (this.syncEverySamples > 0 && this.flushedSamples - this.lastSyncSamples >= this.syncEverySamples) {
      this.lastSyncSamples = this.flushedSamples;
      this.file.sync();
    }
  }

  /** Flushes (fdatasync if `syncEveryMs` is set) and closes. Idempotent. */
  close(): void {
    if (this.file.closed) return;
    try {
      this.flush();
      if (this.syncEverySamples > 0) this.file.sync();
    } finally {
      this.file.close();
    }
  }

  private writeSizes(dataBytes: number): void {
    this.sizesView.setUint32(0, 36 + dataBytes, true);
    this.file.writeAt(this.sizes, 4);
    this.sizesView.setUint32(0, dataBytes, true);
    this.file.writeAt(this.sizes, 40);
  }
}
