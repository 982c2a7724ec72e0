import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../../src/errors.js';
import { statusForCode } from '../../../src/server/errors.js';
import { REPO_ROOT } from './vectors.js';

describe('docs/errors.md', () => {
  const doc = readFileSync(join(REPO_ROOT, 'docs/errors.md'), 'utf8');

  it('documents every MEDIABOT_* code', () => {
    const missing = Object.keys(ERROR_CODES).filter((code) => !doc.includes(`\`${code}\``));
    // On failure the message lists rows ready to paste into docs/errors.md.
    const rows = missing.map((code) => `| \`${code}\` |  | ${ERROR_CODES[code as keyof typeof ERROR_CODES]}. |`).join('\n');
    expect(missing, `add to docs/errors.md:\n${rows}`).toEqual([]);
  });

  it('shows the HTTP status the server really uses', () => {
    for (const line of doc.split('\n')) {
      const m = /^\| `(MEDIABOT_\w+)` \| (\d{3}) \|/.exec(line);
      if (m) expect(statusForCode(m[1] as keyof typeof ERROR_CODES), m[1]).toBe(Number(m[2]));
    }
  });
});
