import { describe, expect, it } from 'vitest';
import { overlapsOf } from '../../../src/calls/history.js';

const seg = (sourceId: string, startMs: number, endMs: number) => ({ sourceId, startMs, endMs });

describe('overlapsOf', () => {
  it('finds where two or more speakers talk at once, with who', () => {
    expect(overlapsOf([seg('a', 0, 1000), seg('b', 800, 2000), seg('c', 1500, 2500)])).toEqual([
      { startMs: 800, endMs: 1000, sourceIds: ['a', 'b'] },
      { startMs: 1500, endMs: 2000, sourceIds: ['b', 'c'] },
    ]);
  });

  it('splits an overlap where a third voice joins, and none for turns that only touch', () => {
    expect(overlapsOf([seg('a', 0, 1000), seg('b', 500, 1500), seg('c', 700, 900)])).toEqual([
      { startMs: 500, endMs: 700, sourceIds: ['a', 'b'] },
      { startMs: 700, endMs: 900, sourceIds: ['a', 'b', 'c'] },
      { startMs: 900, endMs: 1000, sourceIds: ['a', 'b'] },
    ]);
    expect(overlapsOf([seg('a', 0, 1000), seg('b', 1000, 2000)])).toEqual([]);
  });

  it('ignores one speaker overlapping themself and empty segments', () => {
    expect(overlapsOf([seg('a', 0, 1000), seg('a', 500, 1500), seg('b', 1200, 1200)])).toEqual([]);
    expect(overlapsOf([])).toEqual([]);
  });
});
