import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planMeeting, renderSpeakerTrack } from '../../../testing/emulator/schedule.js';

describe('planMeeting', () => {
  it('places sentences round-robin with overlapping turns, never overlapping a speaker with themself', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.integer({ min: 200, max: 5000 }), { minLength: 0, maxLength: 4 }), { minLength: 1, maxLength: 5 }),
        (durations) => {
          const sentences = durations.map((d, s) => d.map((_, r) => `s${s}r${r}`));
          const plans = planMeeting(sentences, (s, r) => durations[s]![r]!);
          expect(plans).toHaveLength(sentences.length);
          for (const [s, p] of plans.entries()) {
            expect(p.utterances.map((u) => u.text)).toEqual(sentences[s]);
            for (const u of p.utterances) {
              expect(u.endMs - u.startMs).toBe(durations[s]![u.sentence]);
              expect(u.startMs).toBeGreaterThanOrEqual(p.joinMs);
              expect(u.endMs).toBeLessThanOrEqual(p.leaveMs);
            }
            for (let i = 1; i < p.utterances.length; i++) expect(p.utterances[i]!.startMs).toBeGreaterThan(p.utterances[i - 1]!.endMs);
          }
          // Starts follow the round-robin order (round, then speaker).
          const all = plans.flatMap((p) => p.utterances).sort((a, b) => a.sentence - b.sentence || a.speaker - b.speaker);
          for (let i = 1; i < all.length; i++) expect(all[i]!.startMs).toBeGreaterThan(all[i - 1]!.startMs);
        },
      ),
    );
  });

  it('makes every other turn overlap the previous one when speakers differ', () => {
    const plans = planMeeting([['a1', 'a2'], ['b1', 'b2']], () => 2000, { overlapMs: 600, gapMs: 250, joinStaggerMs: 400 });
    const [a, b] = plans;
    expect(b!.utterances[0]!.startMs).toBe(a!.utterances[0]!.endMs - 600);
    expect(a!.utterances[1]!.startMs).toBe(b!.utterances[0]!.endMs + 250);
    expect(b!.joinMs).toBe(400);
  });
});

describe('renderSpeakerTrack', () => {
  it('puts each clip at its start offset relative to the join and silence elsewhere', () => {
    const plan = { joinMs: 1000, leaveMs: 1100, utterances: [{ speaker: 0, sentence: 0, text: 'x', startMs: 1050, endMs: 1060 }] };
    const clip = new Int16Array(480).fill(1234);
    const track = renderSpeakerTrack(plan, () => clip, 48_000);
    expect(track.length).toBe(4800);
    expect(track[2399]).toBe(0);
    expect(track[2400]).toBe(1234);
    expect(track[2879]).toBe(1234);
    expect(track[2880]).toBe(0);
  });

  it('truncates a clip that runs past the leave time instead of throwing', () => {
    const plan = { joinMs: 0, leaveMs: 10, utterances: [{ speaker: 0, sentence: 0, text: 'x', startMs: 5, endMs: 50 }] };
    const track = renderSpeakerTrack(plan, () => new Int16Array(48_000).fill(7));
    expect(track.length).toBe(480);
    expect(track[479]).toBe(7);
  });
});
