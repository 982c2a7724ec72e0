import type { Logger } from '../../logger.js';
import { silentLogger } from '../../logger.js';
import { HookQueue } from './async-queue.js';
import { isAsyncHook, type AsyncHook, type Hook, type HookContext, type InlineHook, type MediaEvent, type TickFrame } from './api.js';

export const DEFAULT_BUDGET_US = 500;
export const DEFAULT_QUEUE_SIZE = 500;
/** An inline hook that throws this many ticks in a row is disabled. */
export const DEFAULT_MAX_CONSECUTIVE_ERRORS = 5;
export const DEFAULT_STOP_TIMEOUT_MS = 5_000;
/** At most one budget warning per hook per this many ms. */
const WARN_INTERVAL_MS = 5_000;
/** Samples kept per hook for the p99 figure. */
const TIMING_WINDOW = 1024;
/** Hooks emitting from within onEvent can chain; deeper chains are not fed back to hooks. */
const MAX_DISPATCH_DEPTH = 8;

export interface HookRunnerOptions {
  callId: string;
  hooks: readonly Hook[];
  /** Where the hooks' events (and hook.error reports) go: the store and the events WebSocket. */
  emit: (e: MediaEvent) => void;
  logger?: Logger;
  /** Monotonic clock in ns; process.hrtime.bigint by default. */
  now?: () => bigint;
  maxConsecutiveErrors?: number;
  stopTimeoutMs?: number;
  /** Start with the recording paused: hooks that keep media get no frames until it is resumed. */
  recordingPaused?: boolean;
}

export interface HookStats {
  name: string;
  kind: 'inline' | 'async';
  /** Inline: onFrame calls. Async: items taken by the hook. */
  calls: number;
  /** Inline: calls over the budget. Async: always 0. */
  overBudget: number;
  errors: number;
  /** Async: items dropped because the queue was full. Inline: 0. */
  dropped: number;
  /** Async: items waiting now. Inline: 0. */
  queued: number;
  /** Inline: slowest onFrame. Async: slowest enqueue (the copy made on the tick). In µs. */
  maxUs: number;
  /** Over the last 1024 calls/enqueues; absent before the first. */
  p99Us?: number;
  /** True once the hook was disabled (inline: too many errors; async: run() failed or ended). */
  disabled: boolean;
}

interface Slot {
  readonly name: string;
  readonly index: number;
  readonly ctx: HookContext;
  calls: number;
  overBudget: number;
  errors: number;
  consecutiveErrors: number;
  reportedError: boolean;
  disabled: boolean;
  maxUs: number;
  readonly timings: Float64Array;
  timingCount: number;
  lastWarnMs: number;
  /** The hook keeps or sends away audio: skipped while the recording is paused. */
  readonly keepsMedia: boolean;
}

interface InlineSlot extends Slot {
  readonly kind: 'inline';
  readonly hook: InlineHook;
  readonly budgetUs: number;
}

interface AsyncSlot extends Slot {
  readonly kind: 'async';
  readonly hook: AsyncHook;
  readonly queue: HookQueue;
  readonly wantsFrames: boolean;
  done: Promise<void>;
}

/**
 * Runs one call's hooks (see DESIGN.md "Hooks contract").
 *
 * `onTick` is called by the media core every 20 ms. It calls the inline hooks
 * with views, timing each against its budget, then only *enqueues* copies for
 * the async hooks, so no async hook can delay the tick. Every hook is
 * isolated: a throwing hook is counted and reported once as `hook.error`, an
 * inline hook failing `maxConsecutiveErrors` ticks in a row is disabled, and
 * the others carry on.
 *
 * Events a hook emits go out through `emit` and are also fed to the other
 * hooks (so the transcript hook sees the transcriber's `transcript.final`).
 */
