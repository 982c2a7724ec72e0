import { FRAME_MS } from './frame.js';

export interface ClockStats {
  ticks: number;
  /** Ticks that ran more than `lateThresholdMs` after their scheduled time. */
  lateTicks: number;
  /** Ticks skipped after a stall longer than `maxCatchUpTicks` frames. */
  skippedTicks: number;
  /** Lateness of the last tick, ms. */
  lastLatenessMs: number;
  maxLatenessMs: number;
}

export interface MediaClockOptions {
  periodMs?: number;
  lateThresholdMs?: number;
  /** After a stall, at most this many ticks (default 25 = 500 ms) are run back to back to catch up, so a short stall loses no audio; the rest are skipped. */
  maxCatchUpTicks?: number;
  now?: () => number;
}

/**
 * A tick may run this much before its time. Media time counts ticks, not the wall clock, so running
 * a tick a millisecond early changes nothing downstream, while waiting for the exact time would take
 * a second timer wake-up whenever the first comes early. On a loaded machine each wake-up of a
 * sleeping thread can wait a whole scheduler slice, and a media thread whose sockets are read at the
 * tick (batched I/O) sleeps between ticks, so one wake-up per tick is what keeps it on time.
 */
export const EARLY_MS = 1;

/**
 * A drift-corrected periodic clock: tick n is scheduled at start + n × period
 * (never "now + period"), so timer jitter does not accumulate. Each tick is
 * told how late it runs. One clock per media thread; every call on the thread
 * ticks from it.
 */
export class MediaClock {
  readonly stats: ClockStats = { ticks: 0, lateTicks: 0, skippedTicks: 0, lastLatenessMs: 0, maxLatenessMs: 0 };
  private readonly periodMs: number;
  private readonly lateThresholdMs: number;
  private readonly maxCatchUp: number;
  private readonly now: () => number;
  private startMs = 0;
  private n = 0;
  private timer: NodeJS.Timeout | null = null;
  private running = false;

  constructor(
    private readonly onTick: (tick: number, latenessMs: number) => void,
    opts: MediaClockOptions = {},
  ) {
    this.periodMs = opts.periodMs ?? FRAME_MS;
    this.lateThresholdMs = opts.lateThresholdMs ?? 5;
    this.maxCatchUp = opts.maxCatchUpTicks ?? 25;
    this.now = opts.now ?? (() => performance.now());
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.startMs = this.now();
    this.n = 0;
    this.schedule();
  }

  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  get isRunning(): boolean {
    return this.running;
  }

  private schedule(): void {
    if (!this.running) return;
    const due = this.startMs + this.n * this.periodMs;
    const wait = due - this.now();
    // Node timers fire at 1 ms granularity; aim early, a tick that early runs (see EARLY_MS).
    this.timer = setTimeout(this.fire, wait > EARLY_MS ? wait - EARLY_MS : 0);
  }

  private readonly fire = (): void => {
    let caughtUp = 0;
    for (;;) {
      if (!this.running) return;
      const due = this.startMs + this.n * this.periodMs;
      const now = this.now();
      if (now < due - EARLY_MS) break;
      const lateness = now > due ? now - due : 0;
      if (caughtUp >= this.maxCatchUp) {
        // A long stall: skip the missed ticks rather than bursting through them.
        const missed = Math.floor(lateness / this.periodMs);
        this.stats.skippedTicks += missed;
        this.n += missed;
        if (missed === 0) break;
        continue;
      }
      this.stats.ticks++;
      this.stats.lastLatenessMs = lateness;
      if (lateness > this.stats.maxLatenessMs) this.stats.maxLatenessMs = lateness;
      if (lateness > this.lateThresholdMs) this.stats.lateTicks++;
      this.onTick(this.n, lateness);
      this.n++;
      caughtUp++;
    }
    this.schedule();
  };
}
