/**
 * Serving files named by a caller from under a root folder, safely: the name must be one plain
 * path segment (no separators, no `..`, no NUL), the resolved path must stay inside the root (its
 * real path, so a symlinked folder does not lead out), the last component must not be a symlink
 * (opened with O_NOFOLLOW), and what was opened must be a regular file. Anything else is
 * MEDIABOT_NOT_FOUND, the same answer as a missing file.
 */
import { constants } from 'node:fs';
import { open, realpath, type FileHandle } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { MediabotError } from '../errors.js';

const notFound = (): MediabotError => new MediabotError('MEDIABOT_NOT_FOUND', 'no such file');

/** True for one path segment that cannot climb or name a folder: no separators, `.`/`..`, NUL or control characters. */
export function isPlainSegment(name: string): boolean {
  return name.length > 0 && name.length <= 255 && name !== '.' && name !== '..' && !/[/\\\x00-\x1f]/.test(name);
}

/** True when `path` is `root` or inside it (both absolute and normalised). */
export function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel) && !rel.split(sep).includes('..'));
}

/**
 * Resolves `segments` (each one plain segment) under `root`; throws MEDIABOT_NOT_FOUND for
 * traversal. Pure: touches no file system.
 */
export function resolveUnder(root: string, ...segments: string[]): string {
  if (segments.some((s) => !isPlainSegment(s))) throw notFound();
  const base = resolve(root);
  const p = resolve(base, ...segments);
  if (!isInside(base, p) || p === base) throw notFound();
  return p;
}

export interface OpenedFile {
  handle: FileHandle;
  size: number;
}

/**
 * Opens `path` for reading when it is a regular file inside `root`, not reached through a symlink
 * as its last component and with its folder's real path inside the root's real path. The caller
 * closes the handle (a stream from `handle.createReadStream()` closes it at its end).
 */
export async function openRegularFileUnder(root: string, path: string): Promise<OpenedFile> {
  const abs = resolve(path);
  if (!isInside(resolve(root), abs)) throw notFound();
  let realRoot: string;
  let realDir: string;
  try {
    realRoot = await realpath(root);
    realDir = await realpath(dirname(abs));
  } catch {
    throw notFound();
  }
  if (!isInside(realRoot, realDir)) throw notFound();
  let handle: FileHandle;
  try {
    handle = await open(resolve(realDir, relative(dirname(abs), abs)), constants.O_RDONLY | constants.O_NOFOLLOW | (constants.O_NONBLOCK ?? 0));
  } catch {
    // ELOOP (a symlink), ENOENT, EACCES…: one answer.
    throw notFound();
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw notFound();
    return { handle, size: st.size };
  } catch (err) {
    await handle.close().catch(() => undefined);
    throw err instanceof MediabotError ? err : notFound();
  }
}

/** True when `path` would be served by openRegularFileUnder (the handle is closed again). */
export async function isServableFile(root: string, path: string): Promise<boolean> {
  try {
    const f = await openRegularFileUnder(root, path);
    await f.handle.close();
    return true;
  } catch {
    return false;
  }
}

/**
 * The folder under `root` for an id (a call or media id): characters other than letters, digits,
 * `_`, `.` and `-` become `_`, and the result must be one segment strictly inside `root` (so `.`,
 * `..` and empty ids are refused with MEDIABOT_BAD_REQUEST). Pure.
 */
export function folderForId(root: string, id: string): string {
  const name = id.replace(/[^A-Za-z0-9_.-]/g, '_');
  try {
    return resolveUnder(root, name);
  } catch {
    throw new MediabotError('MEDIABOT_BAD_REQUEST', `the id ${JSON.stringify(id.slice(0, 64))} cannot name a folder`);
  }
}