export class HookRunner {
  readonly callId: string;
  private readonly inline: InlineSlot[] = [];
  private readonly async: AsyncSlot[] = [];
  private readonly emitOut: (e: MediaEvent) => void;
  private readonly logger: Logger;
  private readonly now: () => bigint;
  private readonly maxConsecutiveErrors: number;
  private readonly stopTimeoutMs: number;
  private stopped = false;
  private stopping: Promise<void> | null = null;
  private dispatchDepth = 0;
  private lastMediaTimeMs = 0;
  /** Media time of the next tick's frame: where a pause or resume takes effect. */
  private nextMediaTimeMs = 0;
  private recordingPaused = false;

  constructor(opts: HookRunnerOptions) {
    this.callId = opts.callId;
    this.emitOut = opts.emit;
    this.logger = opts.logger ?? silentLogger;
    this.now = opts.now ?? process.hrtime.bigint;
    this.maxConsecutiveErrors = opts.maxConsecutiveErrors ?? DEFAULT_MAX_CONSECUTIVE_ERRORS;
    this.stopTimeoutMs = opts.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS;

    opts.hooks.forEach((hook, index) => {
      if (hook === null || typeof hook !== 'object') {
        this.logger.warn({ callId: this.callId, index }, 'ignoring a hook that is not an object');
        return;
      }
      const name = typeof hook.name === 'string' && hook.name !== '' ? hook.name : `hook-${index}`;
      const ctx: HookContext = { callId: this.callId, emit: (e) => this.emitFrom(index, e) };
      const base = {
        name,
        index,
        ctx,
        calls: 0,
        overBudget: 0,
        errors: 0,
        consecutiveErrors: 0,
        reportedError: false,
        disabled: false,
        maxUs: 0,
        timings: new Float64Array(TIMING_WINDOW),
        timingCount: 0,
        lastWarnMs: -Infinity,
        keepsMedia: hook.keepsMedia === true,
      };
      if (isAsyncHook(hook)) {
        const size = positiveInt(hook.queueSize) ?? DEFAULT_QUEUE_SIZE;
        const slot: AsyncSlot = { ...base, kind: 'async', hook, queue: new HookQueue(size, this.callId), wantsFrames: hook.wantsFrames !== false, done: Promise.resolve() };
        this.async.push(slot);
      } else if (typeof (hook as InlineHook).onFrame === 'function') {
        const budgetUs = positiveNumber(hook.budgetUs) ?? DEFAULT_BUDGET_US;
        const slot: InlineSlot = { ...base, kind: 'inline', hook, budgetUs };
        this.inline.push(slot);
      } else {
        this.logger.warn({ callId: this.callId, hook: name }, 'ignoring a hook that has neither onFrame nor run');
      }
    });
    // Start only once every hook is registered, so events emitted at start reach them all.
    for (const slot of this.inline) {
      if (slot.hook.start === undefined) continue;
      try {
        slot.hook.start(slot.ctx);
      } catch (err) {
        this.fail(slot, err, 'start');
        slot.disabled = true;
      }
    }
    for (const slot of this.async) slot.done = this.startAsync(slot);
    if (opts.recordingPaused === true) this.setRecordingPaused(true);
  }

  /**
   * Pauses or resumes the call's recording and transcription: hooks marked `keepsMedia` get no
   * frames while paused, and every hook is told with a `recording.state` event (in order with the
   * frames queued for async hooks). Returns the media time of the first frame it applies to.
   */
  setRecordingPaused(paused: boolean): number {
    if (paused !== this.recordingPaused && !this.stopped) {
      this.recordingPaused = paused;
      this.dispatch({ type: 'recording.state', callId: this.callId, sourceId: null, state: paused ? 'paused' : 'recording', mediaTimeMs: this.nextMediaTimeMs }, -1);
    }
    return this.nextMediaTimeMs;
  }

  get isRecordingPaused(): boolean {
    return this.recordingPaused;
  }

