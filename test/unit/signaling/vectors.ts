import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseLenientJson } from '../../../src/signaling/lenient-json.js';
import { HAVE_VECTORS, VECTORS_DIR, VECTORS_SKIP_REASON } from '../../helpers/graph-vectors.js';

export { HAVE_VECTORS, REPO_ROOT, VECTORS_DIR } from '../../helpers/graph-vectors.js';
if (!HAVE_VECTORS) console.warn(VECTORS_SKIP_REASON);

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
