import { closeSync, fdatasyncSync, openSync, writeSync } from 'node:fs';
import { MediabotError } from '../../../errors.js';

/**
 * A file written with synchronous syscalls. Once `write` returns, the bytes are in
 * the OS page cache, which survives the process being killed (kill -9); only a
 * power loss or kernel crash can lose them, and `sync()` (fdatasync) covers that.
 */
export class SyncFile {
  readonly path: string;
  private fd: number | null;
  private written = 0;

  /** Opens `path` for writing. With `exclusive` an existing file is an error (EEXIST), never overwritten. */
  constructor(path: string, exclusive = true) {
    this.path = path;
    this.fd = openSync(path, exclusive ? 'wx' : 'w', 0o644);
  }

  /** Bytes appended so far (the file size, as far as this writer knows). */
  get bytes(): number {
    return this.written;
  }

  get closed(): boolean {
    return this.fd === null;
  }

  /** Appends all of `bytes` (looping over short writes). */
  append(bytes: Uint8Array): void {
    const fd = this.requireFd();
    let off = 0;
    while (off < bytes.length) {
      off += writeSync(fd, bytes, off, bytes.length - off, this.written + off);
    }
    this.written += bytes.length;
  }

  /** Overwrites bytes at `position` (must lie inside what was already appended). */
  writeAt(bytes: Uint8Array, position: number): void {
    const fd = this.requireFd();
    if (position < 0 || position + bytes.length > this.written) {
      throw new MediabotError('MEDIABOT_RECORDING_FAILED', `writeAt outside the written part of ${this.path}`);
    }
    let off = 0;
    while (off < bytes.length) {
      off += writeSync(fd, bytes, off, bytes.length - off, position + off);
    }
  }

  /** Forces the written data to stable storage (power-loss safety). Costs milliseconds on real disks. */
  sync(): void {
    fdatasyncSync(this.requireFd());
  }

  close(): void {
    if (this.fd === null) return;
    const fd = this.fd;
    this.fd = null;
    closeSync(fd);
  }

  private requireFd(): number {
    if (this.fd === null) {
      throw new MediabotError('MEDIABOT_RECORDING_FAILED', `The recording file ${this.path} is already closed`);
    }
    return this.fd;
  }
}
