/** One sentence said by one simulated speaker, placed on the meeting timeline. */
export interface Utterance {
  speaker: number;
  sentence: number;
  text: string;
  startMs: number;
  endMs: number;
}

export interface SpeakerPlan {
  /** When the speaker joins, relative to the bot's call becoming established. */
  joinMs: number;
  /** When the speaker leaves (after their last sentence plus a tail). */
  leaveMs: number;
  utterances: Utterance[];
}

export interface PlanOptions {
  /** Delay between consecutive joins. */
  joinStaggerMs?: number;
  /** Silence between the last join and the first sentence. */
  leadInMs?: number;
  /** Every other turn starts this long before the previous one ends (overlapping speech). */
  overlapMs?: number;
  /** The other turns start this long after the previous one ends. */
  gapMs?: number;
  /** How long a speaker stays after their last sentence. */
  tailMs?: number;
}

/**
 * Places every speaker's sentences round-robin on one timeline: round r has each speaker's r-th
 * sentence; odd turns overlap the previous turn, even turns follow a short gap. A speaker never
 * overlaps themself.
 */
export function planMeeting(sentences: readonly (readonly string[])[], durationMs: (speaker: number, sentence: number) => number, opts: PlanOptions = {}): SpeakerPlan[] {
  const joinStagger = opts.joinStaggerMs ?? 400;
  const leadIn = opts.leadInMs ?? 500;
  const overlap = opts.overlapMs ?? 600;
  const gap = opts.gapMs ?? 250;
  const tail = opts.tailMs ?? 800;
  const plans: SpeakerPlan[] = sentences.map((_, i) => ({ joinMs: i * joinStagger, leaveMs: 0, utterances: [] }));
  const firstStart = (sentences.length - 1) * joinStagger + leadIn;
  const rounds = Math.max(0, ...sentences.map((s) => s.length));
  let prevStart = -Infinity;
  let prevEnd = firstStart;
  let turn = 0;
  for (let r = 0; r < rounds; r++) {
    for (let s = 0; s < sentences.length; s++) {
      const text = sentences[s]![r];
      if (text === undefined) continue;
      const plan = plans[s]!;
      const own = plan.utterances[plan.utterances.length - 1];
      let start = turn === 0 ? firstStart : turn % 2 === 1 ? prevEnd - overlap : prevEnd + gap;
      start = Math.max(start, prevStart + 300, own ? own.endMs + 100 : 0, plan.joinMs + 300);
      const end = start + Math.max(1, Math.round(durationMs(s, r)));
      plan.utterances.push({ speaker: s, sentence: r, text, startMs: start, endMs: end });
      prevStart = start;
      prevEnd = Math.max(prevEnd, end);
      turn++;
    }
  }
  for (const p of plans) {
    const last = p.utterances[p.utterances.length - 1];
    p.leaveMs = (last ? last.endMs : p.joinMs) + tail;
  }
  return plans;
}

/** The speaker's whole presence as 48 kHz samples from join to leave: silence with clips placed at their starts. */
export function renderSpeakerTrack(plan: SpeakerPlan, clip: (u: Utterance) => Int16Array, sampleRate = 48_000): Int16Array {
  const toSamples = (ms: number): number => Math.round((ms * sampleRate) / 1000);
  const track = new Int16Array(toSamples(plan.leaveMs - plan.joinMs));
  for (const u of plan.utterances) {
    const c = clip(u);
    const at = toSamples(u.startMs - plan.joinMs);
    track.set(c.subarray(0, Math.max(0, Math.min(c.length, track.length - at))), at);
  }
  return track;
}
