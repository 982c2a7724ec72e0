import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTalkEventsHook } from '../../../src/media/hooks/builtin/talk-events.js';
import { createTranscriptHook } from '../../../src/media/hooks/builtin/transcript.js';
import { HookRunner } from '../../../src/media/hooks/runner.js';
import { createTranscriptionHook } from '../../../src/media/hooks/transcribe/hook.js';
import { WsTranscriber } from '../../../src/media/hooks/transcribe/ws.js';
import type { SourceFrame } from '../../../src/media/hooks/api.js';
import { openDatabase } from '../../../src/store/db.js';
import { SpeechStore } from '../../../src/store/speech-store.js';
import { parseVttStrict } from '../../unit/hooks/vtt-checker.js';
import { clip, CLIPS, concat, durationMs, silence } from '../transcribe/audio.js';
import { startLoopbackSttServer, type LoopbackSttServer } from '../transcribe/ws-stt-server.js';

let server: LoopbackSttServer;
beforeAll(async () => {
  server = await startLoopbackSttServer();
});
afterAll(async () => {
  await server.close();
});

describe('speech chain: frames → transcriber → transcript hook and store → VTT', () => {
  it('two speakers end up as attributed, ordered lines in the store and a valid WebVTT', async () => {
    const store = new SpeechStore(openDatabase(':memory:'), { flushIntervalMs: 20 });
    const transcript = createTranscriptHook();
    const runner = new HookRunner({
      callId: 'chain',
      hooks: [createTalkEventsHook(), createTranscriptionHook(new WsTranscriber({ url: server.url })), transcript],
      emit: (e) => store.recordEvent(e),
    });
    const pa = concat(silence(300), clip(CLIPS[1]!), silence(4000));
    const pb = concat(silence(3800), clip(CLIPS[4]!), silence(600));
    const n = Math.min(pa.length, pb.length) / 320;
    const bufs = [new Int16Array(320), new Int16Array(320)];
    const aEnd = 300 + durationMs(clip(CLIPS[1]!));
    const bStart = 3800;
    const sources: SourceFrame[] = ['alice', 'bob'].map((id, i) => ({ sourceId: id, pcm16: bufs[i]!, pcm48: new Int16Array(960), origin: 'packet', opus: null, talking: false, levelDbov: -30 }));
    for (let t = 0; t < n; t++) {
      const ms = t * 20;
      bufs[0]!.set(pa.subarray(t * 320, t * 320 + 320));
      bufs[1]!.set(pb.subarray(t * 320, t * 320 + 320));
      // The talking flag as the core's talk detector would roughly set it.
      (sources[0] as { talking: boolean }).talking = ms >= 300 && ms < aEnd;
      (sources[1] as { talking: boolean }).talking = ms >= bStart && ms < bStart + durationMs(clip(CLIPS[4]!));
      runner.onTick({ callId: 'chain', tick: t, mediaTimeMs: ms, sources, mix48: new Int16Array(960), mix16: new Int16Array(320), mixOpus: null });
      if (t % 25 === 0) await new Promise((r) => setImmediate(r));
    }
    await runner.stop();
    const stored = store.getTranscript('chain');
    expect(stored.length).toBeGreaterThanOrEqual(2);
    expect(stored.map((l) => ({ ...l }))).toEqual(transcript.lines());
    expect(stored.filter((l) => l.sourceId === 'alice').every((l) => l.endMs <= aEnd + 200)).toBe(true);
    expect(stored.filter((l) => l.sourceId === 'bob').every((l) => l.startMs >= bStart - 200)).toBe(true);
    const cues = parseVttStrict(transcript.toWebVtt({ speakerLabel: (id) => (id === 'alice' ? 'Alice' : 'Bob') }));
    expect(cues.map((c) => [c.voice, c.startMs])).toEqual(stored.map((l) => [l.sourceId === 'alice' ? 'Alice' : 'Bob', l.startMs]));
    expect(store.getTalkSegments('chain').map((s) => s.sourceId)).toEqual(['alice', 'bob']);
    expect(store.listCalls()[0]).toMatchObject({ callId: 'chain', participants: 2 });
    expect(runner.stats().hooks.every((h) => h.errors === 0 && h.dropped === 0)).toBe(true);
    store.close();
  });
});
