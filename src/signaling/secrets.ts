import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Compares two secrets in constant time. Both are hashed first, so the buffers
 * handed to timingSafeEqual always have equal length and the length of the
 * expected secret does not leak.
 */
export function secretsEqual(expected: string, received: string | null | undefined): boolean {
  if (typeof received !== 'string') return false;
  const a = createHash('sha256').update(expected, 'utf8').digest();
  const b = createHash('sha256').update(received, 'utf8').digest();
  return timingSafeEqual(a, b);
}
