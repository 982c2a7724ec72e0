import { describe, expect, it } from 'vitest';
import { isMediabotError } from '../../../src/errors.js';
import type { Transcriber, TranscriberStream, TranscriptResult } from '../../../src/media/hooks/transcribe/types.js';
import { clip, CLIPS, concat, durationMs, normalise, silence } from './audio.js';

export interface AdapterUnderTest {
  name: string;
  create(): Transcriber;
  /** Whether the engine recognises words (then reference words are checked); otherwise only timing. */
  recognisesWords: boolean;
  /** Allowed slack (ms) around the true speech region for result times. Default 400. */
  slackMs?: number;
  /** Per-test timeout; engines that decode on the CPU need more on a loaded machine. Default 60 000. */
  timeoutMs?: number;
}

const A = CLIPS[1]!; // "he was not an ill disposed young man", 2.99 s
const B = CLIPS[4]!; // "he might even have been made amiable himself", 3.29 s

interface Opened {
  stream: TranscriberStream;
  results: TranscriptResult[];
}

function open(t: Transcriber, sourceId: string, callId = 'suite-call'): Opened {
  const stream = t.open({ callId, sourceId, sampleRate: 16000 });
  const results: TranscriptResult[] = [];
  stream.onResult((r) => results.push(r));
  return { stream, results };
}

/** Writes `pcm` as 20 ms frames stamped from `startMs`, interleaving several streams as the hook does. */
function feed(items: Array<{ s: TranscriberStream; pcm: Int16Array; startMs: number }>): void {
  const frames = Math.max(...items.map((i) => i.pcm.length / 320));
  for (let f = 0; f < frames; f++) {
    for (const i of items) {
      if ((f + 1) * 320 > i.pcm.length) continue;
      i.s.write(i.pcm.subarray(f * 320, (f + 1) * 320), i.startMs + f * 20);
    }
  }
}

const finals = (o: Opened): TranscriptResult[] => o.results.filter((r) => r.final);
const words = (rs: TranscriptResult[]): Set<string> => new Set(normalise(rs.map((r) => r.text).join(' ')));

function expectInside(rs: TranscriptResult[], lo: number, hi: number, slack: number): void {
  for (const r of rs) {
    expect(r.startMs).toBeGreaterThanOrEqual(lo - slack);
    expect(r.endMs).toBeLessThanOrEqual(hi + slack);
    expect(r.endMs).toBeGreaterThanOrEqual(r.startMs);
  }
}

function expectOrderedFinals(rs: TranscriptResult[], spanStart: number, spanEnd: number): void {
  let prevEnd = -Infinity;
  for (const r of rs) {
    expect(r.startMs).toBeGreaterThanOrEqual(spanStart);
    expect(r.endMs).toBeLessThanOrEqual(spanEnd);
    expect(r.endMs).toBeGreaterThanOrEqual(r.startMs);
    expect(r.startMs).toBeGreaterThanOrEqual(prevEnd);
    prevEnd = r.endMs;
  }
}

