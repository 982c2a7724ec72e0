/**
 * Where the Graph docs' own examples are: `../graph-vectors` of the shared folder beside the
 * repository (read in place, never copied into it), or MEDIABOT_TEST_VECTORS_DIR. On a fresh clone
 * without them, every test that needs them is skipped and says so.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const VECTORS_DIR = resolve(process.env['MEDIABOT_TEST_VECTORS_DIR'] ?? join(REPO_ROOT, '../shared/graph-vectors'));
export const HAVE_VECTORS = existsSync(join(VECTORS_DIR, 'INDEX.md'));
export const VECTORS_SKIP_REASON = `the Graph docs examples are not at ${VECTORS_DIR} (set MEDIABOT_TEST_VECTORS_DIR): the tests that compare against them are skipped`;

/** Prints why a file's vector tests are skipped (once per test file), and returns whether they run. */
export function vectorsOrSkipNotice(file: string): boolean {
  if (!HAVE_VECTORS) console.warn(`${file}: ${VECTORS_SKIP_REASON}`);
  return HAVE_VECTORS;
}
