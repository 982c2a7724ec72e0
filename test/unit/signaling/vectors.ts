import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseLenientJson } from '../../../src/signaling/lenient-json.js';

/** The repo root, from this file's place in test/unit/signaling. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
/** The Graph docs' examples, read in place (never copied into the repo). */
export const VECTORS_DIR = resolve(REPO_ROOT, '../shared/graph-vectors');
export const HAVE_VECTORS = existsSync(join(VECTORS_DIR, 'INDEX.md'));
if (!HAVE_VECTORS) console.log(`graph vectors not found at ${VECTORS_DIR}: vector tests are skipped`);

export function vectorText(name: string): string {
  return readFileSync(join(VECTORS_DIR, name), 'utf8');
}

/** Strict JSON where the doc example is JSON, the lenient reader where it is not. */
export function loadVector(name: string): unknown {
  const text = vectorText(name);
  try {
    return JSON.parse(text);
  } catch {
    return parseLenientJson(text);
  }
}

export function notificationVectorNames(): string[] {
  return HAVE_VECTORS ? readdirSync(VECTORS_DIR).filter((f) => f.startsWith('notification-') && f.endsWith('.json')).sort() : [];
}
