import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_DROPOUT, SEQ_INVALID, SEQ_RESTARTED, SEQ_VALID, SequenceTracker, TimestampUnwrapper } from '../../../src/media/wire/sequence.js';

function feed(t: SequenceTracker, seqs: number[]): { results: number[]; ext: number[] } {
  const results: number[] = [];
  const ext: number[] = [];
  for (const s of seqs) {
    results.push(t.update(s));
    ext.push(t.lastExtended);
  }
  return { results, ext };
}

describe('SequenceTracker (RFC 3550 A.1)', () => {
  it('extends across the 65535 → 0 wrap and counts cycles', () => {
    const t = new SequenceTracker(1);
    const { results, ext } = feed(t, [65533, 65534, 65535, 0, 1, 2]);
    expect(results).toEqual([SEQ_RESTARTED, SEQ_VALID, SEQ_VALID, SEQ_VALID, SEQ_VALID, SEQ_VALID]);
    expect(ext).toEqual([65533, 65534, 65535, 65536, 65537, 65538]);
    expect(t.cycles).toBe(65536);
    expect(t.extendedMax).toBe(65538);
    expect(t.expected).toBe(6);
    expect(t.cumulativeLost).toBe(0);
  });

  it('places a reordered packet from before the wrap in the previous cycle', () => {
    const t = new SequenceTracker(1);
    const { results, ext } = feed(t, [65534, 0, 65535, 1]);
    expect(results).toEqual([SEQ_RESTARTED, SEQ_VALID, SEQ_VALID, SEQ_VALID]);
    expect(ext).toEqual([65534, 65536, 65535, 65537]);
    expect(t.extendedMax).toBe(65537);
  });

  it('counts loss and duplicates into cumulative lost (which may go negative)', () => {
    const t = new SequenceTracker(1);
    feed(t, [10, 11, 14, 15]);
    expect(t.expected).toBe(6);
    expect(t.cumulativeLost).toBe(2);
    feed(t, [15, 15, 15]);
    expect(t.cumulativeLost).toBe(-1);
  });

  it('believes a jump beyond MAX_DROPOUT only when the next packet confirms it', () => {
    const t = new SequenceTracker(1);
    feed(t, [100, 101]);
    expect(t.update(101 + MAX_DROPOUT + 10)).toBe(SEQ_INVALID);
    expect(t.update(102)).toBe(SEQ_VALID); // the old stream goes on: the jump was noise
    expect(t.update(30_000)).toBe(SEQ_INVALID);
    expect(t.update(30_001)).toBe(SEQ_RESTARTED);
    expect(t.baseSeq).toBe(30_001);
    expect(t.expected).toBe(1);
  });

  it('keeps a new source on probation for minSequential packets (RFC default 2)', () => {
    const t = new SequenceTracker();
    expect(t.update(500)).toBe(SEQ_INVALID);
    expect(t.update(700)).toBe(SEQ_INVALID); // not in sequence: probation starts over
    expect(t.update(701)).toBe(SEQ_RESTARTED);
    expect(t.update(702)).toBe(SEQ_VALID);
    expect(t.received).toBe(2);
  });

  it('any in-order run with small gaps unwraps to a strictly increasing line', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff }), fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 3000 }), (start, steps) => {
        const t = new SequenceTracker(1);
        t.update(start);
        let expected = start;
        for (const step of steps) {
          expected += step;
          expect(t.update(expected & 0xffff)).toBe(SEQ_VALID);
          expect(t.lastExtended).toBe(expected);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('TimestampUnwrapper', () => {
  it('unwraps across 2^32 and keeps late timestamps behind', () => {
    const u = new TimestampUnwrapper();
    const base = 2 ** 32 - 960 * 2;
    expect(u.unwrap(base)).toBe(base);
    expect(u.unwrap(base + 960)).toBe(base + 960);
    expect(u.unwrap(0)).toBe(2 ** 32);
    expect(u.unwrap(960)).toBe(2 ** 32 + 960);
    expect(u.unwrap(base + 960)).toBe(base + 960); // a late packet from before the wrap
    expect(u.unwrap(1920)).toBe(2 ** 32 + 1920);
  });

  it('follows many wraps', () => {
    const u = new TimestampUnwrapper();
    let ts = 0;
    for (let i = 0; i < 20; i++) {
      ts += 0x7000_0000;
      expect(u.unwrap(ts >>> 0)).toBe(ts);
    }
  });
});