  /** One tick: inline hooks with views, then copies enqueued for async hooks. Never throws. */
  onTick(frame: TickFrame): void {
    if (this.stopped) return;
    this.lastMediaTimeMs = frame.mediaTimeMs;
    this.nextMediaTimeMs = frame.mediaTimeMs + 20;
    const paused = this.recordingPaused;
    for (let i = 0; i < this.inline.length; i++) {
      const slot = this.inline[i]!;
      if (slot.disabled || (paused && slot.keepsMedia)) continue;
      const t0 = this.now();
      try {
        slot.hook.onFrame(frame, slot.ctx);
        slot.consecutiveErrors = 0;
      } catch (err) {
        this.fail(slot, err, 'onFrame');
        if (++slot.consecutiveErrors >= this.maxConsecutiveErrors) this.disable(slot, `${slot.consecutiveErrors} consecutive errors`);
      }
      const us = Number(this.now() - t0) / 1000;
      slot.calls++;
      record(slot, us);
      if (us > slot.budgetUs) {
        slot.overBudget++;
        this.warnBudget(slot, us);
      }
    }
    for (let i = 0; i < this.async.length; i++) {
      const slot = this.async[i]!;
      if (slot.disabled || !slot.wantsFrames || (paused && slot.keepsMedia)) continue;
      const t0 = this.now();
      slot.queue.pushFrame(frame);
      record(slot, Number(this.now() - t0) / 1000);
    }
  }

  /** A media event of the call (from the core or signaling), fed to every hook. Never throws. */
  onEvent(e: MediaEvent): void {
    if (this.stopped) return;
    this.dispatch(e, -1);
  }

  /** Ends the async iterables (queued items are still delivered), awaits the hooks with a timeout, then stops inline hooks. */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  stats(): { hooks: HookStats[] } {
    const all: Array<InlineSlot | AsyncSlot> = [...this.inline, ...this.async].sort((a, b) => a.index - b.index);
    return {
      hooks: all.map((s) => {
        const st: HookStats = {
          name: s.name,
          kind: s.kind,
          calls: s.kind === 'inline' ? s.calls : s.queue.delivered,
          overBudget: s.overBudget,
          errors: s.errors,
          dropped: s.kind === 'async' ? s.queue.dropped : 0,
          queued: s.kind === 'async' ? s.queue.size : 0,
          maxUs: round1(s.maxUs),
          disabled: s.disabled,
        };
        const p99 = percentile(s, 0.99);
        if (p99 !== undefined) st.p99Us = round1(p99);
        return st;
      }),
    };
  }

  private async doStop(): Promise<void> {
    for (const s of this.async) s.queue.close();
    await Promise.all(this.async.map((s) => this.withTimeout(s, s.done, positiveNumber(s.hook.stopTimeoutMs))));
    // Inline hooks stop after the async ones so they still see their last events.
    this.stopped = true;
    await Promise.all(
      this.inline.map(async (s) => {
        if (s.hook.stop === undefined) return;
        try {
          await this.withTimeout(s, Promise.resolve(s.hook.stop(s.ctx)));
        } catch (err) {
          this.fail(s, err, 'stop');
        }
      }),
    );
  }

