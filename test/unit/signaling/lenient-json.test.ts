import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MediabotError } from '../../../src/errors.js';
import { parseLenientJson } from '../../../src/signaling/lenient-json.js';

describe('parseLenientJson', () => {
  it('reads strict JSON exactly like JSON.parse', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const text = JSON.stringify(v, null, 2);
        expect(parseLenientJson(text)).toEqual(JSON.parse(text));
      }),
      { numRuns: 300 },
    );
  });

  it('accepts comments and trailing commas', () => {
    expect(parseLenientJson('{ "a": 1, // one\n "b": [1, 2,], /* x */ }')).toEqual({ a: 1, b: [1, 2] });
  });

  it('reads members without outer braces and an array of key/value pairs as one object', () => {
    expect(parseLenientJson('"value": [ "k": "v", "n": 2 ]')).toEqual({ value: [{ k: 'v', n: 2 }] });
  });

  it('rejects garbage with a typed error', () => {
    for (const bad of ['{', '{"a" 1}', '[1 2]', 'nul', '"open', '{"a":1} x', '/* open']) {
      expect(() => parseLenientJson(bad)).toThrow(MediabotError);
    }
  });

  it('never throws anything but MediabotError on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => {
        try {
          parseLenientJson(s);
        } catch (err) {
          expect(err).toBeInstanceOf(MediabotError);
        }
      }),
      { numRuns: 500 },
    );
  });
});
