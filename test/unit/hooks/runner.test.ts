import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { HookRunner } from '../../../src/media/hooks/runner.js';
import type { AsyncHook, AsyncHookItem, InlineHook, MediaEvent } from '../../../src/media/hooks/api.js';
import { FrameFactory } from './frames.js';

function collect(): { events: MediaEvent[]; emit: (e: MediaEvent) => void } {
  const events: MediaEvent[] = [];
  return { events, emit: (e) => events.push(e) };
}

describe('HookRunner inline hooks', () => {
  it('times each call against the budget with the injected clock and counts overruns', () => {
    let clock = 0n;
    const costs = [100, 900, 300, 2000]; // µs per call
    let i = 0;
    const hook: InlineHook = {
      name: 'costly',
      budgetUs: 500,
      onFrame() {
        clock += BigInt(costs[i++ % costs.length]! * 1000);
      },
    };
    const { emit } = collect();
    const r = new HookRunner({ callId: 'c', hooks: [hook], emit, now: () => clock });
    const ff = new FrameFactory('c');
    for (let t = 0; t < 8; t++) r.onTick(ff.frame(t, [{ sourceId: 'a', talking: true, levelDbov: -20 }]));
    const st = r.stats().hooks[0]!;
    expect(st).toMatchObject({ name: 'costly', kind: 'inline', calls: 8, overBudget: 4, errors: 0, maxUs: 2000 });
    expect(st.p99Us).toBe(2000);
  });

  it('isolates a throwing hook: reported once, disabled after consecutive errors, others keep running', () => {
    let good = 0;
    const bad: InlineHook = {
      name: 'bad',
      onFrame() {
        throw new Error('boom');
      },
    };
    const ok: InlineHook = { name: 'ok', onFrame: () => void good++ };
    const { events, emit } = collect();
    const r = new HookRunner({ callId: 'c', hooks: [bad, ok], emit, maxConsecutiveErrors: 3 });
    const ff = new FrameFactory('c');
    for (let t = 0; t < 10; t++) expect(() => r.onTick(ff.frame(t, []))).not.toThrow();
    expect(good).toBe(10);
    const errs = events.filter((e) => e.type === 'hook.error');
    expect(errs).toHaveLength(2); // the first error, then the disabling
    expect(errs[0]).toMatchObject({ hook: 'bad', callId: 'c' });
    expect(errs[0]!.type === 'hook.error' && errs[0]!.message).toContain('boom');
    expect(errs[1]!.type === 'hook.error' && errs[1]!.message).toContain('disabled');
    const st = r.stats().hooks;
    expect(st[0]).toMatchObject({ name: 'bad', errors: 3, calls: 3, disabled: true });
    expect(st[1]).toMatchObject({ name: 'ok', errors: 0, calls: 10, disabled: false });
  });

  it('ignores things that are not hooks instead of crashing', () => {
    let n = 0;
    const r = new HookRunner({ callId: 'c', hooks: [null, 42, {}, { name: 'ok', onFrame: () => void n++ }] as unknown as InlineHook[], emit: () => {} });
    r.onTick(new FrameFactory('c').frame(0, []));
    expect(n).toBe(1);
    expect(r.stats().hooks.map((h) => h.name)).toEqual(['ok']);
  });

  it('feeds events emitted by one hook to the others, not back to the emitter', () => {
    const seenByB: string[] = [];
    const seenByA: string[] = [];
    const a: InlineHook = {
      name: 'a',
      onFrame(f, ctx) {
        ctx.emit({ type: 'talk.start', callId: ctx.callId, sourceId: 'x', mediaTimeMs: f.mediaTimeMs });
      },
      onEvent: (e) => void seenByA.push(e.type),
    };
    const b: InlineHook = { name: 'b', onFrame() {}, onEvent: (e) => void seenByB.push(e.type) };
    const { events, emit } = collect();
    const r = new HookRunner({ callId: 'c', hooks: [a, b], emit });
    r.onTick(new FrameFactory('c').frame(0, []));
    r.onEvent({ type: 'source.added', callId: 'c', sourceId: 'x', mediaTimeMs: 0 });
    expect(events.map((e) => e.type)).toEqual(['talk.start']);
    expect(seenByB).toEqual(['talk.start', 'source.added']);
    expect(seenByA).toEqual(['source.added']);
  });
});

