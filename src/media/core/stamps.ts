import { native } from '../codec/native.js';

/**
 * Time stamps of a tick's stages, in microseconds, taken without allocating.
 *
 * `performance.now()` returns a fresh heap number on every call, and a tick
 * stamps five times; the native clock writes into this preallocated array
 * instead. Differences come out as whole microseconds (small integers), so
 * recording them in a histogram allocates nothing either. Without the native
 * kernels it falls back to `performance.now()`.
 */
// A native module built before stampUs existed lacks it: use the fallback then.
const stampUs = typeof native?.stampUs === 'function' ? native.stampUs : null;

export class TickStamps {
  readonly us: Float64Array;

  constructor(slots: number) {
    // At least 128 bytes: V8 keeps typed arrays of 64 bytes or less inside the JS heap, and
    // handing one of those to native code costs an allocation.
    this.us = new Float64Array(Math.max(slots, 16));
  }

  mark(slot: number): void {
    if (stampUs) stampUs(this.us, slot);
    else this.us[slot] = performance.now() * 1000;
  }

  /** Marks `slot` with the time already in `from` (a stage that did not run). */
  copy(slot: number, from: number): void {
    this.us[slot] = this.us[from]!;
  }

  /** Whole microseconds from mark `a` to mark `b`. */
  between(a: number, b: number): number {
    return (this.us[b]! - this.us[a]!) | 0;
  }
}
