import type { AsyncHookItem, CopiedSourceFrame, TickFrame } from './api.js';

/** The frame variant of AsyncHookItem, pooled by the queue. */
type FrameItem = Extract<AsyncHookItem, { kind: 'frame' }>;

/**
 * The bounded queue in front of one async hook.
 *
 * - A preallocated ring of `capacity` slots; on overflow the oldest item is
 *   dropped (and counted), never the newest, so a slow hook sees recent audio.
 * - Frame items are copies of the tick's 16 kHz taps. Their buffers (and the
 *   item objects themselves) come from a pool and go back to it when the
 *   consumer asks for the next item, or when the item is dropped. So in steady
 *   state the tick allocates nothing for a hook. The consequence, documented
 *   in docs/hooks.md: a hook must copy what it keeps past its next `next()`.
 * - `push*` never blocks and never awaits: the tick only enqueues.
 */
export class HookQueue implements AsyncIterable<AsyncHookItem> {
  private readonly ring: Array<AsyncHookItem | undefined>;
  private head = 0;
  private count = 0;
  private closed = false;
  private iterated = false;
  /** The consumer's pending `next()`, when it waits on an empty queue. */
  private waiter: ((r: IteratorResult<AsyncHookItem>) => void) | null = null;
  /** The item last handed to the consumer; recycled on its next `next()`. */
  private lent: AsyncHookItem | null = null;
  private readonly framePool: FrameItem[] = [];

  dropped = 0;
  delivered = 0;

  constructor(
    readonly capacity: number,
    private readonly callId: string,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`queue capacity must be a positive integer, got ${capacity}`);
    this.ring = new Array<AsyncHookItem | undefined>(capacity).fill(undefined);
  }

  get size(): number {
    return this.count;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Copies the tick's speech taps into a pooled item and enqueues it. */
  pushFrame(frame: TickFrame): void {
    if (this.closed) return;
    const item = this.framePool.pop() ?? { kind: 'frame', callId: this.callId, tick: 0, mediaTimeMs: 0, sources: [], mix16: new Int16Array(frame.mix16.length) };
    item.tick = frame.tick;
    item.mediaTimeMs = frame.mediaTimeMs;
    item.mix16 = copyInto(item.mix16, frame.mix16);
    const n = frame.sources.length;
    const out = item.sources;
    for (let i = 0; i < n; i++) {
      const src = frame.sources[i]!;
      let dst: CopiedSourceFrame | undefined = out[i];
      if (dst === undefined) {
        dst = { sourceId: src.sourceId, pcm16: new Int16Array(src.pcm16.length), origin: src.origin, talking: src.talking, levelDbov: src.levelDbov };
        out.push(dst);
      }
      dst.sourceId = src.sourceId;
      dst.pcm16 = copyInto(dst.pcm16, src.pcm16);
      dst.origin = src.origin;
      dst.talking = src.talking;
      dst.levelDbov = src.levelDbov;
    }
    // Keeps the surplus CopiedSourceFrame objects out of view but does not free them.
    if (out.length > n) out.length = n;
    this.push(item);
  }

  push(item: AsyncHookItem): void {
    if (this.closed) {
      this.recycle(item);
      return;
    }
    if (this.waiter !== null) {
      const w = this.waiter;
      this.waiter = null;
      this.lend(item);
      w({ value: item, done: false });
      return;
    }
    if (this.count === this.capacity) {
      const oldest = this.ring[this.head]!;
      this.ring[this.head] = undefined;
      this.head = (this.head + 1) % this.capacity;
      this.count--;
      this.dropped++;
      this.recycle(oldest);
    }
    this.ring[(this.head + this.count) % this.capacity] = item;
    this.count++;
  }

  /** Ends the iterable once the queued items are consumed. */
  close(): void {
    this.closed = true;
    if (this.waiter !== null && this.count === 0) {
      const w = this.waiter;
      this.waiter = null;
      w({ value: undefined, done: true });
    }
  }

  /** Drops everything queued (used when the hook has finished or failed). */
  discard(): void {
    while (this.count > 0) {
      const it = this.ring[this.head]!;
      this.ring[this.head] = undefined;
      this.head = (this.head + 1) % this.capacity;
      this.count--;
      this.recycle(it);
    }
    this.close();
  }

  [Symbol.asyncIterator](): AsyncIterator<AsyncHookItem> {
    if (this.iterated) throw new Error('a hook queue can be iterated only once');
    this.iterated = true;
    return {
      next: () => this.next(),
      return: () => {
        this.discard();
        this.returnLent();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }

  private next(): Promise<IteratorResult<AsyncHookItem>> {
    this.returnLent();
    if (this.count > 0) {
      const item = this.ring[this.head]!;
      this.ring[this.head] = undefined;
      this.head = (this.head + 1) % this.capacity;
      this.count--;
      this.lend(item);
      return Promise.resolve({ value: item, done: false });
    }
    if (this.closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  private lend(item: AsyncHookItem): void {
    this.delivered++;
    this.lent = item;
  }

  private returnLent(): void {
    if (this.lent !== null) {
      this.recycle(this.lent);
      this.lent = null;
    }
  }

  private recycle(item: AsyncHookItem): void {
    // Bounded: at most capacity + 2 frame items ever exist per queue.
    if (item.kind === 'frame' && this.framePool.length <= this.capacity + 1) this.framePool.push(item);
  }
}

/** Copies `src` into `dst`, reallocating only when the lengths differ. */
function copyInto(dst: Int16Array, src: Int16Array): Int16Array {
  if (dst.length !== src.length) return Int16Array.from(src);
  dst.set(src);
  return dst;
}
