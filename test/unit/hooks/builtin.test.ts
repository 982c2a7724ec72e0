import { describe, expect, it } from 'vitest';
import { AnalyticsAccumulator, createAnalyticsHook } from '../../../src/media/hooks/builtin/analytics.js';
import { createSpeakerTimelineHook } from '../../../src/media/hooks/builtin/speaker-timeline.js';
import { createTalkEventsHook } from '../../../src/media/hooks/builtin/talk-events.js';
import { HookRunner } from '../../../src/media/hooks/runner.js';
import type { MediaEvent } from '../../../src/media/hooks/api.js';
import { FrameFactory, SCRIPT_END_MS, scriptedState } from './frames.js';

/** Runs the scripted two-speaker conversation through a runner with the given hooks. */
async function runScript(hooks: ConstructorParameters<typeof HookRunner>[0]['hooks']): Promise<MediaEvent[]> {
  const events: MediaEvent[] = [];
  const r = new HookRunner({ callId: 'call-1', hooks, emit: (e) => events.push(e) });
  const ff = new FrameFactory('call-1');
  for (let t = 0; t * 20 < SCRIPT_END_MS; t++) r.onTick(ff.frame(t, scriptedState(t * 20)));
  await r.stop();
  expect(r.stats().hooks.every((h) => h.errors === 0)).toBe(true);
  return events;
}

describe('talk events', () => {
  it('turns talking transitions into talk.start/stop with durations and per-participant talk time', async () => {
    const hook = createTalkEventsHook();
    const events = await runScript([hook]);
    const talk = events.map((e) => (e.type === 'talk.start' ? `+${e.sourceId}@${e.mediaTimeMs}` : e.type === 'talk.stop' ? `-${e.sourceId}@${e.mediaTimeMs}/${e.durationMs}` : null));
    expect(talk).toEqual(['+A@0', '+B@1500', '-A@2000/2000', '-B@4000/2500', '+A@5000', '+B@5000', '-A@5100/100', '+A@6000', '-B@7200/2200', '-A@9000/3000']);
    expect(hook.talkTime()).toEqual({ A: 5100, B: 4700 });
  });

  it('closes an open spell when the source leaves or the call stops', async () => {
    const hook = createTalkEventsHook();
    const events: MediaEvent[] = [];
    const r = new HookRunner({ callId: 'c', hooks: [hook], emit: (e) => events.push(e) });
    const ff = new FrameFactory('c');
    r.onTick(ff.frame(0, [{ sourceId: 'A', talking: true, levelDbov: -20 }, { sourceId: 'B', talking: true, levelDbov: -20 }]));
    r.onTick(ff.frame(1, [{ sourceId: 'B', talking: true, levelDbov: -20 }]));
    await r.stop();
    expect(events.filter((e) => e.type === 'talk.stop').map((e) => e.type === 'talk.stop' && [e.sourceId, e.mediaTimeMs, e.durationMs])).toEqual([
      ['A', 20, 20],
      ['B', 40, 40],
    ]);
  });
});

