/**
 * Access to the Graph docs' own examples in ../shared/graph-vectors (read in place, never copied).
 * Some files are verbatim doc snippets that are not strict JSON; parseLenient strips `//` and block
 * comments and trailing commas before JSON.parse (and still fails on truly broken ones).
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { HAVE_VECTORS, VECTORS_DIR } from '../../helpers/graph-vectors.js';

export { VECTORS_DIR } from '../../helpers/graph-vectors.js';
export const vectorsPresent = HAVE_VECTORS;

/** Removes comments and trailing commas outside string literals. */
export function stripLenient(text: string): string {
  let out = '';
  let i = 0;
  let inString = false;
  while (i < text.length) {
    const c = text[i]!;
    if (inString) {
      out += c;
      if (c === '\\') {
        out += text[i + 1] ?? '';
        i += 2;
        continue;
      }
      if (c === '"') inString = false;
      i += 1;
      continue;
    }
    if (c === '"') {
      inString = true;
      out += c;
      i += 1;
      continue;
    }
    if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i += 1;
      continue;
    }
    if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? text.length : end + 2;
      continue;
    }
    if (c === ',') {
      let j = i + 1;
      while (j < text.length && /\s/.test(text[j]!)) j += 1;
      if (text[j] === '}' || text[j] === ']') {
        i += 1;
        continue;
      }
    }
    out += c;
    i += 1;
  }
  return out;
}

export function parseLenient(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return JSON.parse(stripLenient(text));
  }
}

export function readVector(file: string): unknown {
  return parseLenient(readFileSync(resolve(VECTORS_DIR, file), 'utf8'));
}

export function vectorExists(file: string): boolean {
  return existsSync(resolve(VECTORS_DIR, file));
}

export function listVectors(suffix: string): string[] {
  return readdirSync(VECTORS_DIR)
    .filter((f) => f.endsWith(suffix))
    .sort();
}

export interface IndexEntry {
  file: string;
  beta: boolean;
  method: string | undefined;
  path: string | undefined;
  status: number | undefined;
  hasLocation: boolean;
  notJson: boolean;
  line: string;
}

/** Parses INDEX.md lines: `- \`file\` — [BETA ]METHOD PATH ... -> [HTTP/1.1 ]STATUS ... — source — kind[ — NOT-JSON]`. */
export function readIndex(): Map<string, IndexEntry> {
  const map = new Map<string, IndexEntry>();
  const text = readFileSync(resolve(VECTORS_DIR, 'INDEX.md'), 'utf8');
  for (const line of text.split('\n')) {
    const m = /^- `([^`]+)` — (.*)$/.exec(line);
    if (!m) continue;
    const file = m[1]!;
    const rest = m[2]!;
    const what = rest.split(' — ')[0] ?? '';
    const req = /^(BETA )?(GET|POST|PATCH|PUT|DELETE) (\S+)/.exec(what);
    const st = /->\s*(?:HTTP\/1\.1\s*)?(\d{3})/.exec(what);
    map.set(file, {
      file,
      beta: req?.[1] !== undefined,
      method: req?.[2],
      path: req?.[3],
      status: st ? Number(st[1]) : undefined,
      hasLocation: /Location/.test(what),
      notJson: / — NOT-JSON\s*$/.test(line),
      line,
    });
  }
  return map;
}
