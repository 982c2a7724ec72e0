/**
 * The import graph of src/: every relative import, re-export and dynamic import() of every source
 * file, and whether it is type-only. What loads at run time is found the way it will run: each
 * file is compiled by esbuild (which, like tsc, erases `import type` and imports used only as
 * types) and its JavaScript read by es-module-lexer. Every import written in the source (type
 * ones too) is listed from the source text; one that is not in the JavaScript is type-only.
 * The boundary tests state, per top-level folder, which folders it may import.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { transformSync } from 'esbuild';
import { init, parse } from 'es-module-lexer';

await init;

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const SRC = join(REPO, 'src');

export interface ImportEdge {
  /** Importing file, relative to the repo, e.g. src/media/threads/pool.ts */
  from: string;
  /** Imported file, relative to the repo (.js specifiers mapped to their .ts source). */
  to: string;
  specifier: string;
  /** Erased from the JavaScript: `import type`, or every binding used only as a type. */
  typeOnly: boolean;
  /** A dynamic import(): loaded when that code runs, not when the importing module loads. */
  dynamic: boolean;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

const repoPath = (abs: string): string => relative(REPO, abs).split(sep).join('/');

/** Every module specifier written in TypeScript source: `from '…'`, `import '…'`, `import('…')` (also in type positions). */
const WRITTEN = /\bfrom\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/gm;

function edgesOf(file: string): ImportEdge[] {
  const source = readFileSync(file, 'utf8');
  const js = transformSync(source, { loader: 'ts', format: 'esm', target: 'es2022' }).code;
  const [imports] = parse(js);
  const runtime = new Map<string, boolean>();
  for (const i of imports) {
    if (i.n === undefined) continue;
    const dynamic = i.d > -1;
    // A specifier both imported statically and dynamically counts as static.
    runtime.set(i.n, (runtime.get(i.n) ?? true) && dynamic);
  }
  const written = new Set<string>();
  for (const m of source.matchAll(WRITTEN)) written.add((m[1] ?? m[2] ?? m[3])!);
  for (const n of runtime.keys()) written.add(n);
  const out: ImportEdge[] = [];
  for (const spec of written) {
    if (!spec.startsWith('.')) continue;
    const to = resolve(dirname(file), spec).replace(/\.js$/, '.ts');
    const dynamic = runtime.get(spec);
    out.push({ from: repoPath(file), to: repoPath(to), specifier: spec, typeOnly: dynamic === undefined, dynamic: dynamic === true });
  }
  return out;
}

/** The source files of one top-level folder of src, relative to the repo. */
export function filesOf(folder: string): string[] {
  return sourceFiles(join(SRC, folder)).map(repoPath);
}

let cached: ImportEdge[] | undefined;

/** Every relative import of every file under src/. */
export function srcImports(): ImportEdge[] {
  cached ??= sourceFiles(SRC).flatMap(edgesOf);
  return cached;
}

/** The top-level area of a repo path: `src/media/x.ts` → `media`, `src/errors.ts` → `errors.ts`, `testing/…` → `testing`. */
export function areaOf(path: string): string {
  const parts = path.split('/');
  if (parts[0] !== 'src') return parts[0]!;
  return parts[1]!;
}

/** The top-level folders of src (the areas the boundary tests cover). */
export function srcFolders(): string[] {
  return readdirSync(SRC, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
}

const show = (e: ImportEdge): string => `${e.from} → ${e.specifier}${e.typeOnly ? ' (type)' : ''}${e.dynamic ? ' (dynamic)' : ''}`;

/**
 * The imports of `folder` that reach an area outside `allowed` (its own area always allowed).
 * Static, dynamic and type imports all count: a folder's place in the layering does not depend on
 * how it imports.
 */
export function wrongArrows(folder: string, allowed: readonly string[]): string[] {
  const ok = new Set([folder, ...allowed]);
  return srcImports()
    .filter((e) => areaOf(e.from) === folder && !ok.has(areaOf(e.to)))
    .map(show);
}

/** Static value imports of testing/ from src (dynamic import() and `import type` are allowed). */
export function staticTestingImports(folder: string): string[] {
  return srcImports()
    .filter((e) => areaOf(e.from) === folder && areaOf(e.to) === 'testing' && !e.dynamic && !e.typeOnly)
    .map(show);
}

/**
 * Import cycles among src files, over static value imports. Type-only imports are left out: they
 * are erased from the JavaScript, so they cannot make modules load in a circle (two modules
 * sharing types both ways is a naming question, not a load-order hazard). Dynamic import() is left
 * out too: it runs after both modules have loaded.
 * Returns each cycle once, as the list of files around it (Tarjan's strongly connected components).
 */
export function importCycles(edges: readonly ImportEdge[] = srcImports()): string[][] {
  const adj = new Map<string, Set<string>>();
  for (const e of edges) {
    if (e.typeOnly || e.dynamic || areaOf(e.to) === 'testing' || !e.to.startsWith('src/')) continue;
    if (!adj.has(e.from)) adj.set(e.from, new Set());
    adj.get(e.from)!.add(e.to);
  }
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const strong = (v: string): void => {
    idx.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of adj.get(v) ?? []) {
      if (!idx.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || adj.get(v)?.has(v)) out.push(comp.sort());
    }
  };
  for (const v of [...adj.keys()].sort()) if (!idx.has(v)) strong(v);
  return out;
}