describe('speaker timeline (hysteresis)', () => {
  it('switches only after a held lead, ignores a short loud blip, releases on silence', async () => {
    let stored: unknown = null;
    const hook = createSpeakerTimelineHook({ holdMs: 300, marginDb: 6, releaseMs: 800, onStop: (t) => (stored = t) });
    const events = await runScript([hook]);
    const dom = events.flatMap((e) => (e.type === 'speaker.dominant' ? [[e.sourceId, e.previous, e.mediaTimeMs]] : []));
    expect(dom).toEqual([
      ['A', null, 300],
      ['B', 'A', 1800], // B is 6 dB louder from 1500: takes over after the 300 ms hold
      [null, 'B', 4800], // 800 ms of silence from 4000
      ['B', null, 5400], // A's 100 ms blip at -10 dBov restarts nothing; B from 5100 + hold
      ['A', 'B', 7500], // A (-20) never 6 dB above B (-18) while both talk; A leads once B stops at 7200
      [null, 'A', 9800],
    ]);
    const expected = [
      { sourceId: 'A', startMs: 0, endMs: 1500 },
      { sourceId: 'B', startMs: 1500, endMs: 4000 },
      { sourceId: 'B', startMs: 5100, endMs: 7200 },
      { sourceId: 'A', startMs: 7200, endMs: 9000 },
    ];
    expect(hook.timeline()).toEqual(expected);
    expect(stored).toEqual(expected);
    expect(JSON.parse(JSON.stringify(hook))).toEqual({ callId: 'call-1', segments: expected });
  });

  it('with no margin and no hold it follows the loudest talker every tick', async () => {
    const hook = createSpeakerTimelineHook({ holdMs: 0, marginDb: 0, releaseMs: 0 });
    await runScript([hook]);
    const tl = hook.timeline();
    // The blip wins immediately without hysteresis.
    expect(tl).toContainEqual({ sourceId: 'A', startMs: 5000, endMs: 5100 });
    for (let i = 1; i < tl.length; i++) expect(tl[i]!.startMs).toBeGreaterThanOrEqual(tl[i - 1]!.endMs);
  });
});

describe('analytics', () => {
  it('gives exact talk, overlap, interruption, monologue, silence and level figures on the script', async () => {
    let stored: unknown = null;
    const hook = createAnalyticsHook({ interruptionWindowMs: 1000, onStop: (s) => (stored = s) });
    const events = await runScript([hook]);
    const s = hook.snapshot();
    expect(events.filter((e) => e.type === 'analytics.snapshot')).toEqual([{ type: 'analytics.snapshot', callId: 'call-1', sourceId: null, mediaTimeMs: 10_000, analytics: s }]);
    const powerMean = (parts: Array<[number, number]>): number => {
      const frames = parts.reduce((n, [c]) => n + c, 0);
      return Math.round(1000 * 10 * Math.log10(parts.reduce((acc, [c, db]) => acc + c * 10 ** (db / 10), 0) / frames)) / 1000;
    };
    expect(s).toMatchObject({ callId: 'call-1', durationMs: 10_000, talkMs: 8000, overlapMs: 1800, silenceMs: 2000, silenceRatio: 0.2, interruptions: 1, interruptionWindowMs: 1000 });
    const a = s.participants.find((p) => p.sourceId === 'A')!;
    const b = s.participants.find((p) => p.sourceId === 'B')!;
    expect(a).toMatchObject({ talkMs: 5100, overlapMs: 1800, interruptionsMade: 0, interruptionsSuffered: 1, longestMonologueMs: 3000, peakDbov: -10 });
    expect(b).toMatchObject({ talkMs: 4700, overlapMs: 1800, interruptionsMade: 1, interruptionsSuffered: 0, longestMonologueMs: 2500, peakDbov: -14 });
    // A: 250 frames at -20 and 5 at -10; B: 125 at -14 and 110 at -18.
    expect(a.meanTalkDbov).toBeCloseTo(powerMean([[250, -20], [5, -10]]), 2);
    expect(b.meanTalkDbov).toBeCloseTo(powerMean([[125, -14], [110, -18]]), 2);
    expect(stored).toEqual(s);
  });

  it('counts the late stop as an interruption once the window covers it', () => {
    const acc = new AnalyticsAccumulator('c', { interruptionWindowMs: 1200 });
    const ff = new FrameFactory('c');
    for (let t = 0; t * 20 < SCRIPT_END_MS; t++) acc.add(ff.frame(t, scriptedState(t * 20)));
    const s = acc.snapshot();
    expect(s.interruptions).toBe(2);
    expect(s.participants.find((p) => p.sourceId === 'A')!.interruptionsMade).toBe(1);
  });

  it('an empty call has zero figures, not NaN', () => {
    expect(new AnalyticsAccumulator('c').snapshot()).toEqual({ callId: 'c', durationMs: 0, talkMs: 0, overlapMs: 0, silenceMs: 0, silenceRatio: 0, interruptions: 0, interruptionWindowMs: 1000, participants: [] });
  });
});
