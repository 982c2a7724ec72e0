/** Word error rate: word-level Levenshtein distance / reference length, on normalised words. */

export function words(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9' ]+/g, ' ')
    .split(/\s+/)
    .filter((w) => w !== '');
}

/** Edits (substitutions + insertions + deletions) to turn `ref` into `hyp`. */
export function editDistance(ref: readonly string[], hyp: readonly string[]): number {
  let prev = Array.from({ length: hyp.length + 1 }, (_, j) => j);
  for (let i = 1; i <= ref.length; i++) {
    const cur = [i];
    for (let j = 1; j <= hyp.length; j++) {
      const sub = prev[j - 1]! + (ref[i - 1] === hyp[j - 1] ? 0 : 1);
      cur.push(Math.min(sub, prev[j]! + 1, cur[j - 1]! + 1));
    }
    prev = cur;
  }
  return prev[hyp.length]!;
}

/** WER over several (reference, hypothesis) pairs, e.g. one per speaker: total edits / total reference words. */
export function wer(pairs: ReadonlyArray<{ reference: string; hypothesis: string }>): { wer: number; edits: number; referenceWords: number } {
  let edits = 0;
  let n = 0;
  for (const p of pairs) {
    const r = words(p.reference);
    edits += editDistance(r, words(p.hypothesis));
    n += r.length;
  }
  return { wer: n === 0 ? 0 : edits / n, edits, referenceWords: n };
}

/** A sentence someone said, on the script's clock (ms). */
export interface ScriptedUtterance {
  text: string;
  startMs: number;
  endMs: number;
}

/** A transcript line, on the script's clock (ms; the caller moves it there from the media clock). */
export interface TimedLine {
  text: string;
  startMs: number;
  endMs: number;
}

/**
 * WER over the part of a call said before a cut-off (e.g. the hang-up): per speaker, the reference
 * is the sentences that finished before `untilMs`, and the hypothesis the transcript lines of that
 * same span. A sentence cut off by the hang-up is in neither: its words would count as deletions
 * if it were in the reference, and whatever was transcribed of it as insertions if its lines were
 * in the hypothesis.
 *
 * The two clocks are only aligned to within some hundreds of ms (event delivery, talk detection,
 * the recognizer's segmenting), so a line is not placed by comparing times exactly: it belongs to
 * the span when it starts before the midpoint of the silence between the speaker's last finished
 * sentence and the first unfinished one (a speaker's sentences are seconds apart).
 */
export function werBefore(
  speakers: ReadonlyArray<{ utterances: readonly ScriptedUtterance[]; lines: readonly TimedLine[] }>,
  untilMs: number,
): { wer: number; edits: number; referenceWords: number } {
  const pairs = speakers.map((s) => {
    const said = [...s.utterances].sort((a, b) => a.startMs - b.startMs);
    const finished = said.filter((u) => u.endMs <= untilMs);
    const lastEnd = finished.length > 0 ? finished[finished.length - 1]!.endMs : 0;
    const next = said.find((u) => u.endMs > untilMs);
    const boundary = finished.length === 0 ? Number.NEGATIVE_INFINITY : next === undefined ? Number.POSITIVE_INFINITY : (lastEnd + Math.max(lastEnd, next.startMs)) / 2;
    const lines = [...s.lines].sort((a, b) => a.startMs - b.startMs).filter((l) => l.startMs < boundary);
    return { reference: finished.map((u) => u.text).join(' '), hypothesis: lines.map((l) => l.text).join(' ') };
  });
  return wer(pairs);
}
