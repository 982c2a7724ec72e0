import { describe, expect, it } from 'vitest';
import { editDistance, wer, werBefore, words } from '../../../src/util/wer.js';

// A demo run's script (ms after the call was established) and hang-up 12.3 s in.
const ALICE = [
  { text: 'Good morning everyone, thanks for joining the weekly planning call.', startMs: 1331, endMs: 5685 },
  { text: 'The new release is ready for testing on Monday.', startMs: 11643, endMs: 14497 },
  { text: 'Please send me your notes before the end of the day.', startMs: 20905, endMs: 24099 },
];
const BRIAN = [
  { text: 'The quarterly numbers look better than we expected.', startMs: 5085, endMs: 8279 },
  { text: 'We still need two more people on the support team.', startMs: 14747, endMs: 17841 },
];
const CHEN = [{ text: 'The database migration finished without any errors last night.', startMs: 8529, endMs: 12243 }];
const HANG_UP = 12268;

/** A transcript line on the media clock, which starts `offset` ms before the script's. */
const line = (text: string, startMs: number, endMs: number, offset = 400): { text: string; startMs: number; endMs: number } => ({ text, startMs: startMs + offset, endMs: endMs + offset });

describe('word error rate', () => {
  it('counts word edits on normalised words', () => {
    expect(words("Good morning, everyone! It's 9.")).toEqual(['good', 'morning', 'everyone', "it's", '9']);
    expect(editDistance(['a', 'b', 'c'], ['a', 'x', 'c', 'd'])).toBe(2);
    expect(wer([{ reference: 'a b c d', hypothesis: 'a b' }])).toEqual({ wer: 0.5, edits: 2, referenceWords: 4 });
  });
});

describe('WER before the hang-up', () => {
  // A perfect transcript of everything heard, including the start of Alice's second sentence,
  // cut off by the hang-up: it was transcribed, but it was never finished.
  const heard = {
    alice: [line(ALICE[0]!.text, 1331, 5685), line('the new release is', 11643, 12268)],
    brian: [line(BRIAN[0]!.text, 5085, 8279)],
    chen: [line(CHEN[0]!.text, 8529, 12243)],
  };

  it('scores the finished sentences against the lines of the same span: a perfect transcript is 0%', () => {
    const score = werBefore(
      [
        { utterances: ALICE, lines: heard.alice },
        { utterances: BRIAN, lines: heard.brian },
        { utterances: CHEN, lines: heard.chen },
      ],
      HANG_UP,
    );
    expect(score).toEqual({ wer: 0, edits: 0, referenceWords: 27 });
  });

  it('would have counted the cut-off sentence as insertions when every line was scored (the old demo figure)', () => {
    const all = wer([
      { reference: ALICE[0]!.text, hypothesis: heard.alice.map((l) => l.text).join(' ') },
      { reference: BRIAN[0]!.text, hypothesis: heard.brian.map((l) => l.text).join(' ') },
      { reference: CHEN[0]!.text, hypothesis: heard.chen.map((l) => l.text).join(' ') },
    ]);
    expect(all.edits).toBe(4);
  });

  it('still counts real errors in the span, and lines of a later sentence are not in it', () => {
    const score = werBefore(
      [
        { utterances: ALICE, lines: [line('good morning everyone thanks for joining the weekly planning', 1331, 5685), line('the new release is ready', 11643, 13000)] },
        { utterances: BRIAN, lines: [] },
      ],
      HANG_UP,
    );
    // Alice: "call" missing (1 edit of 10 words); Brian said 8 words, none transcribed.
    expect(score).toEqual({ wer: 0.5, edits: 9, referenceWords: 18 });
  });

  it('places lines by the gap between sentences, whichever way the clocks are offset', () => {
    for (const offset of [-900, 0, 900]) {
      const score = werBefore([{ utterances: ALICE, lines: [line(ALICE[0]!.text, 1331, 5685, offset), line('the new release', 11643, 12268, offset)] }], HANG_UP);
      expect(score, `offset ${offset}`).toEqual({ wer: 0, edits: 0, referenceWords: 10 });
    }
  });

  it('scores nothing for a speaker whose first sentence was cut off', () => {
    expect(werBefore([{ utterances: ALICE, lines: [line('good morning', 1331, 2000)] }], 3000)).toEqual({ wer: 0, edits: 0, referenceWords: 0 });
  });
});
