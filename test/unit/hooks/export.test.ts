import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createTranscriptHook } from '../../../src/media/hooks/builtin/transcript.js';
import { escapeVttText, formatVttTimestamp, transcriptToJson, transcriptToWebVtt, type TranscriptLine } from '../../../src/media/hooks/export.js';
import { HookRunner } from '../../../src/media/hooks/runner.js';
import type { AsyncHook } from '../../../src/media/hooks/api.js';
import { parseVttStrict } from './vtt-checker.js';

describe('VTT timestamps and escaping', () => {
  it('formats HH:MM:SS.mmm including hours and rounding', () => {
    expect(formatVttTimestamp(0)).toBe('00:00:00.000');
    expect(formatVttTimestamp(61_001)).toBe('00:01:01.001');
    expect(formatVttTimestamp(3_600_000 + 59 * 60_000 + 59_999)).toBe('01:59:59.999');
    expect(formatVttTimestamp(100 * 3_600_000)).toBe('100:00:00.000');
    expect(formatVttTimestamp(-5)).toBe('00:00:00.000');
  });
  it('escapes & < >', () => {
    expect(escapeVttText('a<b> & c')).toBe('a&lt;b&gt; &amp; c');
  });
});

describe('transcript export', () => {
  const lines: TranscriptLine[] = [
    { sourceId: 'bob', startMs: 4200, endMs: 5100, text: 'fine & you?' },
    { sourceId: 'alice', startMs: 1000, endMs: 3999, text: 'hello <bob>' },
    { sourceId: 'alice', startMs: 3_700_000, endMs: 3_700_000, text: 'an hour\nlater' },
  ];

  it('writes WebVTT that a strict checker parses back to the same lines with speaker labels', () => {
    const labels: Record<string, string> = { alice: 'Alice A.', bob: 'Bob <B> & Co' };
    const vtt = transcriptToWebVtt(lines, { speakerLabel: (id) => labels[id] ?? id });
    const cues = parseVttStrict(vtt);
    expect(cues.map((c) => [c.voice, c.text, c.startMs, c.endMs])).toEqual([
      ['Alice A.', 'hello <bob>', 1000, 3999],
      ['Bob <B> & Co', 'fine & you?', 4200, 5100],
      ['Alice A.', 'an hour later', 3_700_000, 3_700_001],
    ]);
    expect(vtt.startsWith('WEBVTT\n\n1\n00:00:01.000 --> 00:00:03.999\n<v Alice A.>hello &lt;bob&gt;</v>\n')).toBe(true);
  });

  it('the checker rejects what it should', () => {
    expect(() => parseVttStrict('1\n00:00:01.000 --> 00:00:02.000\n<v a>x</v>\n')).toThrow(/header/);
    expect(() => parseVttStrict('WEBVTT\n\n00:00:01.000 --> 00:00:00.500\n<v a>x</v>\n')).toThrow(/ends before/);
    expect(() => parseVttStrict('WEBVTT\n\n00:00:01.00 --> 00:00:02.000\n<v a>x</v>\n')).toThrow(/timing/);
    expect(() => parseVttStrict('WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<v a>x < y</v>\n')).toThrow(/raw/);
    expect(() => parseVttStrict('WEBVTT\n\n00:00:02.000 --> 00:00:03.000\n<v a>x</v>\n\n00:00:01.000 --> 00:00:02.000\n<v a>y</v>\n')).toThrow(/decrease/);
  });

  it('any lines at all give a valid VTT that round-trips text, speakers and times (property)', () => {
    const line = fc.record({
      sourceId: fc.string({ minLength: 1, maxLength: 8 }),
      startMs: fc.integer({ min: 0, max: 10_000_000 }),
      len: fc.integer({ min: 0, max: 60_000 }),
      text: fc.string({ maxLength: 40 }).filter((t) => !/[\r\n]/.test(t) && t.trim() === t && t !== ''),
    });
    fc.assert(
      fc.property(fc.array(line, { maxLength: 20 }), (ls) => {
        const input = ls.map((l) => ({ sourceId: l.sourceId, startMs: l.startMs, endMs: l.startMs + l.len, text: l.text }));
        const cues = parseVttStrict(transcriptToWebVtt(input));
        const sorted = transcriptToJson(null, input).lines;
        expect(cues.map((c) => [c.text, c.startMs, c.endMs])).toEqual(sorted.map((l) => [l.text, l.startMs, Math.max(l.endMs, l.startMs + 1)]));
        cues.forEach((c, i) => expect(c.voice).toBe(sorted[i]!.sourceId.replace(/[\r\n]+/g, ' ').trim() || 'Speaker'));
      }),
    );
  });

  it('the transcript hook collects transcript.final events emitted by another hook', async () => {
    const fake: AsyncHook = {
      name: 'fake-transcriber',
      wantsFrames: false,
      async run(_items, ctx) {
        ctx.emit({ type: 'transcript.partial', callId: ctx.callId, sourceId: 'bob', text: 'fi', startMs: 4200, endMs: 4500, mediaTimeMs: 4500 });
        for (const l of lines) ctx.emit({ type: 'transcript.final', callId: ctx.callId, sourceId: l.sourceId, text: l.text, startMs: l.startMs, endMs: l.endMs, mediaTimeMs: l.endMs, confidence: 0.5 });
      },
    };
    const hook = createTranscriptHook();
    const r = new HookRunner({ callId: 'c9', hooks: [fake, hook], emit: () => {} });
    await r.stop();
    const doc = hook.toJSON();
    expect(doc.callId).toBe('c9');
    expect(doc.lines.map((l) => l.startMs)).toEqual([1000, 4200, 3_700_000]);
    expect(doc.lines[0]).toEqual({ sourceId: 'alice', startMs: 1000, endMs: 3999, text: 'hello <bob>', confidence: 0.5 });
    expect(parseVttStrict(hook.toWebVtt())).toHaveLength(3);
    expect(JSON.parse(JSON.stringify(doc))).toEqual(doc);
  });
});
