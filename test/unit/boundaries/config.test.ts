/** src/config: the one reader of the environment; depends on nothing but errors. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeBoundary } from './boundary.js';
import { REPO } from './import-graph.js';

describeBoundary('config', {
  mayImport: ['util', 'net'],
  never: ['graph', 'signaling', 'media', 'ingress', 'calls', 'events', 'store', 'server', 'app', 'cli', 'testing'],
});

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

describe('src/config reads the environment for everyone', () => {
  it('is the only place in src and testing that reads process.env', () => {
    const files = [...tsFiles(join(REPO, 'src')), ...tsFiles(join(REPO, 'testing'))];
    expect(files.length).toBeGreaterThan(100);
    const readers = files.filter((f) => /\bprocess\.env\b/.test(readFileSync(f, 'utf8'))).map((f) => f.slice(REPO.length + 1));
    expect(readers.filter((f) => !f.startsWith('src/config/'))).toEqual([]);
    expect(readers).toContain('src/config/config.ts');
  });
});
