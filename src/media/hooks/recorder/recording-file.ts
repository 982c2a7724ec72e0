import { close, closeSync, fdatasync, mkdir, open, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { MediabotError } from '../../../errors.js';

export interface RecordingFileOptions {
  /**
   * Open without blocking: creating a file costs 0.3-0.6 ms on ext4 (the journal),
   * too much for a 20 ms tick, so the open (and the parent folder's mkdir) runs
   * on the libuv pool and the bytes appended meanwhile wait in memory; they are
   * written as soon as the open completes (between ticks). Default false: open
   * synchronously, and throw at once if the file exists or cannot be created.
   */
  deferOpen?: boolean;
  /** Create the parent folder first (only with deferOpen; sync callers mkdir themselves). */
  mkdirParent?: boolean;
}

/**
 * An append-mostly file written with synchronous syscalls. Once `append` returns
 * (and the open has completed), the bytes are in the OS page cache, which
 * survives the process being killed (kill -9); only a power loss or kernel crash
 * can lose them, and `sync()` (fdatasync) covers that. It never overwrites an
 * existing file (`wx`).
 */
export class RecordingFile {
  readonly path: string;
  private fd: number | null = null;
  private opening: boolean;
  private closeRequested = false;
  private isClosed = false;
  private failure: Error | null = null;
  private written = 0;
  /** Bytes appended before a deferred open completed (the file's first `pendingLen` bytes). */
  private pending: Uint8Array | null = null;
  private pendingLen = 0;
  private syncsInFlight = 0;
  private readonly closedWaiters: Array<() => void> = [];

  constructor(path: string, opts: RecordingFileOptions = {}) {
    this.path = path;
    if (!opts.deferOpen) {
      this.opening = false;
      this.fd = openSync(path, 'wx', 0o644);
      return;
    }
    this.opening = true;
    this.pending = new Uint8Array(4096);
    const doOpen = (): void => {
      open(path, 'wx', 0o644, (err, fd) => {
        if (err) return this.fail(err);
        this.onOpened(fd);
      });
    };
    if (opts.mkdirParent) {
      mkdir(dirname(path), { recursive: true }, (err) => (err ? this.fail(err) : doOpen()));
    } else {
      doOpen();
    }
  }

  /** Bytes appended so far (on disk once the open has completed). */
  get bytes(): number {
    return this.written;
  }

  get closed(): boolean {
    return this.closeRequested;
  }

  /** The error that stopped this file (a failed deferred open or write), or null. */
  get error(): Error | null {
    return this.failure;
  }

  /** Appends all of `bytes` (looping over short writes). Throws MEDIABOT_RECORDING_FAILED once the file failed. */
  append(bytes: Uint8Array): void {
    this.check();
    if (this.fd === null) {
      this.ensurePending(this.pendingLen + bytes.length);
      this.pending!.set(bytes, this.pendingLen);
      this.pendingLen += bytes.length;
    } else {
      this.writeFully(this.fd, bytes, this.written);
    }
    this.written += bytes.length;
  }

  /** Overwrites bytes at `position` (must lie inside what was already appended). */
  writeAt(bytes: Uint8Array, position: number): void {
    this.check();
    if (position < 0 || position + bytes.length > this.written) {
      throw new MediabotError('MEDIABOT_RECORDING_FAILED', `writeAt outside the written part of ${this.path}`);
    }
    if (this.fd === null) this.pending!.set(bytes, position);
    else this.writeFully(this.fd, bytes, position);
  }

  /**
   * Asks the OS to put the data on stable storage (fdatasync) without blocking
   * the caller; a failure is kept and reported by the next append.
   */
  sync(): void {
    this.check();
    if (this.fd === null) return; // the open will write everything; the next sync covers it
    this.syncsInFlight++;
    fdatasync(this.fd, (err) => {
      this.syncsInFlight--;
      if (err && !this.failure) this.failure = err;
      this.maybeFinishClose();
    });
  }

  /** Closes once pending bytes are written and syncs are done. Idempotent. */
  close(): void {
    if (this.closeRequested) return;
    this.closeRequested = true;
    this.maybeFinishClose();
  }

  /** Resolves when the file is fully written and closed (or failed). */
  whenClosed(): Promise<void> {
    if (this.isClosed) return Promise.resolve();
    return new Promise((res) => this.closedWaiters.push(res));
  }

  private check(): void {
    if (this.failure) {
      throw new MediabotError('MEDIABOT_RECORDING_FAILED', `${this.path}: ${this.failure.message}`);
    }
    if (this.closeRequested) {
      throw new MediabotError('MEDIABOT_RECORDING_FAILED', `The recording file ${this.path} is already closed`);
    }
  }

  private onOpened(fd: number): void {
    this.opening = false;
    this.fd = fd;
    try {
      if (this.pendingLen > 0) this.writeFully(fd, this.pending!.subarray(0, this.pendingLen), 0);
    } catch (err) {
      this.fail(err as Error);
      return;
    }
    this.pending = null;
    this.pendingLen = 0;
    this.maybeFinishClose();
  }

  private fail(err: Error): void {
    this.opening = false;
    if (!this.failure) this.failure = err;
    this.pending = null;
    const fd = this.fd;
    this.fd = null;
    if (fd !== null) {
      try {
        closeSync(fd);
      } catch {
        // already failing
      }
    }
    this.finishClosed();
  }

  private maybeFinishClose(): void {
    if (!this.closeRequested || this.opening || this.syncsInFlight > 0 || this.isClosed) return;
    const fd = this.fd;
    this.fd = null;
    if (fd === null) return this.finishClosed();
    if (this.pending === null) {
      // Close synchronously when possible so the file is complete when close() returns.
      try {
        closeSync(fd);
      } catch (err) {
        if (!this.failure) this.failure = err as Error;
      }
      this.finishClosed();
    } else {
      close(fd, () => this.finishClosed());
    }
  }

  private finishClosed(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const w of this.closedWaiters.splice(0)) w();
  }

  private ensurePending(size: number): void {
    const cur = this.pending!;
    if (size <= cur.length) return;
    const grown = new Uint8Array(Math.max(size, cur.length * 2));
    grown.set(cur.subarray(0, this.pendingLen));
    this.pending = grown;
  }

  private writeFully(fd: number, bytes: Uint8Array, position: number): void {
    let off = 0;
    while (off < bytes.length) {
      off += writeSync(fd, bytes, off, bytes.length - off, position + off);
    }
  }
}
