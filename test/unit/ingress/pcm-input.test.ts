import { describe, expect, it } from 'vitest';
import { PCM_FLAG_CONCEALED, PCM_FLAG_SILENCE, PcmFrameInput } from '../../../src/media/session/pcm/pcm-input.js';

/** A 16 kHz frame whose samples all equal `v` (so the played frame tells which one it was). */
const frame16 = (v: number): Int16Array => new Int16Array(320).fill(v);
const out = new Int16Array(960);

/** Pulls `n` frames; returns the middle sample of each (0 = silence) and the origins. */
function pullN(input: PcmFrameInput, n: number): { values: number[]; origins: string[] } {
  const values: number[] = [];
  const origins: string[] = [];
  for (let i = 0; i < n; i++) {
    origins.push(input.pull(out));
    values.push(out[480]!);
  }
  return { values, origins };
}

describe('PcmFrameInput', () => {
  it('plays frames in timestamp order after the play-out delay, reordering within it', () => {
    const input = new PcmFrameInput({ playoutDelayMs: 40 });
    input.push(16_000, 1000, frame16(100));
    input.push(16_000, 1040, frame16(300));
    input.push(16_000, 1020, frame16(200));
    const { values, origins } = pullN(input, 6);
    expect(values).toEqual([0, 0, 100, 200, 300, 0]);
    expect(origins).toEqual(['silence', 'silence', 'packet', 'packet', 'packet', 'silence']);
    expect(input.stats).toMatchObject({ received: 3, played: 3, gapFrames: 1, late: 0, dropped: 0, depth: 0 });
  });

  it('fills a timestamp gap with silence of exactly its length', () => {
    const input = new PcmFrameInput({ playoutDelayMs: 100 });
    input.push(16_000, 0, frame16(1));
    input.push(16_000, 100, frame16(2)); // 4 frames missing (20..80)
    const { values } = pullN(input, 11);
    expect(values).toEqual([0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 2]);
    expect(input.stats.gapFrames).toBe(4);
  });

  it('drops late frames and duplicates, counting them', () => {
    const input = new PcmFrameInput({ playoutDelayMs: 0 });
    input.push(16_000, 0, frame16(1));
    pullN(input, 2);
    input.push(16_000, 0, frame16(9)); // slot already played
    input.push(16_000, 60, frame16(3));
    input.push(16_000, 60, frame16(4)); // duplicate
    expect(input.stats).toMatchObject({ late: 1, duplicates: 1 });
    expect(pullN(input, 2).values).toEqual([0, 3]); // slot 40 ms is a gap, 60 ms plays
  });

  it('bounds a burst faster than real time: oldest dropped, newest kept, memory fixed', () => {
    const input = new PcmFrameInput({ playoutDelayMs: 160, maxQueueMs: 200 }); // 10 slots
    for (let i = 0; i < 100; i++) input.push(16_000, i * 20, frame16(i + 1));
    expect(input.stats.depth).toBe(10);
    expect(input.stats.dropped).toBe(90);
    const { values } = pullN(input, 18);
    // play-out starts one delay (8 frames) before the newest
    expect(values.slice(8)).toEqual([92, 93, 94, 95, 96, 97, 98, 99, 100, 0]);
    expect(input.stats.dropped).toBe(91);
  });

  it('restarts its grid after a large timestamp jump', () => {
    const input = new PcmFrameInput({ playoutDelayMs: 0, maxQueueMs: 200, resyncMs: 1000 });
    input.push(16_000, 5000, frame16(1));
    pullN(input, 1);
    input.push(16_000, 0, frame16(2)); // the sender restarted its clock
    expect(input.stats.resyncs).toBe(1);
    expect(pullN(input, 1).values).toEqual([2]);
  });

  it('upsamples 24 kHz and passes 48 kHz through; honours silence and concealed flags', () => {
    const input = new PcmFrameInput({ playoutDelayMs: 60 });
    input.push(48_000, 0, new Int16Array(960).fill(777));
    input.push(24_000, 20, new Int16Array(480).fill(5000));
    input.push(16_000, 40, frame16(5000), PCM_FLAG_SILENCE);
    input.push(16_000, 60, frame16(5000), PCM_FLAG_CONCEALED);
    expect(pullN(input, 3).origins).toEqual(['silence', 'silence', 'silence']);
    expect(input.pull(out)).toBe('packet');
    expect(out.every((v) => v === 777)).toBe(true);
    expect(input.pull(out)).toBe('packet');
    expect(out[959]).toBeGreaterThan(4000);
    expect(input.pull(out)).toBe('silence');
    expect(out.every((v) => v === 0)).toBe(true);
    expect(input.pull(out)).toBe('plc');
    expect(input.stats).toMatchObject({ silentFrames: 1, concealed: 1 });
  });

  it('starts from the newest frames of a backlog and trims a standing backlog back to the play-out delay', () => {
    const input = new PcmFrameInput({ playoutDelayMs: 40, catchUpMs: 100 });
    for (let i = 0; i < 30; i++) input.push(16_000, i * 20, frame16(i + 1)); // 600 ms arrived at once
    const first = pullN(input, 3).values;
    expect(first).toEqual([0, 0, 28]); // frames 28..30 kept: latency = the delay, not the backlog
    expect(input.stats.dropped).toBe(27);
    // now the sender runs ahead: 2 frames per pull for a while, so the queue grows past delay + slack
    let ts = 30 * 20;
    for (let k = 0; k < 60; k++) {
      input.push(16_000, ts, frame16(1)); ts += 20;
      input.push(16_000, ts, frame16(1)); ts += 20;
      input.pull(out);
    }
    expect(input.stats.catchUps).toBeGreaterThanOrEqual(1);
    expect(input.stats.depth).toBeLessThanOrEqual(2 + 5 + 50);
  });

  it('rejects bad frames with typed errors and changes nothing', () => {
    const input = new PcmFrameInput();
    expect(() => input.push(8000, 0, new Int16Array(160))).toThrowError(expect.objectContaining({ code: 'MEDIABOT_INGRESS_BAD_RATE' }));
    expect(() => input.push(16_000, 0, new Int16Array(319))).toThrowError(expect.objectContaining({ code: 'MEDIABOT_INGRESS_BAD_FRAME' }));
    expect(() => input.push(16_000, Number.NaN, new Int16Array(320))).toThrowError(expect.objectContaining({ code: 'MEDIABOT_INGRESS_BAD_FRAME' }));
    expect(input.stats.received).toBe(0);
    expect(input.stats.depth).toBe(0);
    expect(() => new PcmFrameInput({ maxQueueMs: 1 })).toThrowError(expect.objectContaining({ code: 'MEDIABOT_CONFIG_INVALID' }));
  });
});

