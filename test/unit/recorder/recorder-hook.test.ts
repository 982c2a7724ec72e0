import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRecorderHook, type RecordingInfo } from '../../../src/media/hooks/recorder/recorder-hook.js';
import { silenceOpusPacket } from '../../../src/media/hooks/recorder/silence.js';
import type { HookContext, MediaEvent } from '../../../src/media/hooks/api.js';
import { SpeechCall } from '../../fixtures/recorder/speech-call.js';
import { FRAME, ffmpegDecode, speech48k } from '../../fixtures/recorder/speech.js';

const require = createRequire(import.meta.url);
const prism = require('prism-media') as { opus: { OggDemuxer: new () => NodeJS.ReadWriteStream } };

function demuxFile(path: string): Promise<Buffer[]> {
  return new Promise((res, rej) => {
    const d = new prism.opus.OggDemuxer();
    const out: Buffer[] = [];
    d.on('data', (p: Buffer) => out.push(Buffer.from(p)));
    d.on('error', rej);
    d.on('end', () => res(out));
    d.end(readFileSync(path));
  });
}

function ctxFor(callId: string, events: MediaEvent[]): HookContext {
  return { callId, emit: (e) => events.push(e) };
}

let dir: string;
let speechA: Int16Array;
let speechB: Int16Array;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'recorder-hook-'));
  speechA = speech48k('Alice says the recording starts now and keeps going.');
  speechB = speech48k('Bob joins late and his line drops out for a while.');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('recorder hook', () => {
  it('records each source and the mix, Ogg without re-encoding and WAV sample-exact, keeping timing through joins, losses and gaps', async () => {
    const base = join(dir, 'main');
    const events: MediaEvent[] = [];
    const files: RecordingInfo[] = [];
    const hook = createRecorderHook({ dir: base, format: 'both', onFile: (i) => files.push(i) });
    const call = new SpeechCall(
      'call-1',
      [
        { id: 'alice', speech: speechA, lost: (t) => t % 5 === 2 },
        { id: 'bob', speech: speechB, joinTick: 50, absent: (t) => t >= 120 && t < 150, lost: (t) => t % 11 === 0 },
      ],
      (t) => t % 4 === 1,
    );
    const ctx = ctxFor('call-1', events);
    hook.start?.(ctx);
    const ticks = 260;
    for (let i = 0; i < ticks; i++) {
      hook.onFrame(call.next(), ctx);
      call.scribble(); // the hook must have copied what it keeps
    }
    const live = hook.recordings('call-1');
    expect(live).toHaveLength(6);
    expect(live.every((r) => !r.closed && r.bytes > 0)).toBe(true);
    await hook.stop?.(ctx);
    expect(hook.recordings('call-1')).toEqual([]);

    const callDir = join(base, 'call-1');
    expect(readdirSync(callDir).sort()).toEqual(['alice.opus', 'alice.wav', 'bob.opus', 'bob.wav', 'mix.opus', 'mix.wav']);

    // One recording.file event per file, with the source and the media time it started at.
    const opened = events.filter((e): e is Extract<MediaEvent, { type: 'recording.file' }> => e.type === 'recording.file');
    expect(opened.map((e) => `${e.sourceId ?? 'mix'}.${e.format}@${e.mediaTimeMs}`).sort()).toEqual(
      ['alice.ogg@0', 'alice.wav@0', 'bob.ogg@1000', 'bob.wav@1000', 'mix.ogg@0', 'mix.wav@0'].sort(),
    );
    expect(events.some((e) => e.type === 'hook.error')).toBe(false);
    // onFile: once on open, once on close, with final figures.
    const closed = files.filter((f) => f.closed);
    expect(closed).toHaveLength(6);
    expect(files.filter((f) => !f.closed)).toHaveLength(6);

    const silence = Buffer.from(silenceOpusPacket());
    for (const id of ['alice', 'bob', 'mix']) {
      const log = call.log.get(id)!;
      const firstTick = log[0]!.tick;
      const frames = ticks - firstTick; // bob's absence is padded with silence
      const ogg = closed.find((f) => (f.sourceId ?? 'mix') === id && f.format === 'ogg')!;
      expect(ogg.path).toBe(resolve(callDir, `${id}.opus`));
      expect(ogg.startMediaTimeMs).toBe(firstTick * 20);
      expect(ogg.durationMs).toBeCloseTo((frames * FRAME - 312) / 48, 6);
      expect(ogg.bytes).toBe(readFileSync(ogg.path).length);

      // The packets are the ones received, in tick order, with the silence packet where there was none.
      const byTick = new Map(log.map((l) => [l.tick, l]));
      const expected: Buffer[] = [];
      for (let t = firstTick; t < ticks; t++) {
        const o = byTick.get(t)?.opus;
        expected.push(o ? Buffer.from(o) : silence);
      }
      const got = await demuxFile(ogg.path);
      expect(got.length).toBe(expected.length);
      expect(got.every((p, i) => p.equals(expected[i]!))).toBe(true);

      const { pcm, stderr } = ffmpegDecode(ogg.path);
      expect(stderr).toBe('');
      expect(Math.abs(pcm.length - frames * FRAME)).toBeLessThanOrEqual(FRAME);

      // WAV: the 16 kHz tap exactly, zeros where the source was absent.
      const wav = closed.find((f) => (f.sourceId ?? 'mix') === id && f.format === 'wav')!;
      expect(wav.durationMs).toBe(frames * 20);
      const want = new Int16Array(frames * 320);
      for (const l of log) want.set(l.pcm16, (l.tick - firstTick) * 320);
      const back = ffmpegDecode(wav.path, 16_000);
      expect(back.stderr).toBe('');
      expect(Buffer.from(back.pcm.buffer, back.pcm.byteOffset, back.pcm.byteLength).equals(Buffer.from(want.buffer))).toBe(true);
    }
  });

  it('names files safely inside the folder, never reusing a name or overwriting a file', async () => {
    const base = join(dir, 'names');
    const events: MediaEvent[] = [];
    const hook = createRecorderHook({ dir: base });
    const callId = '../../etc/passwd';
    const call = new SpeechCall(callId, [
      { id: 'a/b c:d', speech: speechA },
      { id: 'mix', speech: speechB },
      { id: '..', speech: speechB },
    ]);
    const ctx = ctxFor(callId, events);
    for (let i = 0; i < 30; i++) hook.onFrame(call.next(false), ctx);
    await hook.stop?.(ctx);
    const paths = events.flatMap((e) => (e.type === 'recording.file' ? [e.path] : []));
    expect(paths).toHaveLength(4);
    for (const p of paths) {
      expect(p.startsWith(resolve(base) + '/')).toBe(true);
      expect(existsSync(p)).toBe(true);
    }
    expect(new Set(paths).size).toBe(4);
    const safeCall = '___.._etc_passwd'; // '/' -> '_', leading dots -> '_'
    expect(readdirSync(base)).toEqual([safeCall]);
    const names = readdirSync(join(base, safeCall)).sort();
    expect(names).toEqual(['__.opus', 'a_b_c_d.opus', 'mix-2.opus', 'mix.opus']);

    // The same call id again (a restarted call) gets new names, the old files stay.
    const before = readFileSync(join(base, safeCall, 'mix.opus'));
    const again = createRecorderHook({ dir: base, mix: true, perSource: false });
    const call2 = new SpeechCall(callId, [{ id: 'x', speech: speechA }]);
    for (let i = 0; i < 5; i++) again.onFrame(call2.next(false), ctx);
    await again.stop?.(ctx);
    expect(readFileSync(join(base, safeCall, 'mix.opus')).equals(before)).toBe(true);
    expect(existsSync(join(base, safeCall, 'mix-3.opus'))).toBe(true);
  });

  it('uses nameFor, sanitised and kept inside the folder', async () => {
    const base = join(dir, 'custom');
    const hook = createRecorderHook({ dir: base, nameFor: (c, s) => `../${c}/2026/${s}!` });
    const call = new SpeechCall('c9', [{ id: 'eve', speech: speechA }]);
    const ctx = ctxFor('c9', []);
    for (let i = 0; i < 5; i++) hook.onFrame(call.next(false), ctx);
    await hook.stop?.(ctx);
    expect(readdirSync(join(base, 'c9', '2026')).sort()).toEqual(['eve_.opus', 'mix_.opus']);
  });

  it('keeps each call apart when one hook serves several calls', async () => {
    const base = join(dir, 'multi');
    const hook = createRecorderHook({ dir: base, mix: false });
    const c1 = new SpeechCall('one', [{ id: 'a', speech: speechA }]);
    const c2 = new SpeechCall('two', [{ id: 'a', speech: speechB }]);
    const x1 = ctxFor('one', []);
    const x2 = ctxFor('two', []);
    for (let i = 0; i < 40; i++) {
      hook.onFrame(c1.next(false), x1);
      if (i >= 10) hook.onFrame(c2.next(false), x2);
    }
    await hook.stop?.(x1);
    expect(hook.recordings('one')).toEqual([]);
    expect(hook.recordings('two')).toHaveLength(1);
    expect(hook.recordings()).toHaveLength(1);
    await hook.stop?.(x2);
    expect((await demuxFile(join(base, 'one', 'a.opus'))).length).toBe(40);
    expect((await demuxFile(join(base, 'two', 'a.opus'))).length).toBe(30);
  });

  it('replaces malformed packets with silence and keeps recording', async () => {
    const base = join(dir, 'bad-packets');
    const events: MediaEvent[] = [];
    const hook = createRecorderHook({ dir: base, mix: false });
    const call = new SpeechCall('bp', [{ id: 'z', speech: speechA }]);
    const ctx = ctxFor('bp', events);
    for (let i = 0; i < 50; i++) {
      const f = call.next(false);
      const src = f.sources[0] as { opus: Uint8Array | null };
      if (i % 10 === 5) src.opus = new Uint8Array(0);
      if (i % 10 === 6) src.opus = Uint8Array.of(0x03); // code 3 without its count byte
      hook.onFrame(f, ctx);
    }
    await hook.stop?.(ctx);
    expect(events.some((e) => e.type === 'hook.error')).toBe(false);
    const path = join(base, 'bp', 'z.opus');
    const packets = await demuxFile(path);
    expect(packets.length).toBe(50);
    const silence = Buffer.from(silenceOpusPacket());
    expect(packets[5]!.equals(silence) && packets[6]!.equals(silence)).toBe(true);
    const { pcm, stderr } = ffmpegDecode(path);
    expect(stderr).toBe('');
    expect(pcm.length).toBe(50 * FRAME - 312);
  });

  it('reports an unwritable folder as hook.error events and never throws from onFrame', async () => {
    const blocker = join(dir, 'not-a-dir');
    writeFileSync(blocker, 'x');
    const events: MediaEvent[] = [];
    const files: RecordingInfo[] = [];
    const hook = createRecorderHook({ dir: blocker, format: 'both', onFile: (i) => files.push(i) });
    const call = new SpeechCall('e1', [{ id: 'a', speech: speechA }]);
    const ctx = ctxFor('e1', events);
    for (let i = 0; i < 40; i++) {
      expect(() => hook.onFrame(call.next(false), ctx)).not.toThrow();
      await new Promise((r) => setImmediate(r)); // let the deferred opens fail, as between real ticks
    }
    // Found during the call (at each file's first flush), not only at the end.
    const during = events.filter((e) => e.type === 'hook.error').length;
    expect(during).toBe(4); // mix and a, Ogg and WAV
    await hook.stop?.(ctx);
    const errors = events.filter((e) => e.type === 'hook.error');
    expect(errors).toHaveLength(4);
    for (const e of errors) expect(e).toMatchObject({ callId: 'e1', hook: 'recorder', sourceId: null });
    expect(errors.every((e) => e.type === 'hook.error' && /ENOTDIR|not a directory/i.test(e.message))).toBe(true);
    const closed = files.filter((f) => f.closed);
    expect(closed).toHaveLength(4);
    expect(closed.every((f) => f.error !== null)).toBe(true);
  });

  it('reports a failure found only at stop (ticks ran without a pause)', async () => {
    const blocker = join(dir, 'not-a-dir-2');
    writeFileSync(blocker, 'x');
    const events: MediaEvent[] = [];
    const hook = createRecorderHook({ dir: blocker });
    const call = new SpeechCall('e2', [{ id: 'a', speech: speechA }]);
    const ctx = ctxFor('e2', events);
    for (let i = 0; i < 10; i++) hook.onFrame(call.next(false), ctx);
    await hook.stop?.(ctx);
    expect(events.filter((e) => e.type === 'hook.error')).toHaveLength(2);
  });

  it('rejects bad options with a typed error', () => {
    for (const opts of [
      { dir: '' },
      { dir: dir, format: 'mp3' },
      { dir: dir, wavRate: 8000 },
      { dir: dir, flushEveryMs: 0 },
    ]) {
      expect(() => createRecorderHook(opts as never)).toThrow(expect.objectContaining({ code: 'MEDIABOT_RECORDING_INVALID' }));
    }
  });
});
