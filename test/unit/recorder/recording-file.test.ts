import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RecordingFile } from '../../../src/media/hooks/recorder/recording-file.js';

const dir = mkdtempSync(join(tmpdir(), 'recording-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('RecordingFile', () => {
  it('with a deferred open, keeps bytes (and in-place rewrites) in memory and writes them once the file exists', async () => {
    const path = join(dir, 'a', 'b', 'deferred.bin');
    const f = new RecordingFile(path, { deferOpen: true, mkdirParent: true });
    f.append(Uint8Array.of(1, 2, 3, 4));
    f.writeAt(Uint8Array.of(9), 1);
    expect(() => readFileSync(path)).toThrow(); // nothing created yet: the open runs off this turn
    await new Promise((r) => setTimeout(r, 50));
    expect([...readFileSync(path)]).toEqual([1, 9, 3, 4]);
    f.append(Uint8Array.of(5));
    expect([...readFileSync(path)]).toEqual([1, 9, 3, 4, 5]); // written synchronously now
    f.sync();
    f.close();
    f.close();
    await f.whenClosed();
    expect(f.bytes).toBe(5);
    expect(f.error).toBeNull();
    expect(() => f.append(Uint8Array.of(1))).toThrow(expect.objectContaining({ code: 'MEDIABOT_RECORDING_FAILED' }));
  });

  it('closing before the deferred open completes still writes everything', async () => {
    const path = join(dir, 'early-close.bin');
    const f = new RecordingFile(path, { deferOpen: true });
    f.append(new Uint8Array(10_000).fill(7));
    f.close();
    await f.whenClosed();
    const back = readFileSync(path);
    expect(back.length).toBe(10_000);
    expect(back.every((b) => b === 7)).toBe(true);
  });

  it('keeps a failed deferred open and reports it on the next append, never overwriting', async () => {
    const path = join(dir, 'exists.bin');
    writeFileSync(path, 'keep');
    const f = new RecordingFile(path, { deferOpen: true });
    f.append(Uint8Array.of(1));
    await f.whenClosed(); // a failure finishes the file
    expect(f.error?.message).toMatch(/EEXIST/);
    expect(() => f.append(Uint8Array.of(2))).toThrow(/EEXIST/);
    expect(readFileSync(path, 'utf8')).toBe('keep');
    expect(() => new RecordingFile(path)).toThrow(/EEXIST/);
  });

  it('rejects rewrites outside the written part', () => {
    const f = new RecordingFile(join(dir, 'bounds.bin'));
    f.append(Uint8Array.of(1, 2));
    expect(() => f.writeAt(Uint8Array.of(1, 2), 1)).toThrow(expect.objectContaining({ code: 'MEDIABOT_RECORDING_FAILED' }));
    f.close();
  });
});
