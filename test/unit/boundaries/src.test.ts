/** Rules for the whole of src: every folder has its boundary test, nothing imports testing/ statically, no import cycles. */
import { readdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { importCycles, srcFolders, srcImports } from './import-graph.js';

describe('src as a whole', () => {
  it('has a boundary test for every top-level folder', () => {
    const tests = readdirSync(dirname(fileURLToPath(import.meta.url))).filter((f) => f.endsWith('.test.ts')).map((f) => f.replace(/\.test\.ts$/, ''));
    expect(srcFolders().filter((f) => !tests.includes(f))).toEqual([]);
    expect(srcFolders().length).toBeGreaterThanOrEqual(12);
  });

  it('never imports testing/ statically (dynamic import() and `import type` are allowed)', () => {
    const edges = srcImports();
    expect(edges.length).toBeGreaterThan(200);
    expect(edges.filter((e) => e.to.startsWith('testing/') && !e.dynamic && !e.typeOnly).map((e) => `${e.from} → ${e.specifier}`)).toEqual([]);
  });

  it('has no import cycles (over the imports that load modules)', () => {
    expect(importCycles()).toEqual([]);
  });

  it('finds a cycle when there is one (the detector works)', () => {
    const cycles = importCycles([
      { from: 'src/a/x.ts', to: 'src/b/y.ts', specifier: '../b/y.js', typeOnly: false, dynamic: false },
      { from: 'src/b/y.ts', to: 'src/a/x.ts', specifier: '../a/x.js', typeOnly: false, dynamic: false },
      { from: 'src/b/y.ts', to: 'src/c/z.ts', specifier: '../c/z.js', typeOnly: false, dynamic: false },
      { from: 'src/c/z.ts', to: 'src/b/y.ts', specifier: '../b/y.js', typeOnly: true, dynamic: false },
    ]);
    expect(cycles).toEqual([['src/a/x.ts', 'src/b/y.ts']]);
  });
});
