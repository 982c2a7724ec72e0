import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { backoffDelay, parseRetryAfter, DEFAULT_RETRY_POLICY } from '../../../src/graph/http.js';

describe('parseRetryAfter', () => {
  it('reads delta-seconds, including the decimal form Graph sends (2.128)', () => {
    expect(parseRetryAfter('2')).toBe(2000);
    expect(parseRetryAfter('2.128')).toBe(2128);
    expect(parseRetryAfter(' 0 ')).toBe(0);
  });
  it('reads an HTTP date relative to now and never goes negative', () => {
    const now = Date.parse('Wed, 21 Oct 2015 07:28:00 GMT');
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:27:00 GMT', now)).toBe(0);
  });
  it('ignores absent or garbage values', () => {
    expect(parseRetryAfter(undefined)).toBeUndefined();
    expect(parseRetryAfter('')).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter('-3')).toBeUndefined();
  });
});

describe('backoffDelay (full jitter)', () => {
  it('stays within [0, min(cap, base * 2^(n-1))] for every attempt and random draw', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.double({ min: 0, max: 0.9999999, noNaN: true }), (attempt, r) => {
        const d = backoffDelay(attempt, DEFAULT_RETRY_POLICY, () => r);
        const ceiling = Math.min(DEFAULT_RETRY_POLICY.maxDelayMs, DEFAULT_RETRY_POLICY.baseDelayMs * 2 ** (attempt - 1));
        return Number.isInteger(d) && d >= 0 && d < ceiling + 1 && d <= DEFAULT_RETRY_POLICY.maxDelayMs;
      }),
    );
  });
  it('grows the ceiling exponentially until the cap', () => {
    const top = (n: number): number => backoffDelay(n, { ...DEFAULT_RETRY_POLICY, baseDelayMs: 100, maxDelayMs: 1000 }, () => 0.999999);
    expect([1, 2, 3, 4, 5, 6].map(top)).toEqual([99, 199, 399, 799, 999, 999]);
  });
});
