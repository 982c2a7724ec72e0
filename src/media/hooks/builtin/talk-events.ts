import { FRAME_MS } from '../../core/frame.js';
import type { HookContext, InlineHook, MediaEvent, TickFrame } from '../api.js';

interface TalkState {
  readonly sourceId: string;
  talking: boolean;
  startMs: number;
  talkMs: number;
  lastTick: number;
}

export interface TalkEventsHook extends InlineHook {
  /** Total talk time per source so far (closed spells plus the open one up to the last tick). */
  talkTime(): Record<string, number>;
}

/**
 * Turns the core's per-frame `talking` flags into `talk.start` / `talk.stop`
 * events. A spell starts at the media time of its first talking frame and
 * stops at the media time of the first frame that is not talking (or when the
 * source leaves the call, or the call ends), so `durationMs` is a multiple of
 * 20 ms. Per tick it only walks the sources: no allocation in steady state.
 */
export function createTalkEventsHook(): TalkEventsHook {
  const byId = new Map<string, TalkState>();
  const states: TalkState[] = [];
  let lastTick = -1;
  let lastEndMs = 0;

  const stopSpell = (s: TalkState, atMs: number, ctx: HookContext): void => {
    s.talking = false;
    const durationMs = Math.max(0, atMs - s.startMs);
    s.talkMs += durationMs;
    ctx.emit({ type: 'talk.stop', callId: ctx.callId, sourceId: s.sourceId, mediaTimeMs: atMs, durationMs });
  };

  return {
    name: 'talk-events',
    budgetUs: 200,
    onFrame(frame: TickFrame, ctx: HookContext): void {
      lastTick = frame.tick;
      lastEndMs = frame.mediaTimeMs + FRAME_MS;
      for (let i = 0; i < frame.sources.length; i++) {
        const src = frame.sources[i]!;
        let s = byId.get(src.sourceId);
        if (s === undefined) {
          s = { sourceId: src.sourceId, talking: false, startMs: 0, talkMs: 0, lastTick: frame.tick };
          byId.set(src.sourceId, s);
          states.push(s);
        }
        s.lastTick = frame.tick;
        if (src.talking && !s.talking) {
          s.talking = true;
          s.startMs = frame.mediaTimeMs;
          ctx.emit({ type: 'talk.start', callId: ctx.callId, sourceId: s.sourceId, mediaTimeMs: frame.mediaTimeMs });
        } else if (!src.talking && s.talking) {
          stopSpell(s, frame.mediaTimeMs, ctx);
        }
      }
      // A source missing from this tick has left: close its spell.
      for (let i = 0; i < states.length; i++) {
        const s = states[i]!;
        if (s.talking && s.lastTick !== frame.tick) stopSpell(s, frame.mediaTimeMs, ctx);
      }
    },
    onEvent(e: MediaEvent, ctx: HookContext): void {
      if (e.type !== 'source.removed') return;
      const s = byId.get(e.sourceId);
      if (s?.talking === true) stopSpell(s, Math.max(e.mediaTimeMs, s.startMs), ctx);
    },
    stop(ctx: HookContext): void {
      for (const s of states) if (s.talking) stopSpell(s, lastEndMs, ctx);
    },
    talkTime(): Record<string, number> {
      const out: Record<string, number> = {};
      for (const s of states) out[s.sourceId] = s.talkMs + (s.talking && lastTick >= 0 ? lastEndMs - s.startMs : 0);
      return out;
    },
  };
}
