/** Export formats for transcripts: JSON and WebVTT with speaker voice tags. */

export interface TranscriptLine {
  sourceId: string;
  startMs: number;
  endMs: number;
  text: string;
  confidence?: number;
}

export interface TranscriptDocument {
  callId: string | null;
  lines: TranscriptLine[];
}

/** Lines in time order (start, then end, then speaker), copied. */
export function sortLines(lines: readonly TranscriptLine[]): TranscriptLine[] {
  return [...lines].map((l) => ({ ...l })).sort((a, b) => a.startMs - b.startMs || a.endMs - b.endMs || (a.sourceId < b.sourceId ? -1 : a.sourceId > b.sourceId ? 1 : 0));
}

export function transcriptToJson(callId: string | null, lines: readonly TranscriptLine[]): TranscriptDocument {
  return { callId, lines: sortLines(lines) };
}

/** `HH:MM:SS.mmm`, as WebVTT requires (hours always present, so calls over an hour work). */
export function formatVttTimestamp(ms: number): string {
  const total = Math.max(0, Math.round(ms));
  const h = Math.floor(total / 3_600_000);
  const m = Math.floor((total % 3_600_000) / 60_000);
  const s = Math.floor((total % 60_000) / 1000);
  const milli = total % 1000;
  return `${pad(h, 2)}:${pad(m, 2)}:${pad(s, 2)}.${pad(milli, 3)}`;
}

/** Escapes cue text: `&`, `<` and `>` must not appear raw in a WebVTT cue payload. */
export function escapeVttText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * A voice-tag annotation may not contain `>` or line breaks, and `&` must be
 * escaped; the label also must not be empty.
 */
export function escapeVttAnnotation(label: string): string {
  const flat = label.replace(/[\r\n]+/g, ' ').trim();
  return (flat === '' ? 'Speaker' : flat).replace(/&/g, '&amp;').replace(/>/g, '&gt;');
}

export interface VttOptions {
  /** Display name per sourceId; the sourceId itself otherwise. */
  speakerLabel?: (sourceId: string) => string;
}

/**
 * WebVTT with one cue per line, `<v Speaker>` voice tags, cues in start order.
 * A zero-length line gets 1 ms so every cue's end is after its start.
 * Line breaks inside text become spaces (a blank line would end the cue).
 */
export function transcriptToWebVtt(lines: readonly TranscriptLine[], opts: VttOptions = {}): string {
  const label = opts.speakerLabel ?? ((id: string) => id);
  const out = ['WEBVTT', ''];
  sortLines(lines).forEach((l, i) => {
    const end = Math.max(l.endMs, l.startMs + 1);
    const text = escapeVttText(l.text.replace(/\s*[\r\n]+\s*/g, ' ').trim());
    out.push(String(i + 1), `${formatVttTimestamp(l.startMs)} --> ${formatVttTimestamp(end)}`, `<v ${escapeVttAnnotation(label(l.sourceId))}>${text}</v>`, '');
  });
  return out.join('\n');
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}