describe('PcmFrameInput with a sender that falls behind', () => {
  it('moves the grid for a steadily late sender, but not for a replayed burst', () => {
    const input = new PcmFrameInput({ playoutDelayMs: 40 });
    let ts = 0;
    for (let k = 0; k < 3; k++) {
      input.push(16_000, ts, frame16(1));
      ts += 20;
    }
    pullN(input, 10); // 3 played, then 5 pulls of nothing: the sender is now ~5 frames behind
    ts -= 0; // it carries on from where it was, at real time: each frame arrives late by the same amount
    let played = 0;
    for (let k = 0; k < 40; k++) {
      input.push(16_000, ts, frame16(2));
      ts += 20;
      input.pull(out);
      if (out[480] === 2) played++;
    }
    expect(input.stats.resyncs).toBe(1);
    expect(played).toBeGreaterThan(20);

    const replay = new PcmFrameInput({ playoutDelayMs: 40 });
    for (let k = 0; k < 3; k++) replay.push(16_000, k * 20, frame16(1));
    pullN(replay, 60); // 1.2 s pass; then 50 old frames arrive at once (an outage flushed late)
    for (let k = 3; k < 53; k++) replay.push(16_000, k * 20, frame16(3));
    expect(replay.stats.late).toBe(50);
    expect(replay.stats.resyncs).toBe(0);
  });
});
