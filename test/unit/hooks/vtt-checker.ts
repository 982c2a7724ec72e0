/**
 * A small strict WebVTT checker for what mediabot writes: a `WEBVTT` header,
 * blank-line separated cues, optional numeric identifiers, `HH:MM:SS.mmm --> HH:MM:SS.mmm`
 * timings with end > start, non-decreasing start times, one `<v Label>text</v>`
 * payload line, no raw `<`, `>` or unescaped `&` in the text.
 */
export interface ParsedCue {
  id: string | null;
  startMs: number;
  endMs: number;
  voice: string;
  text: string;
}

const TIMING = /^(\d{2,}):([0-5]\d):([0-5]\d)\.(\d{3}) --> (\d{2,}):([0-5]\d):([0-5]\d)\.(\d{3})$/;
const PAYLOAD = /^<v ([^>\r\n]+)>(.*)<\/v>$/;
const ENTITY = /&(amp|lt|gt|nbsp|lrm|rlm);/g;

function ms(h: string, m: string, s: string, milli: string): number {
  return ((Number(h) * 60 + Number(m)) * 60 + Number(s)) * 1000 + Number(milli);
}

function unescape(s: string): string {
  return s.replace(ENTITY, (_, n: string) => ({ amp: '&', lt: '<', gt: '>', nbsp: '\u00a0', lrm: '\u200e', rlm: '\u200f' })[n]!);
}

export function parseVttStrict(doc: string): ParsedCue[] {
  if (doc.includes('\r')) throw new Error('CR line endings are not produced by mediabot');
  const blocks = doc.split(/\n{2,}/).filter((b) => b.trim() !== '');
  const header = blocks.shift();
  if (header === undefined || !/^WEBVTT(?:[ \t].*)?$/.test(header.split('\n')[0]!)) throw new Error('missing WEBVTT header');
  const cues: ParsedCue[] = [];
  for (const block of blocks) {
    const lines = block.replace(/\n+$/, '').split('\n');
    let i = 0;
    let id: string | null = null;
    if (!lines[0]!.includes('-->')) {
      id = lines[0]!;
      i = 1;
    }
    const m = TIMING.exec(lines[i] ?? '');
    if (!m) throw new Error(`bad cue timing: ${JSON.stringify(lines[i])}`);
    const startMs = ms(m[1]!, m[2]!, m[3]!, m[4]!);
    const endMs = ms(m[5]!, m[6]!, m[7]!, m[8]!);
    if (endMs <= startMs) throw new Error(`cue ends before it starts: ${lines[i]}`);
    const prev = cues[cues.length - 1];
    if (prev !== undefined && startMs < prev.startMs) throw new Error('cue start times decrease');
    const payload = lines.slice(i + 1);
    if (payload.length !== 1) throw new Error(`expected one payload line, got ${payload.length}`);
    const p = PAYLOAD.exec(payload[0]!);
    if (!p) throw new Error(`payload is not a voice span: ${payload[0]}`);
    const raw = p[2]!;
    if (/[<>]/.test(raw)) throw new Error(`raw < or > in cue text: ${raw}`);
    if (/&(?!(amp|lt|gt|nbsp|lrm|rlm);)/.test(raw) || /&(?!(amp|gt);)/.test(p[1]!)) throw new Error(`unescaped & in cue: ${payload[0]}`);
    cues.push({ id, startMs, endMs, voice: unescape(p[1]!), text: unescape(raw) });
  }
  return cues;
}
