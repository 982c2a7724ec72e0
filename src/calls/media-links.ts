/**
 * Media id ↔ Graph call id. The media threads name a call by its media id (a fresh UUID for calls
 * mediabot creates, the Graph id for answered ones, the stream id for ingress calls); the bus and
 * everything after it speak Graph call ids. Events that arrive before the link is known wait here.
 */
import type { EventBus, MediabotEvent } from '../events/bus.js';

/** Early events kept per unlinked media id, at most. */
const MAX_EARLY = 2000;

export class MediaLinks {
  /** media id → Graph call id, once known. */
  private readonly mediaToCall = new Map<string, string>();
  /** Media events that arrived before the Graph call id of their media was known. */
  private readonly early = new Map<string, MediabotEvent[]>();

  constructor(private readonly bus: EventBus) {}

  callIdOf(mediaId: string): string | undefined {
    return this.mediaToCall.get(mediaId);
  }

  has(mediaId: string): boolean {
    return this.mediaToCall.has(mediaId);
  }

  /** Feeds a media event from the media threads (callId = media id) into the bus with the Graph call id. */
  ingest(e: MediabotEvent): void {
    if (!('callId' in e)) return;
    const callId = this.mediaToCall.get(e.callId);
    if (callId === undefined) {
      const list = this.early.get(e.callId) ?? [];
      if (list.length < MAX_EARLY) list.push(e);
      this.early.set(e.callId, list);
      return;
    }
    this.bus.emit(callId === e.callId ? e : ({ ...e, callId } as MediabotEvent));
  }

  /** Links a media id to its call and replays the events that waited for it. */
  link(mediaId: string, callId: string): void {
    this.mediaToCall.set(mediaId, callId);
    const early = this.early.get(mediaId) ?? [];
    this.early.delete(mediaId);
    for (const e of early) this.ingest(e);
  }

  /** Drops what waited for a media id that will never be linked (its call was never created). */
  dropEarly(mediaId: string): void {
    this.early.delete(mediaId);
  }

  unlink(mediaId: string): void {
    this.mediaToCall.delete(mediaId);
  }
}
