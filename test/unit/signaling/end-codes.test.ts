import { describe, expect, it } from 'vitest';
import { explainEndCode } from '../../../src/signaling/end-codes.js';
import { HAVE_VECTORS, loadVector } from './vectors.js';

// The table is read inside the test, never while the file is collected: without the vectors the
// suite is skipped (vectors.ts prints why) instead of failing to load.
describe.skipIf(!HAVE_VECTORS)('end codes', () => {
  it('explains every code in the docs table, in its own words, with a hint', () => {
    const table = loadVector('call-termination-reason-codes.table.json') as { codes: Array<{ code: number; subcode: string; reason: string }> };
    expect(table.codes.length).toBeGreaterThan(20);
    for (const row of table.codes) {
      for (const part of row.subcode.split('/')) {
        const e = explainEndCode(row.code, Number(part));
        expect(e.known, `${row.code}/${part}`).toBe(true);
        expect(e.explanation.length).toBeGreaterThan(10);
        expect(e.hint.length).toBeGreaterThan(5);
        expect(e.explanation).not.toBe(row.reason);
      }
    }
  });
});

describe('end code fallbacks', () => {
  it('gives a generic explanation for unknown codes', () => {
    expect(explainEndCode(200, 999999)).toMatchObject({ known: false, explanation: 'The call ended normally.' });
    expect(explainEndCode(503, null).known).toBe(false);
    expect(explainEndCode(null, null).explanation).toMatch(/without a reason/);
    expect(explainEndCode(200, 545003)).toMatchObject({ known: true });
  });
});

describe('setup failures say what to configure', () => {
  it('7504 (tenant without consent) names admin consent and MEDIABOT_TENANTS', () => {
    const e = explainEndCode(403, 7504);
    expect(e.known).toBe(true);
    expect(e.hint).toContain('adminconsent');
    expect(e.hint).toContain('MEDIABOT_TENANTS');
  });
  it('8506 (recording status outside compliance recording) names the policy', () => {
    expect(explainEndCode(403, 8506).hint).toMatch(/compliance recording policy/);
  });
});
