/**
 * Pausing a call's recording in the media core: hooks marked keepsMedia get no frames while paused
 * and hear a `recording.state` event in order with their frames; the recorder writes the paused
 * stretch as silence on the call's timeline and opens no file while paused.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { AsyncHook, AsyncHookItem, InlineHook, MediaEvent } from '../../../src/media/hooks/api.js';
import { createRecorderHook } from '../../../src/media/hooks/recorder/recorder-hook.js';
import { HookRunner } from '../../../src/media/hooks/runner.js';
import { parseWavPcm16 } from '../../../src/media/wire/wav.js';
import { FrameFactory } from '../hooks/frames.js';

const dir = mkdtempSync(join(tmpdir(), 'recording-pause-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('HookRunner recording pause', () => {
  it('gives keepsMedia hooks no frames while paused and tells every hook, in order', async () => {
    const inlineTicks: number[] = [];
    const otherTicks: number[] = [];
    const seen: string[] = [];
    const keeper: InlineHook = { name: 'keeper', keepsMedia: true, onFrame: (f) => void inlineTicks.push(f.tick), onEvent: (e) => void (e.type === 'recording.state' && seen.push(`${e.state}@${e.mediaTimeMs}`)) };
    const other: InlineHook = { name: 'other', onFrame: (f) => void otherTicks.push(f.tick) };
    const items: string[] = [];
    const asyncKeeper: AsyncHook = {
      name: 'async-keeper',
      keepsMedia: true,
      async run(it: AsyncIterable<AsyncHookItem>) {
        for await (const item of it) items.push(item.kind === 'frame' ? `f${item.tick}` : item.event.type === 'recording.state' ? item.event.state : item.event.type);
      },
    };
    const out: MediaEvent[] = [];
    const r = new HookRunner({ callId: 'c', hooks: [keeper, other, asyncKeeper], emit: (e) => out.push(e) });
    const ff = new FrameFactory('c');
    r.onTick(ff.frame(0, []));
    r.onTick(ff.frame(1, []));
    expect(r.setRecordingPaused(true)).toBe(40);
    expect(r.setRecordingPaused(true)).toBe(40); // no second event
    r.onTick(ff.frame(2, []));
    r.onTick(ff.frame(3, []));
    expect(r.setRecordingPaused(false)).toBe(80);
    r.onTick(ff.frame(4, []));
    await r.stop();
    expect(inlineTicks).toEqual([0, 1, 4]);
    expect(otherTicks).toEqual([0, 1, 2, 3, 4]);
    expect(seen).toEqual(['paused@40', 'recording@80']);
    expect(items).toEqual(['f0', 'f1', 'paused', 'recording', 'f4']);
    // The state is the call service's to report: hooks hear it, the event stream does not.
    expect(out.filter((e) => e.type === 'recording.state')).toEqual([]);
  });

  it('starts paused when asked, before the first frame', () => {
    const ticks: number[] = [];
    const r = new HookRunner({ callId: 'c', hooks: [{ name: 'k', keepsMedia: true, onFrame: (f) => void ticks.push(f.tick) }], emit: () => {}, recordingPaused: true });
    const ff = new FrameFactory('c');
    r.onTick(ff.frame(0, []));
    expect(r.isRecordingPaused).toBe(true);
    r.setRecordingPaused(false);
    r.onTick(ff.frame(1, []));
    expect(ticks).toEqual([1]);
  });
});

describe('recorder pause', () => {
  it('writes the paused stretch as silence (the file stays on the call timeline) and opens no file while paused', async () => {
    const events: MediaEvent[] = [];
    const rec = createRecorderHook({ dir, format: 'wav', nameFor: (_c, s) => `pause/${s}` });
    const ctx = { callId: 'p', emit: (e: MediaEvent) => events.push(e) };
    const r = new HookRunner({ callId: 'p', hooks: [rec], emit: ctx.emit });
    const ff = new FrameFactory('p');
    const a = { sourceId: 'a', talking: true, levelDbov: -20, fill: 1000 };
    const b = { sourceId: 'b', talking: true, levelDbov: -20, fill: 2000 };
    for (let t = 0; t < 10; t++) r.onTick(ff.frame(t, [a]));
    r.setRecordingPaused(true);
    // b appears only while paused: no file for it.
    for (let t = 10; t < 25; t++) r.onTick(ff.frame(t, [a, b]));
    r.setRecordingPaused(false);
    for (let t = 25; t < 30; t++) r.onTick(ff.frame(t, [a]));
    await r.stop();
    const mix = parseWavPcm16(readFileSync(join(dir, 'pause/mix.wav'))).samples;
    const src = parseWavPcm16(readFileSync(join(dir, 'pause/a.wav'))).samples;
    expect(src.length).toBe(30 * 320);
    expect(mix.length).toBe(30 * 320);
    expect(src.subarray(0, 10 * 320).every((v) => v === 1000)).toBe(true);
    expect(src.subarray(10 * 320, 25 * 320).every((v) => v === 0)).toBe(true);
    expect(src.subarray(25 * 320).every((v) => v === 1000)).toBe(true);
    expect(mix.subarray(10 * 320, 25 * 320).every((v) => v === 0)).toBe(true);
    expect(mix.subarray(25 * 320).some((v) => v !== 0)).toBe(true);
    expect(events.filter((e) => e.type === 'recording.file').map((e) => e.type === 'recording.file' && e.sourceId)).toEqual([null, 'a']);
  });
});
