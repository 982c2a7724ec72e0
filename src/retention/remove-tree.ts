/**
 * Removing a call's folders without ever leaving the data folders: the folder must be strictly
 * inside its root (also by real path, so a symlinked parent does not lead out), every entry is
 * looked at with lstat, and a symlink is removed as a link — its target is never followed, read
 * or deleted. Each removed file is counted by kind and size (names are not kept).
 */
import { lstat, readdir, realpath, rmdir, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { isInside } from '../util/safe-path.js';

export interface RemovalTally {
  files: number;
  bytes: number;
  fileKinds: Record<string, number>;
}

export const emptyTally = (): RemovalTally => ({ files: 0, bytes: 0, fileKinds: {} });

/** The kind of one file of a call, by its name (what the deletion log counts). */
export function fileKind(name: string): string {
  if (/^transcript\.(json|vtt)$/.test(name)) return 'transcript';
  if (name === 'analytics.json') return 'analytics';
  if (name === 'timeline.json') return 'timeline';
  if (name === 'call.json') return 'call';
  if (name.startsWith('teams-')) return 'meeting_artifacts';
  if (/\.(opus|ogg|wav)(\.part)?$/.test(name)) return 'recording';
  return 'other';
}

const isMissing = (err: unknown): boolean => (err as NodeJS.ErrnoException)?.code === 'ENOENT';

/**
 * Removes `folder` (strictly inside `root`) and everything in it; a missing folder is nothing to
 * do. Returns false when the folder is not inside the root (nothing is touched).
 */
export async function removeFolderUnder(root: string, folder: string, tally: RemovalTally): Promise<boolean> {
  const base = resolve(root);
  const target = resolve(folder);
  if (target === base || !isInside(base, target)) return false;
  let realRoot: string;
  let realParent: string;
  try {
    realRoot = await realpath(base);
    realParent = await realpath(dirname(target));
  } catch (err) {
    if (isMissing(err)) return true;
    throw err;
  }
  if (!isInside(realRoot, realParent)) return false;
  await removeEntry(join(realParent, basename(target)), tally);
  return true;
}

async function removeEntry(path: string, tally: RemovalTally): Promise<void> {
  let st;
  try {
    st = await lstat(path);
  } catch (err) {
    if (isMissing(err)) return;
    throw err;
  }
  if (st.isDirectory()) {
    for (const name of await readdir(path)) await removeEntry(join(path, name), tally);
    await rmdir(path).catch((err: unknown) => {
      if (!isMissing(err)) throw err;
    });
    return;
  }
  // A file, or a symlink (removed as the link itself), or anything else a folder can hold.
  await unlink(path).catch((err: unknown) => {
    if (!isMissing(err)) throw err;
  });
  if (st.isSymbolicLink()) return;
  tally.files++;
  tally.bytes += st.size;
  const kind = fileKind(basename(path));
  tally.fileKinds[kind] = (tally.fileKinds[kind] ?? 0) + 1;
}
