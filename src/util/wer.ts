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
