/**
 * A custom inline hook: the RMS level of each speaker over each second of audio, emitted as the
 * hook's own event (`hook.custom`, name "rms"). It runs on a media thread every 20 ms frame, so it
 * only adds numbers up per frame and allocates once a second.
 */
import type { HookFactory, InlineHook } from 'mediabot/hooks';

export const createRmsHook: HookFactory = () => {
  const energy = new Map<string, { sumSquares: number; samples: number }>();
  let windowStartMs = 0;
  const hook: InlineHook = {
    name: 'rms-per-second',
    onFrame(frame, ctx) {
      for (const source of frame.sources) {
        let e = energy.get(source.sourceId);
        if (e === undefined) energy.set(source.sourceId, (e = { sumSquares: 0, samples: 0 }));
        const pcm = source.pcm16; // a view: read it now, never keep it
        for (let i = 0; i < pcm.length; i++) e.sumSquares += pcm[i]! * pcm[i]!;
        e.samples += pcm.length;
      }
      if (frame.mediaTimeMs + 20 - windowStartMs < 1000) return;
      const dbfs: Record<string, number> = {};
      let sources = 0;
      for (const [sourceId, e] of energy) {
        if (e.samples === 0) continue;
        sources++;
        const rms = Math.sqrt(e.sumSquares / e.samples) / 32768;
        dbfs[sourceId] = rms > 0 ? Math.round(20 * Math.log10(rms) * 10) / 10 : -120;
        e.sumSquares = 0;
        e.samples = 0;
      }
      if (sources > 0) ctx.emit({ type: 'hook.custom', callId: ctx.callId, sourceId: null, hook: hook.name, name: 'rms', data: { second: Math.round(windowStartMs / 1000), dbfs }, mediaTimeMs: frame.mediaTimeMs });
      windowStartMs = frame.mediaTimeMs + 20;
    },
  };
  return hook;
};
