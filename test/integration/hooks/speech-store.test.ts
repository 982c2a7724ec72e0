import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isMediabotError } from '../../../src/errors.js';
import { createAnalyticsHook } from '../../../src/media/hooks/builtin/analytics.js';
import { createTalkEventsHook } from '../../../src/media/hooks/builtin/talk-events.js';
import { HookRunner } from '../../../src/media/hooks/runner.js';
import type { AsyncHook, MediaEvent } from '../../../src/media/hooks/api.js';
import { openDatabase } from '../../../src/store/db.js';
import { SpeechStore } from '../../../src/store/speech-store.js';
import { FrameFactory, SCRIPT_END_MS, scriptedState } from '../../unit/hooks/frames.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'speech-store-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function codeOf(f: () => void): string | null {
  try {
    f();
    return null;
  } catch (e) {
    return isMediabotError(e) ? e.code : `untyped: ${String(e)}`;
  }
}

describe('SpeechStore', () => {
  it('stores a call fed by the real hooks and reads it back (file database, WAL, survives reopen)', async () => {
    const store = SpeechStore.open(dir, { flushIntervalMs: 50 });
    const transcriber: AsyncHook = {
      name: 'scripted-transcriber',
      wantsFrames: false,
      async run(items, ctx) {
        for await (const it of items) {
          if (it.kind === 'event' && it.event.type === 'talk.stop') {
            const e = it.event;
            ctx.emit({ type: 'transcript.final', callId: ctx.callId, sourceId: e.sourceId, text: `${e.sourceId} said ${e.durationMs} ms`, startMs: e.mediaTimeMs - e.durationMs, endMs: e.mediaTimeMs, mediaTimeMs: e.mediaTimeMs, confidence: 0.5 });
          }
        }
      },
    };
    const runner = new HookRunner({ callId: 'call-1', hooks: [createTalkEventsHook(), createAnalyticsHook(), transcriber], emit: (e) => store.recordEvent(e) });
    const ff = new FrameFactory('call-1');
    store.recordEvent({ type: 'call.roster', callId: 'call-1', participants: [{ id: 'A', displayName: 'Alice', muted: false }], at: new Date().toISOString() });
    for (let t = 0; t * 20 < SCRIPT_END_MS; t++) {
      runner.onTick(ff.frame(t, scriptedState(t * 20)));
      if (t % 50 === 0) await new Promise((r) => setImmediate(r));
    }
    await runner.stop();
    store.recordEvent({ type: 'recording.file', callId: 'call-1', sourceId: 'A', path: join(dir, 'call-1', 'A.opus'), format: 'ogg', mediaTimeMs: 0 });
    store.addRecording({ callId: 'call-1', sourceId: 'A', path: join(dir, 'call-1', 'A.opus'), format: 'ogg', durationMs: 10_000, bytes: 12345 });
    store.addRecording({ callId: 'call-1', sourceId: null, path: join(dir, 'call-1', 'mix.wav'), format: 'wav', durationMs: 10_000 });
    store.recordEvent({ type: 'call.state', callId: 'call-1', state: 'terminated', previous: 'established', at: new Date().toISOString() });
    store.close();

    const again = SpeechStore.open(dir);
    const segs = again.getTalkSegments('call-1');
    expect(segs).toEqual([
      { sourceId: 'A', startMs: 0, endMs: 2000 },
      { sourceId: 'B', startMs: 1500, endMs: 4000 },
      { sourceId: 'A', startMs: 5000, endMs: 5100 },
      { sourceId: 'B', startMs: 5000, endMs: 7200 },
      { sourceId: 'A', startMs: 6000, endMs: 9000 },
    ]);
    const lines = again.getTranscript('call-1');
    expect(lines.map((l) => [l.sourceId, l.startMs, l.endMs, l.text])).toEqual(segs.map((s) => [s.sourceId, s.startMs, s.endMs, `${s.sourceId} said ${s.endMs - s.startMs} ms`]));
    expect(lines[0]!.confidence).toBe(0.5);
    expect(again.getParticipants('call-1')).toEqual([
      { sourceId: 'A', displayName: 'Alice', firstMediaMs: 0, lastMediaMs: 9000, talkMs: 5100 },
      { sourceId: 'B', displayName: null, firstMediaMs: 1500, lastMediaMs: 7200, talkMs: 4700 },
    ]);
    expect(again.getAnalytics('call-1')).toMatchObject({ callId: 'call-1', talkMs: 8000, overlapMs: 1800, interruptions: 1 });
    const recs = again.getRecordings('call-1');
    expect(recs.map((r) => [r.sourceId, r.format, r.durationMs, r.bytes])).toEqual([
      ['A', 'ogg', 10_000, 12345],
      [null, 'wav', 10_000, null],
    ]);
    expect(again.listCalls()).toEqual([expect.objectContaining({ callId: 'call-1', state: 'terminated', participants: 2, transcriptLines: 5, recordings: 2 })]);
    again.close();
    const db = openDatabase(dir);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
  });

  it('batches writes: thousands of events in a handful of transactions', () => {
    const store = new SpeechStore(openDatabase(':memory:'), { flushIntervalMs: 10_000, maxBatch: 1000 });
    for (let i = 0; i < 2500; i++) store.recordEvent({ type: 'talk.stop', callId: 'c', sourceId: `s${i % 7}`, mediaTimeMs: i * 100 + 60, durationMs: 60 });
    expect(store.batches).toBe(2); // two full batches written, 500 pending
    expect(store.getTalkSegments('c')).toHaveLength(2500); // reads flush
    expect(store.batches).toBe(3);
    store.close();
  });

  it('rejects malformed events and records with a typed error and changes nothing', () => {
    const store = new SpeechStore(openDatabase(':memory:'));
    const bad: unknown[] = [
      null,
      'talk.stop',
      { type: 'talk.stop', callId: '', sourceId: 'a', mediaTimeMs: 0, durationMs: 0 },
      { type: 'talk.stop', callId: 'c', sourceId: 'a', mediaTimeMs: -1, durationMs: 0 },
      { type: 'transcript.final', callId: 'c', sourceId: 'a', text: 'x', startMs: 10, endMs: 5, mediaTimeMs: 10 },
      { type: 'transcript.final', callId: 'c', sourceId: 'a', text: 42, startMs: 0, endMs: 5, mediaTimeMs: 10 },
      { type: 'recording.file', callId: 'c', sourceId: 'a', path: 'x', format: 'mp3', mediaTimeMs: 0 },
      { type: 'analytics.snapshot', callId: 'c', sourceId: null, mediaTimeMs: 0, analytics: 'nope' },
      { type: 'call.roster', callId: 'c', participants: [{}], at: '' },
    ];
    for (const e of bad) expect(codeOf(() => store.recordEvent(e as MediaEvent))).toBe('MEDIABOT_STORE_BAD_EVENT');
    expect(codeOf(() => store.addRecording({ callId: 'c', sourceId: 'a', path: '', format: 'ogg' }))).toBe('MEDIABOT_STORE_BAD_EVENT');
    expect(codeOf(() => store.addRecording({ callId: 'c', sourceId: 'a', path: 'p', format: 'ogg', bytes: -5 }))).toBe('MEDIABOT_STORE_BAD_EVENT');
    expect(codeOf(() => store.saveAnalytics('', {}))).toBe('MEDIABOT_STORE_BAD_EVENT');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(codeOf(() => store.saveAnalytics('c', cyclic))).toBe('MEDIABOT_STORE_BAD_EVENT');
    // Types the store does not keep are ignored, not errors.
    store.recordEvent({ type: 'level', callId: 'c', mediaTimeMs: 0, levels: {} });
    expect(store.listCalls()).toEqual([]);
    expect(store.getTranscript('c')).toEqual([]);
    store.close();
    expect(codeOf(() => store.recordEvent({ type: 'talk.start', callId: 'c', sourceId: 'a', mediaTimeMs: 0 }))).toBe('MEDIABOT_STORE_FAILED');
  });
});
