import type { FrameOrigin, SourceFrame, TickFrame } from '../../../src/media/hooks/api.js';

/** One source's state for a scripted tick. */
export interface ScriptedSource {
  sourceId: string;
  talking: boolean;
  levelDbov: number;
  /** Fills pcm16 with this constant (so copies can be checked). */
  fill?: number;
}

/** Builds a TickFrame the way the core does: views over reused buffers. */
export class FrameFactory {
  private readonly pcm16 = new Map<string, Int16Array>();
  private readonly pcm48 = new Map<string, Int16Array>();
  private readonly mix48 = new Int16Array(960);
  private readonly mix16 = new Int16Array(320);

  constructor(readonly callId = 'call-1') {}

  frame(tick: number, sources: readonly ScriptedSource[]): TickFrame {
    const out: SourceFrame[] = sources.map((s) => {
      let p16 = this.pcm16.get(s.sourceId);
      if (p16 === undefined) this.pcm16.set(s.sourceId, (p16 = new Int16Array(320)));
      let p48 = this.pcm48.get(s.sourceId);
      if (p48 === undefined) this.pcm48.set(s.sourceId, (p48 = new Int16Array(960)));
      p16.fill(s.fill ?? 0);
      const origin: FrameOrigin = s.talking ? 'packet' : 'silence';
      return { sourceId: s.sourceId, pcm16: p16, pcm48: p48, origin, opus: null, talking: s.talking, levelDbov: s.levelDbov };
    });
    this.mix16.fill(tick % 1000);
    return { callId: this.callId, tick, mediaTimeMs: tick * 20, sources: out, mix48: this.mix48, mix16: this.mix16, mixOpus: null };
  }
}

/**
 * A scripted two-speaker conversation, in 20 ms ticks (all figures in ms):
 *   A talks   0..2000   at -20 dBov
 *   B talks 1500..4000  at -14 dBov (interrupts A; A stops 500 ms after B starts)
 *   silence 4000..5000
 *   A talks 5000..5100  at -10 dBov (a short loud blip: too short to take the floor)
 *   B talks 5000..7200  at -18 dBov
 *   A talks 6000..9000  at -20 dBov (B stops 1200 ms after A starts: not an interruption within 1000 ms)
 *   end 10000
 */
export const SCRIPT_END_MS = 10_000;
export function scriptedState(ms: number): ScriptedSource[] {
  const a = (ms < 2000 && { l: -20 }) || (ms >= 5000 && ms < 5100 && { l: -10 }) || (ms >= 6000 && ms < 9000 && { l: -20 }) || null;
  const b = (ms >= 1500 && ms < 4000 && { l: -14 }) || (ms >= 5000 && ms < 7200 && { l: -18 }) || null;
  return [
    { sourceId: 'A', talking: a !== null, levelDbov: a?.l ?? -127 },
    { sourceId: 'B', talking: b !== null, levelDbov: b?.l ?? -127 },
  ];
}