/** The contract every Transcriber passes (docs/transcription.md). */
export function adapterSuite(a: AdapterUnderTest): void {
  const slack = a.slackMs ?? 400;
  const timeout = a.timeoutMs ?? 60_000;
  describe(`transcriber contract: ${a.name}`, () => {
    it('attributes results to the stream whose audio they came from', async () => {
      const t = a.create();
      const alice = open(t, 'alice');
      const bob = open(t, 'bob');
      const pa = concat(silence(1000), clip(A), silence(1500));
      const pb = concat(silence(5000), clip(B), silence(1500));
      feed([
        { s: alice.stream, pcm: pa, startMs: 0 },
        { s: bob.stream, pcm: pb, startMs: 0 },
      ]);
      await Promise.all([alice.stream.end(), bob.stream.end()]);
      const fa = finals(alice);
      const fb = finals(bob);
      expect(fa.length).toBeGreaterThan(0);
      expect(fb.length).toBeGreaterThan(0);
      expectInside(fa, 1000, 1000 + durationMs(clip(A)), slack);
      expectInside(fb, 5000, 5000 + durationMs(clip(B)), slack);
      if (a.recognisesWords) {
        const wa = words(fa);
        const wb = words(fb);
        expect(['was', 'not', 'young', 'man'].filter((w) => wa.has(w)).length).toBeGreaterThanOrEqual(3);
        expect(['might', 'even', 'have', 'been', 'made'].filter((w) => wb.has(w)).length).toBeGreaterThanOrEqual(3);
        expect(wa.has('might') || wa.has('even')).toBe(false);
        expect(wb.has('young') || wb.has('man')).toBe(false);
      }
    }, timeout);

    it('gives final results in increasing, non-overlapping media time within the audio span', async () => {
      const t = a.create();
      const s = open(t, 'carol');
      const start = 60_000;
      const pcm = concat(clip(A), silence(2000), clip(B), silence(1000));
      feed([{ s: s.stream, pcm, startMs: start }]);
      await s.stream.end();
      const f = finals(s);
      expect(f.length).toBeGreaterThanOrEqual(2);
      expectOrderedFinals(f, start, start + durationMs(pcm));
      // One result lies in each utterance.
      const bStart = start + durationMs(clip(A)) + 2000;
      expect(f.some((r) => r.endMs <= start + durationMs(clip(A)) + slack)).toBe(true);
      expect(f.some((r) => r.startMs >= bStart - slack)).toBe(true);
    }, timeout);

    it('maps a jump in media time (a gap in the frames) to the right media time', async () => {
      const t = a.create();
      const s = open(t, 'dave');
      feed([{ s: s.stream, pcm: concat(clip(A), silence(600)), startMs: 0 }]);
      const gapStart = 30_000;
      feed([{ s: s.stream, pcm: concat(clip(B), silence(1000)), startMs: gapStart }]);
      await s.stream.end();
      const f = finals(s);
      const late = f.filter((r) => r.startMs >= gapStart - slack);
      expect(late.length).toBeGreaterThan(0);
      expectInside(late, gapStart, gapStart + durationMs(clip(B)), slack);
      expect(f.filter((r) => r.endMs <= durationMs(clip(A)) + 600 + slack).length).toBeGreaterThan(0);
    }, timeout);

    it('end() flushes: the last utterance arrives before it resolves, even without trailing silence', async () => {
      const t = a.create();
      const s = open(t, 'erin');
      feed([{ s: s.stream, pcm: concat(clip(A)), startMs: 0 }]);
      const p = s.stream.end();
      expect(s.stream.end()).toBe(p);
      await p;
      expect(finals(s).length).toBeGreaterThan(0);
      const n = s.results.length;
      await new Promise((r) => setTimeout(r, 200));
      expect(s.results.length).toBe(n); // nothing after end
    }, timeout);

    it('writing after end() is a typed error', async () => {
      const t = a.create();
      const s = open(t, 'frank');
      feed([{ s: s.stream, pcm: silence(200), startMs: 0 }]);
      await s.stream.end();
      let err: unknown;
      try {
        s.stream.write(new Int16Array(320), 200);
      } catch (e) {
        err = e;
      }
      expect(isMediabotError(err) && err.code).toBe('MEDIABOT_TRANSCRIBER_CLOSED');
    }, timeout);

    it('bad audio is a typed error, changes nothing, and the stream still works', async () => {
      const t = a.create();
      const s = open(t, 'grace');
      const bad: Array<[unknown, unknown]> = [
        [new Int16Array(100), 0],
        [new Int16Array(0), 0],
        [new Float32Array(320), 0],
        [new Uint8Array(640), 0],
        [new Int16Array(320), Number.NaN],
        [new Int16Array(320), -20],
      ];
      for (const [pcm, at] of bad) {
        let err: unknown;
        try {
          s.stream.write(pcm as Int16Array, at as number);
        } catch (e) {
          err = e;
        }
        expect(isMediabotError(err) && err.code).toBe('MEDIABOT_TRANSCRIBER_BAD_AUDIO');
      }
      feed([{ s: s.stream, pcm: concat(silence(500), clip(A), silence(1000)), startMs: 0 }]);
      await s.stream.end();
      const f = finals(s);
      expect(f.length).toBeGreaterThan(0);
      // The rejected writes did not shift the clock: the speech is where it was written.
      expectInside(f, 500, 500 + durationMs(clip(A)), slack);
    }, timeout);
  });
}
