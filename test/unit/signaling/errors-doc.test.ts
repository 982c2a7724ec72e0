import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, type ErrorCodeInfo, httpStatusOf, isMediabotErrorCode, type MediabotErrorCode } from '../../../src/errors.js';
import { statusForCode, toHttpError } from '../../../src/server/errors.js';
import { errorFromWire, MediabotError } from '../../../src/errors.js';
import { REPO_ROOT } from './vectors.js';

const CODES = Object.keys(ERROR_CODES) as MediabotErrorCode[];
const info = (code: MediabotErrorCode): ErrorCodeInfo => ERROR_CODES[code];

/** The rows of docs/errors.md's tables: code, HTTP column (blank or a status) and meaning. */
function docRows(doc: string): Map<string, { http: string; meaning: string }> {
  const rows = new Map<string, { http: string; meaning: string }>();
  for (const line of doc.split('\n')) {
    const m = /^\| `(MEDIABOT_\w+)` \| *(\d{3})? *\| (.*) \|$/.exec(line);
    if (m) rows.set(m[1]!, { http: m[2] ?? '', meaning: m[3]! });
  }
  return rows;
}

describe('docs/errors.md and the code table', () => {
  const doc = readFileSync(join(REPO_ROOT, 'docs/errors.md'), 'utf8');
  const rows = docRows(doc);

  it('documents every MEDIABOT_* code, and no code the table lacks', () => {
    const missing = CODES.filter((code) => !rows.has(code));
    // On failure the message lists rows ready to paste into docs/errors.md.
    const paste = missing.map((code) => `| \`${code}\` | ${info(code).http ?? ''} | ${info(code).doc}. |`).join('\n');
    expect(missing, `add to docs/errors.md:\n${paste}`).toEqual([]);
    expect([...rows.keys()].filter((code) => !isMediabotErrorCode(code)), 'documented but not in src/errors.ts').toEqual([]);
  });

  it("shows each code's HTTP status from the table (blank where the table has none)", () => {
    for (const code of CODES) expect(rows.get(code)?.http, code).toBe(String(info(code).http ?? ''));
  });

  it("states each code's doc line from the table", () => {
    for (const code of CODES) expect(rows.get(code)?.meaning.startsWith(info(code).doc), `${code}: "${rows.get(code)?.meaning}" should start with "${info(code).doc}"`).toBe(true);
  });

  it('the server answers with the status of the table', () => {
    for (const code of CODES) {
      expect(statusForCode(code), code).toBe(httpStatusOf(code));
      expect(toHttpError(new MediabotError(code, 'x')).status, code).toBe(info(code).http ?? 500);
    }
    expect(httpStatusOf('MEDIABOT_CALL_NOT_FOUND')).toBe(404);
    expect(httpStatusOf('MEDIABOT_CODEC_FAILED')).toBe(500);
  });

  it('recognises only the codes of the table (strings from other threads are checked with it)', () => {
    expect(isMediabotErrorCode('MEDIABOT_CALL_NOT_FOUND')).toBe(true);
    expect(isMediabotErrorCode('MEDIABOT_CALL_NOT_FOUNDD')).toBe(false);
    expect(isMediabotErrorCode('toString')).toBe(false);
    expect(isMediabotErrorCode(42)).toBe(false);
  });

  it('rebuilds an error from a media thread keeping only a known code', () => {
    expect(errorFromWire({ code: 'MEDIABOT_CODEC_FAILED', message: 'bad frame' }, 'MEDIABOT_MEDIA_THREAD_FAILED')).toMatchObject({ code: 'MEDIABOT_CODEC_FAILED', message: 'bad frame' });
    const unknown = errorFromWire({ code: 'MEDIABOT_FUTURE_THING', message: 'x' }, 'MEDIABOT_MEDIA_THREAD_FAILED');
    expect(unknown).toBeInstanceOf(MediabotError);
    expect(unknown).toMatchObject({ code: 'MEDIABOT_MEDIA_THREAD_FAILED', message: 'x', details: { unknownCode: 'MEDIABOT_FUTURE_THING' } });
    expect(errorFromWire({ code: undefined, message: 42 }, 'MEDIABOT_MEDIA_THREAD_FAILED')).toMatchObject({ code: 'MEDIABOT_MEDIA_THREAD_FAILED', message: 'unknown error' });
  });
});
