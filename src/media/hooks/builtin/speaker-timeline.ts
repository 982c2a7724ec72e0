import { FRAME_MS } from '../../core/frame.js';
import type { HookContext, InlineHook, TickFrame } from '../api.js';

export interface TimelineSegment {
  sourceId: string;
  startMs: number;
  endMs: number;
}

export interface SpeakerTimelineOptions {
  /** A challenger must lead (or talk while the dominant speaker is silent) this long before taking over. Default 300 ms. */
  holdMs?: number;
  /** How much louder (dB) a challenger must be while the dominant speaker still talks. Default 6 dB. */
  marginDb?: number;
  /** After this long with nobody talking the dominant speaker becomes null. Default 800 ms. */
  releaseMs?: number;
  /** Called once at stop with the finished timeline (e.g. to store it). */
  onStop?: (timeline: TimelineSegment[]) => void;
}

export interface SpeakerTimelineHook extends InlineHook {
  readonly dominant: string | null;
  /** Closed segments plus the open one up to the last tick. Segments never overlap. */
  timeline(): TimelineSegment[];
  toJSON(): { callId: string | null; segments: TimelineSegment[] };
}

/**
 * The dominant speaker, with hysteresis, and a timeline of who held the floor.
 *
 * Each tick the candidate is the loudest talking source (by the frame level in
 * dBov). A candidate other than the current dominant speaker D takes over when,
 * continuously for `holdMs`, it talks and either D is not talking or it is at
 * least `marginDb` louder than D. The switch is decided at the end of the
 * hold (that is when `speaker.dominant` is emitted, with that media time), but
 * the timeline dates the boundary back to when the lead began. When nobody
 * talks for `releaseMs`, D becomes null and D's segment ends where the
 * silence began. Short loud blips and brief pauses therefore do not flap.
 */
export function createSpeakerTimelineHook(opts: SpeakerTimelineOptions = {}): SpeakerTimelineHook {
  const holdMs = opts.holdMs ?? 300;
  const marginDb = opts.marginDb ?? 6;
  const releaseMs = opts.releaseMs ?? 800;
  const segments: TimelineSegment[] = [];
  let dominant: string | null = null;
  let segStart = 0;
  let pending: string | null = null;
  let pendingSince = 0;
  let silentSince: number | null = null;
  let lastEndMs = 0;
  let callId: string | null = null;

  const switchTo = (next: string | null, boundaryMs: number, decidedMs: number, ctx: HookContext): void => {
    const previous = dominant;
    if (previous !== null && boundaryMs > segStart) segments.push({ sourceId: previous, startMs: segStart, endMs: boundaryMs });
    dominant = next;
    segStart = boundaryMs;
    ctx.emit({ type: 'speaker.dominant', callId: ctx.callId, sourceId: next, previous, mediaTimeMs: decidedMs });
  };

  const hook: SpeakerTimelineHook = {
    name: 'speaker-timeline',
    budgetUs: 200,
    get dominant() {
      return dominant;
    },
    start(ctx) {
      callId = ctx.callId;
    },
    onFrame(frame: TickFrame, ctx: HookContext): void {
      const t = frame.mediaTimeMs;
      lastEndMs = t + FRAME_MS;
      let best: string | null = null;
      let bestLevel = -Infinity;
      let domTalking = false;
      let domLevel = -Infinity;
      for (let i = 0; i < frame.sources.length; i++) {
        const s = frame.sources[i]!;
        if (!s.talking) continue;
        if (s.sourceId === dominant) {
          domTalking = true;
          domLevel = s.levelDbov;
        }
        // Ties go to the current dominant speaker.
        if (s.levelDbov > bestLevel || (s.levelDbov === bestLevel && s.sourceId === dominant)) {
          best = s.sourceId;
          bestLevel = s.levelDbov;
        }
      }

      if (best === null) {
        pending = null;
        if (dominant !== null) {
          silentSince ??= t;
          if (t - silentSince >= releaseMs) switchTo(null, silentSince, t, ctx);
        }
        return;
      }
      silentSince = null;

      const challenges = best !== dominant && (!domTalking || bestLevel >= domLevel + marginDb);
      if (!challenges) {
        pending = null;
        return;
      }
      if (pending !== best) {
        pending = best;
        pendingSince = t;
      }
      if (t - pendingSince >= holdMs) {
        pending = null;
        switchTo(best, pendingSince, t, ctx);
      }
    },
    stop(): void {
      opts.onStop?.(hook.timeline());
    },
    timeline(): TimelineSegment[] {
      const out = segments.map((s) => ({ ...s }));
      if (dominant !== null) {
        const end = silentSince ?? lastEndMs;
        if (end > segStart) out.push({ sourceId: dominant, startMs: segStart, endMs: end });
      }
      return out;
    },
    toJSON() {
      return { callId, segments: hook.timeline() };
    },
  };
  return hook;
}
