/** The safe-path helpers on a real folder with symlinks, FIFOs and traversal attempts. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isPlainSegment, isServableFile, openRegularFileUnder, resolveUnder } from '../../src/util/safe-path.js';

describe('resolveUnder (pure)', () => {
  it('resolves plain names and refuses traversal', () => {
    expect(resolveUnder('/srv/rec', 'call-1', 'mix.wav')).toBe('/srv/rec/call-1/mix.wav');
    for (const bad of ['..', '.', '../x', 'a/b', 'a\\b', 'x\u0000y', '', 'ok\n']) {
      expect(isPlainSegment(bad), JSON.stringify(bad)).toBe(false);
      expect(() => resolveUnder('/srv/rec', bad)).toThrow(expect.objectContaining({ code: 'MEDIABOT_NOT_FOUND' }));
    }
  });
});

describe('openRegularFileUnder', () => {
  const root = mkdtempSync(join(tmpdir(), 'mediabot-safe-'));
  const outsideDir = mkdtempSync(join(tmpdir(), 'mediabot-outside-'));
  mkdirSync(join(root, 'call'));
  writeFileSync(join(root, 'call', 'mix.wav'), 'RIFF....');
  writeFileSync(join(outsideDir, 'secret'), 'secret');
  symlinkSync(join(outsideDir, 'secret'), join(root, 'call', 'link.wav'));
  symlinkSync(join(root, 'call', 'mix.wav'), join(root, 'call', 'inside-link.wav'));
  symlinkSync(outsideDir, join(root, 'escape'));
  execFileSync('mkfifo', [join(root, 'call', 'fifo.wav')]);
  mkdirSync(join(root, 'call', 'dir.wav'));

  it('opens a regular file inside the root', async () => {
    const f = await openRegularFileUnder(root, join(root, 'call', 'mix.wav'));
    expect(f.size).toBe(8);
    await f.handle.close();
  });

  it('refuses symlinks (even to a file inside), symlinked folders, FIFOs, folders and paths outside', async () => {
    for (const p of [join(root, 'call', 'link.wav'), join(root, 'call', 'inside-link.wav'), join(root, 'escape', 'secret'), join(root, 'call', 'fifo.wav'), join(root, 'call', 'dir.wav'), join(outsideDir, 'secret'), join(root, 'call', '..', '..', 'etc', 'passwd'), join(root, 'call', 'missing.wav')]) {
      await expect(openRegularFileUnder(root, p), p).rejects.toMatchObject({ code: 'MEDIABOT_NOT_FOUND' });
      expect(await isServableFile(root, p)).toBe(false);
    }
  });
});