describe('HookRunner async hooks', () => {
  it('delivers copies, not views, of every source and the mix', async () => {
    const got: Array<{ tick: number; a: number; b: number; mix: number; talking: boolean }> = [];
    const hook: AsyncHook = {
      name: 'copy-check',
      async run(items) {
        for await (const it of items) if (it.kind === 'frame') got.push({ tick: it.tick, a: it.sources[0]!.pcm16[5]!, b: it.sources[1]!.pcm16[5]!, mix: it.mix16[0]!, talking: it.sources[0]!.talking });
      },
    };
    const r = new HookRunner({ callId: 'c', hooks: [hook], emit: () => {} });
    const ff = new FrameFactory('c');
    // The factory reuses its buffers each tick, as the core does.
    for (let t = 0; t < 5; t++) r.onTick(ff.frame(t, [{ sourceId: 'a', talking: t % 2 === 0, levelDbov: -20, fill: t * 10 }, { sourceId: 'b', talking: false, levelDbov: -127, fill: 100 - t }]));
    await r.stop();
    expect(got).toEqual([0, 1, 2, 3, 4].map((t) => ({ tick: t, a: t * 10, b: 100 - t, mix: t, talking: t % 2 === 0 })));
  });

  it('drops the oldest items on overflow and counts them', async () => {
    const ticks: number[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const hook: AsyncHook = {
      name: 'blocked',
      queueSize: 4,
      async run(items) {
        await gate;
        for await (const it of items) if (it.kind === 'frame') ticks.push(it.tick);
      },
    };
    const r = new HookRunner({ callId: 'c', hooks: [hook], emit: () => {} });
    const ff = new FrameFactory('c');
    for (let t = 0; t < 10; t++) r.onTick(ff.frame(t, [{ sourceId: 'a', talking: true, levelDbov: -20 }]));
    expect(r.stats().hooks[0]).toMatchObject({ kind: 'async', dropped: 6, queued: 4 });
    release();
    await r.stop();
    expect(ticks).toEqual([6, 7, 8, 9]);
    expect(r.stats().hooks[0]).toMatchObject({ calls: 4, dropped: 6, queued: 0 });
  });

  it('isolates a throwing async hook and reports it as hook.error', async () => {
    const good: number[] = [];
    const bad: AsyncHook = {
      name: 'bad-async',
      async run(items) {
        for await (const it of items) if (it.kind === 'frame' && it.tick === 2) throw new Error('async boom');
      },
    };
    const ok: AsyncHook = {
      name: 'ok-async',
      async run(items) {
        for await (const it of items) if (it.kind === 'frame') good.push(it.tick);
      },
    };
    const { events, emit } = collect();
    const r = new HookRunner({ callId: 'c', hooks: [bad, ok], emit });
    const ff = new FrameFactory('c');
    for (let t = 0; t < 6; t++) {
      r.onTick(ff.frame(t, []));
      await sleep(1);
    }
    await r.stop();
    expect(good).toEqual([0, 1, 2, 3, 4, 5]);
    const errs = events.filter((e) => e.type === 'hook.error');
    expect(errs).toHaveLength(1);
    expect(errs[0]).toMatchObject({ hook: 'bad-async' });
    expect(r.stats().hooks[0]).toMatchObject({ errors: 1, disabled: true });
  });

  it('events reach async hooks in order with frames; events-only hooks get no frames', async () => {
    const seen: string[] = [];
    const hook: AsyncHook = {
      name: 'events-only',
      wantsFrames: false,
      async run(items) {
        for await (const it of items) seen.push(it.kind === 'event' ? it.event.type : `frame${it.tick}`);
      },
    };
    const r = new HookRunner({ callId: 'c', hooks: [hook], emit: () => {} });
    const ff = new FrameFactory('c');
    r.onTick(ff.frame(0, []));
    r.onEvent({ type: 'source.added', callId: 'c', sourceId: 'a', mediaTimeMs: 0 });
    r.onTick(ff.frame(1, []));
    await r.stop();
    expect(seen).toEqual(['source.added']);
  });

  it('stop() ends the iterables, drains queued items, and times out a hook that never returns', async () => {
    let drained = 0;
    const draining: AsyncHook = {
      name: 'draining',
      async run(items) {
        for await (const it of items) {
          if (it.kind === 'frame') drained++;
          await sleep(2);
        }
      },
    };
    const stuck: AsyncHook = { name: 'stuck', run: () => new Promise<void>(() => {}) };
    const { events, emit } = collect();
    const r = new HookRunner({ callId: 'c', hooks: [draining, stuck], emit, stopTimeoutMs: 300 });
    const ff = new FrameFactory('c');
    for (let t = 0; t < 20; t++) r.onTick(ff.frame(t, []));
    const t0 = Date.now();
    await r.stop();
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(drained).toBe(20);
    expect(events.some((e) => e.type === 'hook.error' && e.hook === 'stuck' && e.message.includes('did not finish'))).toBe(true);
    expect(events.some((e) => e.type === 'hook.error' && e.hook === 'draining')).toBe(false);
    // After stop, ticks are ignored.
    r.onTick(ff.frame(20, []));
    expect(drained).toBe(20);
  });

  it("a hook's own stopTimeoutMs overrides the runner's for flushing", async () => {
    let flushed = false;
    const flushing: AsyncHook = {
      name: 'flushing',
      stopTimeoutMs: 3000,
      async run(items) {
        for await (const _ of items) void _;
        await sleep(300);
        flushed = true;
      },
    };
    const { events, emit } = collect();
    const r = new HookRunner({ callId: 'c', hooks: [flushing], emit, stopTimeoutMs: 50 });
    await r.stop();
    expect(flushed).toBe(true);
    expect(events).toEqual([]);
  });

  it('a slow async hook (50 ms per frame) does not delay onTick: ticks run on while it sleeps, its queue drops the oldest', async () => {
    let consumed = 0;
    const slow: AsyncHook = {
      name: 'slow',
      queueSize: 50,
      async run(items) {
        for await (const it of items) {
          if (it.kind !== 'frame') continue;
          consumed++;
          await sleep(50);
        }
      },
    };
    const r = new HookRunner({ callId: 'c', hooks: [slow], emit: () => {} });
    const ff = new FrameFactory('c');
    const src = Array.from({ length: 10 }, (_, i) => ({ sourceId: `s${i}`, talking: true, levelDbov: -20 }));
    const ticks = 300;
    for (let t = 0; t < ticks; t++) {
      r.onTick(ff.frame(t, src)); // synchronous: returns without waiting for the hook
      await sleep(1); // let the hook run between ticks
    }
    const stats = r.stats().hooks[0]!;
    // 300 ticks took about 300 ms; at 50 ms per frame the hook took only a handful of them.
    expect(consumed).toBeGreaterThan(0);
    expect(consumed).toBeLessThan(ticks / 4);
    expect(stats.dropped).toBeGreaterThan(0);
    expect(stats.queued).toBeLessThanOrEqual(50);
    expect(consumed + stats.queued + stats.dropped).toBe(ticks);
    await r.stop();
  });
});

describe('HookQueue pooling', () => {
  it('recycles frame buffers once the consumer moves on (no growth in steady state)', async () => {
    const bufs = new Set<Int16Array>();
    const hook: AsyncHook = {
      name: 'pool',
      async run(items: AsyncIterable<AsyncHookItem>) {
        for await (const it of items) if (it.kind === 'frame') bufs.add(it.mix16);
      },
    };
    const r = new HookRunner({ callId: 'c', hooks: [hook], emit: () => {} });
    const ff = new FrameFactory('c');
    for (let t = 0; t < 100; t++) {
      r.onTick(ff.frame(t, [{ sourceId: 'a', talking: true, levelDbov: -20 }]));
      await sleep(0);
    }
    await r.stop();
    expect(r.stats().hooks[0]!.calls).toBe(100);
    expect(bufs.size).toBeLessThanOrEqual(3);
  });
});
