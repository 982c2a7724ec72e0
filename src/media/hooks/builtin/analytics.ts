import { FRAME_MS } from '../../core/frame.js';
import type { HookContext, InlineHook, TickFrame } from '../api.js';

export interface ParticipantAnalytics {
  sourceId: string;
  talkMs: number;
  /** Time this participant talked while at least one other did. */
  overlapMs: number;
  /** Times this participant started talking over someone who then stopped within the window. */
  interruptionsMade: number;
  /** Times this participant was interrupted. */
  interruptionsSuffered: number;
  /** Longest continuous talk spell. */
  longestMonologueMs: number;
  /** Power mean of the frame level over the talking frames, dBov; null if never talked. */
  meanTalkDbov: number | null;
  /** Highest frame level seen, dBov (-127 = digital silence). */
  peakDbov: number;
}

export interface CallAnalytics {
  callId: string | null;
  durationMs: number;
  /** Time at least one participant talked. */
  talkMs: number;
  /** Time at least two participants talked at once. */
  overlapMs: number;
  silenceMs: number;
  /** silenceMs / durationMs (0 for an empty call). */
  silenceRatio: number;
  interruptions: number;
  interruptionWindowMs: number;
  participants: ParticipantAnalytics[];
}

export interface AnalyticsOptions {
  /** B interrupts A when B starts while A talks and A stops within this window. Default 1000 ms. */
  interruptionWindowMs?: number;
  /** Called once at stop with the final snapshot (e.g. to store it). */
  onStop?: (snapshot: CallAnalytics) => void;
}

interface PState {
  readonly sourceId: string;
  talking: boolean;
  spellStart: number;
  talkMs: number;
  overlapMs: number;
  made: number;
  suffered: number;
  longest: number;
  powerSum: number;
  talkFrames: number;
  peak: number;
  /** Who started over this participant and when (pending interruptions). */
  readonly interruptedBy: Array<{ by: PState; atMs: number }>;
}

/**
 * A pure accumulator of conversation analytics, fed one tick at a time.
 * All times are multiples of the 20 ms frame. Nothing here depends on the
 * wall clock, so the same frames always give the same figures.
 */
export class AnalyticsAccumulator {
  private readonly byId = new Map<string, PState>();
  private readonly states: PState[] = [];
  private durationMs = 0;
  private talkMs = 0;
  private overlapMs = 0;
  private interruptions = 0;
  private lastEndMs = 0;
  private readonly windowMs: number;

  constructor(
    private readonly callId: string | null = null,
    opts: { interruptionWindowMs?: number } = {},
  ) {
    this.windowMs = opts.interruptionWindowMs ?? 1000;
  }

  add(frame: TickFrame): void {
    const t = frame.mediaTimeMs;
    this.durationMs += FRAME_MS;
    this.lastEndMs = t + FRAME_MS;
    let talkers = 0;
    for (let i = 0; i < frame.sources.length; i++) if (frame.sources[i]!.talking) talkers++;
    if (talkers > 0) this.talkMs += FRAME_MS;
    if (talkers > 1) this.overlapMs += FRAME_MS;

    // Who talked on the previous tick, before this tick's transitions.
    for (let i = 0; i < frame.sources.length; i++) {
      const src = frame.sources[i]!;
      const p = this.state(src.sourceId);
      if (src.levelDbov > p.peak) p.peak = src.levelDbov;
      if (src.talking && !p.talking) {
        // Starting now: everyone already talking may be getting interrupted.
        for (const other of this.states) if (other !== p && other.talking && other.spellStart < t) other.interruptedBy.push({ by: p, atMs: t });
      }
    }
    for (let i = 0; i < frame.sources.length; i++) {
      const src = frame.sources[i]!;
      const p = this.state(src.sourceId);
      if (src.talking) {
        if (!p.talking) {
          p.talking = true;
          p.spellStart = t;
        }
        p.talkMs += FRAME_MS;
        if (talkers > 1) p.overlapMs += FRAME_MS;
        p.powerSum += 10 ** (src.levelDbov / 10);
        p.talkFrames++;
      } else if (p.talking) {
        this.endSpell(p, t);
      }
    }
    // Sources absent from this tick are not talking.
    for (const p of this.states) {
      if (!p.talking) continue;
      let present = false;
      for (let i = 0; i < frame.sources.length; i++) if (frame.sources[i]!.sourceId === p.sourceId) present = true;
      if (!present) this.endSpell(p, t);
    }
  }

  snapshot(): CallAnalytics {
    const participants = this.states.map((p): ParticipantAnalytics => {
      const open = p.talking ? this.lastEndMs - p.spellStart : 0;
      return {
        sourceId: p.sourceId,
        talkMs: p.talkMs,
        overlapMs: p.overlapMs,
        interruptionsMade: p.made,
        interruptionsSuffered: p.suffered,
        longestMonologueMs: Math.max(p.longest, open),
        meanTalkDbov: p.talkFrames === 0 ? null : round2(10 * Math.log10(p.powerSum / p.talkFrames)),
        peakDbov: p.peak,
      };
    });
    const silenceMs = this.durationMs - this.talkMs;
    return {
      callId: this.callId,
      durationMs: this.durationMs,
      talkMs: this.talkMs,
      overlapMs: this.overlapMs,
      silenceMs,
      silenceRatio: this.durationMs === 0 ? 0 : round4(silenceMs / this.durationMs),
      interruptions: this.interruptions,
      interruptionWindowMs: this.windowMs,
      participants,
    };
  }

  private endSpell(p: PState, t: number): void {
    p.talking = false;
    p.longest = Math.max(p.longest, t - p.spellStart);
    for (const { by, atMs } of p.interruptedBy) {
      if (t - atMs <= this.windowMs) {
        by.made++;
        p.suffered++;
        this.interruptions++;
      }
    }
    p.interruptedBy.length = 0;
  }

  private state(sourceId: string): PState {
    let p = this.byId.get(sourceId);
    if (p === undefined) {
      p = { sourceId, talking: false, spellStart: 0, talkMs: 0, overlapMs: 0, made: 0, suffered: 0, longest: 0, powerSum: 0, talkFrames: 0, peak: -127, interruptedBy: [] };
      this.byId.set(sourceId, p);
      this.states.push(p);
    }
    return p;
  }
}

export interface AnalyticsHook extends InlineHook {
  snapshot(): CallAnalytics;
}

/** The analytics accumulator as an inline hook; at stop it emits `analytics.snapshot`. */
export function createAnalyticsHook(opts: AnalyticsOptions = {}): AnalyticsHook {
  let acc = new AnalyticsAccumulator(null, opts);
  return {
    name: 'analytics',
    budgetUs: 200,
    start(ctx: HookContext) {
      acc = new AnalyticsAccumulator(ctx.callId, opts);
    },
    onFrame(frame: TickFrame): void {
      acc.add(frame);
    },
    stop(ctx: HookContext): void {
      const snap = acc.snapshot();
      opts.onStop?.(snap);
      // As an event too, so the figures reach the store from a media thread.
      ctx.emit({ type: 'analytics.snapshot', callId: ctx.callId, sourceId: null, mediaTimeMs: snap.durationMs, analytics: snap as unknown as Record<string, unknown> });
    },
    snapshot: () => acc.snapshot(),
  };
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
function round4(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}
