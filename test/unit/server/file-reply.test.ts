import { describe, expect, it } from 'vitest';
import { parseByteRange } from '../../../src/server/file-reply.js';
import { FileLinks } from '../../../src/server/file-links.js';

describe('parseByteRange', () => {
  it('reads one byte range, a suffix and an open end', () => {
    expect(parseByteRange('bytes=0-99', 1000)).toEqual({ start: 0, end: 99 });
    expect(parseByteRange('bytes=900-', 1000)).toEqual({ start: 900, end: 999 });
    expect(parseByteRange('bytes=-10', 1000)).toEqual({ start: 990, end: 999 });
    expect(parseByteRange('bytes=-5000', 1000)).toEqual({ start: 0, end: 999 });
    // An end past the file is cut to the file.
    expect(parseByteRange('bytes=500-5000', 1000)).toEqual({ start: 500, end: 999 });
    expect(parseByteRange('BYTES = 1 - 2', 1000)).toEqual({ start: 1, end: 2 });
  });

  it('answers the whole file for no header, other units, several ranges or nonsense', () => {
    for (const h of [undefined, 'items=0-1', 'bytes=0-1,5-9', 'bytes=abc', 'bytes=-', 'bytes=9-3']) expect(parseByteRange(h, 1000), String(h)).toBeNull();
  });

  it('calls a range past the end unsatisfiable', () => {
    expect(parseByteRange('bytes=1000-', 1000)).toBe('unsatisfiable');
    expect(parseByteRange('bytes=2000-3000', 1000)).toBe('unsatisfiable');
    expect(parseByteRange('bytes=-0', 1000)).toBe('unsatisfiable');
    expect(parseByteRange('bytes=0-', 0)).toBe('unsatisfiable');
  });
});

describe('FileLinks', () => {
  it('signs a path for a while, and refuses changed, incomplete or expired links', () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const links = new FileLinks('the-api-token', 60, () => now);
    const { url, expiresAt } = links.sign('/files/history/c1/recordings/mix.wav');
    expect(expiresAt).toBe('2026-01-01T00:01:00.000Z');
    const q = new URL(url, 'http://127.0.0.1').searchParams;
    const expires = Number(q.get('expires'));
    const sig = q.get('sig')!;
    expect(() => links.verify('/files/history/c1/recordings/mix.wav', expires, sig)).not.toThrow();
    // The same token makes the same key (links survive a restart); another token does not.
    expect(() => new FileLinks('the-api-token', 60, () => now).verify('/files/history/c1/recordings/mix.wav', expires, sig)).not.toThrow();
    expect(() => new FileLinks('another-token', 60, () => now).verify('/files/history/c1/recordings/mix.wav', expires, sig)).toThrow(/not valid/);
    for (const [path, e, s] of [
      ['/files/history/c1/recordings/mix.opus', expires, sig],
      ['/files/history/c1/recordings/mix.wav', expires + 3600, sig],
      ['/files/history/c1/recordings/mix.wav', expires, `${sig}x`],
      ['/files/history/c1/recordings/mix.wav', undefined, sig],
      ['/files/history/c1/recordings/mix.wav', expires, undefined],
    ] as const) {
      expect(() => links.verify(path, e, s)).toThrow(expect.objectContaining({ code: 'MEDIABOT_LINK_EXPIRED' }));
    }
    now += 61_000;
    expect(() => links.verify('/files/history/c1/recordings/mix.wav', expires, sig)).toThrow(/expired/);
  });
});