  private withTimeout(slot: Slot, p: Promise<unknown>, timeoutMs = this.stopTimeoutMs): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.fail(slot, new Error(`did not finish within ${timeoutMs} ms of stop`), 'stop');
        resolve();
      }, timeoutMs);
      timer.unref?.();
      p.then(
        () => {
          clearTimeout(timer);
          resolve();
        },
        (err: unknown) => {
          clearTimeout(timer);
          this.fail(slot, err, 'stop');
          resolve();
        },
      );
    });
  }

  private startAsync(slot: AsyncSlot): Promise<void> {
    let p: Promise<void>;
    try {
      p = Promise.resolve(slot.hook.run(slot.queue, slot.ctx));
    } catch (err) {
      p = Promise.reject(err);
    }
    return p.then(
      () => {
        // A hook that returns early takes nothing more: stop copying for it.
        slot.disabled = true;
        slot.queue.discard();
      },
      (err: unknown) => {
        this.fail(slot, err, 'run');
        slot.disabled = true;
        slot.queue.discard();
      },
    );
  }

  private emitFrom(index: number, e: MediaEvent): void {
    if (this.stopped) {
      // Inline hooks flushing on stop may still emit: send out, but do not re-dispatch.
      this.safeEmitOut(e);
      return;
    }
    this.safeEmitOut(e);
    this.dispatch(e, index);
  }

  private safeEmitOut(e: MediaEvent): void {
    try {
      this.emitOut(e);
    } catch (err) {
      this.logger.error({ err, callId: this.callId, type: e.type }, 'event sink threw');
    }
  }

  /** Feeds an event to every hook but the one that emitted it. */
  private dispatch(e: MediaEvent, fromIndex: number): void {
    if (this.dispatchDepth >= MAX_DISPATCH_DEPTH) {
      this.logger.warn({ callId: this.callId, type: e.type }, 'hook event chain too deep; not fed back to hooks');
      return;
    }
    this.dispatchDepth++;
    try {
      for (const slot of this.inline) {
        if (slot.disabled || slot.index === fromIndex || slot.hook.onEvent === undefined) continue;
        try {
          slot.hook.onEvent(e, slot.ctx);
        } catch (err) {
          this.fail(slot, err, 'onEvent');
        }
      }
      for (const slot of this.async) {
        if (slot.disabled || slot.index === fromIndex) continue;
        slot.queue.push({ kind: 'event', event: e });
      }
    } finally {
      this.dispatchDepth--;
    }
  }

  /** Counts an error; the first one of a hook is reported as a hook.error event. */
  private fail(slot: Slot, err: unknown, where: string): void {
    slot.errors++;
    const message = `${where}: ${err instanceof Error ? err.message : String(err)}`;
    if (slot.reportedError) return;
    slot.reportedError = true;
    this.logger.warn({ err, callId: this.callId, hook: slot.name }, 'hook failed');
    this.safeEmitOut({ type: 'hook.error', callId: this.callId, sourceId: null, hook: slot.name, message, mediaTimeMs: this.lastMediaTimeMs });
  }

  private disable(slot: Slot, why: string): void {
    slot.disabled = true;
    this.logger.error({ callId: this.callId, hook: slot.name, why }, 'hook disabled');
    this.safeEmitOut({ type: 'hook.error', callId: this.callId, sourceId: null, hook: slot.name, message: `disabled: ${why}`, mediaTimeMs: this.lastMediaTimeMs });
  }

  private warnBudget(slot: InlineSlot, us: number): void {
    const nowMs = Number(this.now() / 1_000_000n);
    if (nowMs - slot.lastWarnMs < WARN_INTERVAL_MS) return;
    slot.lastWarnMs = nowMs;
    this.logger.warn({ callId: this.callId, hook: slot.name, us: round1(us), budgetUs: slot.budgetUs, overBudget: slot.overBudget }, 'inline hook over its time budget');
  }
}

function record(slot: Slot, us: number): void {
  if (us > slot.maxUs) slot.maxUs = us;
  slot.timings[slot.timingCount % TIMING_WINDOW] = us;
  slot.timingCount++;
}

function percentile(slot: Slot, q: number): number | undefined {
  const n = Math.min(slot.timingCount, TIMING_WINDOW);
  if (n === 0) return undefined;
  const sorted = slot.timings.slice(0, n).sort();
  return sorted[Math.min(n - 1, Math.ceil(q * n) - 1)];
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

function positiveInt(x: unknown): number | undefined {
  return typeof x === 'number' && Number.isInteger(x) && x > 0 ? x : undefined;
}

function positiveNumber(x: unknown): number | undefined {
  return typeof x === 'number' && Number.isFinite(x) && x > 0 ? x : undefined;
}
