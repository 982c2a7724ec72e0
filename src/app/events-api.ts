/**
 * `Mediabot.events`: every live event of a mediabot (the bus's signaling and media events with
 * Graph call ids, and the call service's speaker mapping and artifacts), typed. Listen to all of
 * them, to one type, or wait for the next one that matches.
 */
import { MediabotError } from '../errors.js';
import { LiveEvents, type LiveEvent } from '../events/live.js';

export type LiveEventType = LiveEvent['type'];
type Narrow<E, T> = E extends { type: infer U } ? (T extends U ? E & { type: T } : never) : never;
/** The event of one type, e.g. `LiveEventOf<'transcript.final'>` (also for members that share a variant, like transcript.partial/final). */
export type LiveEventOf<T extends LiveEventType> = Narrow<LiveEvent, T>;

export class MediabotEvents extends LiveEvents {
  /** Every event (no argument but the listener), or the events of one type. Returns the unsubscribe function. */
  override on(listener: (e: LiveEvent) => void): () => void;
  override on<T extends LiveEventType>(type: T, listener: (e: LiveEventOf<T>) => void): () => void;
  override on<T extends LiveEventType>(a: T | ((e: LiveEvent) => void), b?: (e: LiveEventOf<T>) => void): () => void {
    if (typeof a === 'function') return super.on(a);
    const listener = b!;
    return super.on((e) => {
      if (e.type === a) listener(e as LiveEventOf<T>);
    });
  }

  /**
   * The next event of `type` for which `match` (when given) is true. Rejects with
   * MEDIABOT_OPERATION_TIMEOUT after `timeoutMs` (default 30 s); a pending wait never keeps the process alive.
   */
  next<T extends LiveEventType>(type: T, match: (e: LiveEventOf<T>) => boolean = () => true, timeoutMs = 30_000): Promise<LiveEventOf<T>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new MediabotError('MEDIABOT_OPERATION_TIMEOUT', `no ${type} event within ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref();
      const off = this.on(type, (e) => {
        if (!match(e)) return;
        clearTimeout(timer);
        off();
        resolve(e);
      });
    });
  }
}
