import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isMediabotError } from '../../../src/errors.js';
import { HookRunner } from '../../../src/media/hooks/runner.js';
import { createTranscriptionHook } from '../../../src/media/hooks/transcribe/hook.js';
import type { TranscriptResult } from '../../../src/media/hooks/transcribe/types.js';
import { WsTranscriber } from '../../../src/media/hooks/transcribe/ws.js';
import type { MediaEvent, SourceFrame } from '../../../src/media/hooks/api.js';
import { adapterSuite } from './adapter-suite.js';
import { clip, CLIPS, concat, durationMs, silence } from './audio.js';
import { startLoopbackSttServer, type LoopbackSttServer } from './ws-stt-server.js';

let server: LoopbackSttServer;
beforeAll(async () => {
  server = await startLoopbackSttServer();
});
afterAll(async () => {
  await server.close();
});

describe('WebSocket STT adapter', () => {
  adapterSuite({ name: 'ws (loopback energy server)', create: () => new WsTranscriber({ url: server.url }), recognisesWords: false, slackMs: 200 });

  it('speaks the protocol: one connection per stream with a start message, 640-byte frames, end', async () => {
    const before = server.sessions.length;
    const t = new WsTranscriber({ url: server.url });
    const s = t.open({ callId: 'call-7', sourceId: 'alice', sampleRate: 16000 });
    const pcm = concat(silence(400), clip(CLIPS[1]!), silence(600));
    for (let f = 0; f * 320 < pcm.length; f++) s.write(pcm.subarray(f * 320, f * 320 + 320), 1000 + f * 20);
    await s.end();
    const sess = server.sessions.slice(before);
    expect(sess).toHaveLength(1);
    expect(sess[0]).toMatchObject({ start: { type: 'start', callId: 'call-7', sourceId: 'alice', sampleRate: 16000, encoding: 'pcm_s16le', streamOffsetMs: 0 }, frames: pcm.length / 320, badFrames: 0, ended: true });
  });

  it('reconnects with backoff after a dropped connection and keeps media times right', async () => {
    const before = server.sessions.length;
    server.dropAfterFrames = 50; // drops during the first second
    const t = new WsTranscriber({ url: server.url, backoffMs: 20 });
    const s = t.open({ callId: 'c', sourceId: 'bob', sampleRate: 16000 });
    const results: TranscriptResult[] = [];
    s.onResult((r) => results.push(r));
    const pcm = concat(silence(1000), silence(1000), clip(CLIPS[1]!), silence(1000));
    // Paced a little so the drop is noticed mid-stream.
    for (let f = 0; f * 320 < pcm.length; f++) {
      s.write(pcm.subarray(f * 320, f * 320 + 320), f * 20);
      if (f % 25 === 0) await new Promise((r) => setTimeout(r, 10));
    }
    await s.end();
    expect(server.sessions.length - before).toBe(2);
    const second = server.sessions[before + 1]!;
    expect((second.start as { streamOffsetMs: number }).streamOffsetMs).toBeGreaterThan(0);
    const finals = results.filter((r) => r.final);
    expect(finals.length).toBeGreaterThan(0);
    for (const r of finals) {
      expect(r.startMs).toBeGreaterThanOrEqual(2000 - 200);
      expect(r.endMs).toBeLessThanOrEqual(2000 + durationMs(clip(CLIPS[1]!)) + 200);
    }
  });

  it('gives up after bounded reconnects with a typed error', async () => {
    const t = new WsTranscriber({ url: 'ws://127.0.0.1:9/none', maxReconnects: 2, backoffMs: 10 });
    const s = t.open({ callId: 'c', sourceId: 'x', sampleRate: 16000 });
    s.write(new Int16Array(320), 0);
    let err: unknown;
    await s.end().catch((e: unknown) => (err = e));
    expect(isMediabotError(err) && err.code).toBe('MEDIABOT_TRANSCRIBER_FAILED');
  });

  it('as a hook: transcript events per speaker, from frames of a whole call', async () => {
    const events: MediaEvent[] = [];
    const runner = new HookRunner({ callId: 'hooked', hooks: [createTranscriptionHook(new WsTranscriber({ url: server.url }))], emit: (e) => events.push(e) });
    const pa = concat(silence(200), clip(CLIPS[1]!), silence(3600));
    const pb = concat(silence(3500), clip(CLIPS[4]!), silence(600));
    const bufs = [new Int16Array(320), new Int16Array(320)];
    const sources: SourceFrame[] = ['alice', 'bob'].map((id, i) => ({ sourceId: id, pcm16: bufs[i]!, pcm48: new Int16Array(960), origin: 'packet', opus: null, talking: false, levelDbov: -30 }));
    const n = Math.min(pa.length, pb.length) / 320;
    for (let t = 0; t < n; t++) {
      bufs[0]!.set(pa.subarray(t * 320, t * 320 + 320));
      bufs[1]!.set(pb.subarray(t * 320, t * 320 + 320));
      runner.onTick({ callId: 'hooked', tick: t, mediaTimeMs: t * 20, sources, mix48: new Int16Array(960), mix16: new Int16Array(320), mixOpus: null });
      if (t % 25 === 0) await new Promise((r) => setImmediate(r));
    }
    await runner.stop();
    const finals = events.filter((e): e is Extract<MediaEvent, { type: 'transcript.partial' | 'transcript.final' }> => e.type === 'transcript.final');
    const alice = finals.filter((e) => e.sourceId === 'alice');
    const bob = finals.filter((e) => e.sourceId === 'bob');
    expect(alice.length).toBeGreaterThan(0);
    expect(bob.length).toBeGreaterThan(0);
    for (const e of alice) expect(e.endMs).toBeLessThanOrEqual(200 + durationMs(clip(CLIPS[1]!)) + 200);
    for (const e of bob) expect(e.startMs).toBeGreaterThanOrEqual(3500 - 200);
    expect(events.some((e) => e.type === 'transcript.partial')).toBe(true);
    expect(events.filter((e) => e.type === 'hook.error')).toEqual([]);
  });
});
