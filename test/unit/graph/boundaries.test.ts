import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const graphDir = resolve(dirname(fileURLToPath(import.meta.url)), '../../../src/graph');

describe('src/graph dependency direction', () => {
  it('imports nothing from src/media or src/signaling', () => {
    const files = readdirSync(graphDir).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(10);
    const offenders: string[] = [];
    for (const f of files) {
      const text = readFileSync(resolve(graphDir, f), 'utf8');
      for (const m of text.matchAll(/from\s+['"]([^'"]+)['"]/g)) {
        const spec = m[1]!;
        if (/(^|\/)(media|signaling|emulator)\//.test(spec) || /\.\.\/(media|signaling|emulator)(\.js)?$/.test(spec)) offenders.push(`${f}: ${spec}`);
      }
    }
    expect(offenders).toEqual([]);
  });
});
