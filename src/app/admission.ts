/**
 * Whether this instance takes another call: not while it drains (a SIGTERM, `Mediabot.drain()`),
 * and not beyond MEDIABOT_MAX_CALLS live calls. Outbound calls (join, place) are refused with
 * MEDIABOT_DRAINING or MEDIABOT_AT_CAPACITY (HTTP 503); incoming calls are rejected through Graph
 * so they do not ring on an instance that will not answer; /readyz reports both.
 */
import { MediabotError } from '../errors.js';

export interface AdmissionOptions {
  /** Calls this instance takes at most (undefined: no cap). */
  maxCalls: number | undefined;
  /** How many calls are live now (not terminated). */
  liveCalls: () => number;
}

export class Admission {
  private drainingSince: number | null = null;
  /** Outbound calls admitted whose join or place has not returned yet (not in liveCalls yet). */
  private pending = 0;

  constructor(private readonly o: AdmissionOptions) {}

  get draining(): boolean {
    return this.drainingSince !== null;
  }

  startDraining(): void {
    this.drainingSince ??= Date.now();
  }

  /** Live calls plus the ones being placed. */
  load(): number {
    return this.o.liveCalls() + this.pending;
  }

  atCapacity(): boolean {
    return this.o.maxCalls !== undefined && this.load() >= this.o.maxCalls;
  }

  /** True when an incoming call may be answered (the policy decides the rest). */
  acceptsIncoming(): boolean {
    return !this.draining && !this.atCapacity();
  }

  /** Throws MEDIABOT_DRAINING or MEDIABOT_AT_CAPACITY; otherwise counts the call as pending until `release` is called. */
  acquire(): () => void {
    if (this.draining) throw new MediabotError('MEDIABOT_DRAINING', 'this instance is shutting down and takes no new calls; place the call on another instance');
    if (this.atCapacity()) throw new MediabotError('MEDIABOT_AT_CAPACITY', `this instance already has ${this.load()} calls (MEDIABOT_MAX_CALLS=${this.o.maxCalls})`);
    this.pending++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.pending--;
    };
  }

  /** Runs `place` as one admitted outbound call. */
  async admit<T>(place: () => Promise<T>): Promise<T> {
    const release = this.acquire();
    try {
      return await place();
    } finally {
      release();
    }
  }
}
