import { MediabotError } from '../errors.js';

/**
 * A forgiving JSON reader for documentation-style bodies (the Graph docs' own
 * examples): it accepts `//` and `/* *\/` comments, trailing commas, an object
 * body written without its outer braces (`"value": [...]`), and an array that
 * holds `"key": value` pairs (read as an array of one object).
 * Strict JSON parses to the same value as JSON.parse. The HTTP routes use the
 * strict parser; this one is for vectors, fixtures and the emulator.
 */
export function parseLenientJson(text: string): unknown {
  const p = new Reader(text);
  p.skip();
  const first = p.value();
  p.skip();
  let result = first;
  if (typeof first === 'string' && p.peek() === ':') {
    // Members without the surrounding braces.
    result = p.membersFrom(first, null);
  }
  p.skip();
  if (!p.done()) p.fail('unexpected trailing text');
  return result;
}

class Reader {
  private i = 0;
  constructor(private readonly s: string) {}

  done(): boolean {
    return this.i >= this.s.length;
  }

  peek(): string {
    return this.s[this.i] ?? '';
  }

  fail(msg: string): never {
    throw new MediabotError('MEDIABOT_BAD_REQUEST', `lenient JSON: ${msg} at offset ${this.i}`);
  }

  skip(): void {
    for (;;) {
      const c = this.s[this.i];
      if (c === undefined) return;
      if (c === ' ' || c === '\n' || c === '\r' || c === '\t' || c === '\uFEFF') {
        this.i++;
      } else if (c === '/' && this.s[this.i + 1] === '/') {
        const nl = this.s.indexOf('\n', this.i);
        this.i = nl < 0 ? this.s.length : nl + 1;
      } else if (c === '/' && this.s[this.i + 1] === '*') {
        const end = this.s.indexOf('*/', this.i + 2);
        if (end < 0) this.fail('unterminated comment');
        this.i = end + 2;
      } else {
        return;
      }
    }
  }

  value(): unknown {
    this.skip();
    const c = this.peek();
    if (c === '{') return this.object();
    if (c === '[') return this.array();
    if (c === '"') return this.string();
    if (c === '-' || (c >= '0' && c <= '9')) return this.number();
    for (const [word, v] of [['true', true], ['false', false], ['null', null]] as const) {
      if (this.s.startsWith(word, this.i)) {
        this.i += word.length;
        return v;
      }
    }
    return this.fail(c === '' ? 'unexpected end' : `unexpected character ${JSON.stringify(c)}`);
  }

  string(): string {
    const start = this.i;
    this.i++;
    while (this.i < this.s.length) {
      const c = this.s[this.i];
      if (c === '\\') this.i += 2;
      else if (c === '"') {
        this.i++;
        return JSON.parse(this.s.slice(start, this.i)) as string;
      } else this.i++;
    }
    return this.fail('unterminated string');
  }

  number(): number {
    const m = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(this.s.slice(this.i, this.i + 64));
    if (!m) this.fail('bad number');
    this.i += m[0].length;
    return Number(m[0]);
  }

  /** Reads `: value, "k": v, …` after `firstKey` until `close` (or end of text when null). */
  membersFrom(firstKey: string, close: string | null): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    let key: string | null = firstKey;
    for (;;) {
      this.skip();
      if (this.peek() !== ':') this.fail('expected ":"');
      this.i++;
      // defineProperty: a "__proto__" key stays a plain own property, as with JSON.parse.
      Object.defineProperty(out, key, { value: this.value(), enumerable: true, writable: true, configurable: true });
      this.skip();
      if (this.peek() === ',') {
        this.i++;
        this.skip();
      }
      if ((close === null && this.done()) || (close !== null && this.peek() === close)) return out;
      if (this.peek() !== '"') this.fail('expected a key');
      key = this.string();
    }
  }

  object(): Record<string, unknown> {
    this.i++; // {
    this.skip();
    if (this.peek() === '}') {
      this.i++;
      return {};
    }
    if (this.peek() !== '"') this.fail('expected a key');
    const out = this.membersFrom(this.string(), '}');
    this.i++; // }
    return out;
  }

  array(): unknown[] {
    this.i++; // [
    const out: unknown[] = [];
    for (;;) {
      this.skip();
      if (this.peek() === ']') {
        this.i++;
        return out;
      }
      const v = this.value();
      this.skip();
      if (typeof v === 'string' && this.peek() === ':') {
        // `[ "k": v, … ]`: an object written with array brackets.
        out.push(this.membersFrom(v, ']'));
        continue;
      }
      out.push(v);
      this.skip();
      if (this.peek() === ',') this.i++;
      else if (this.peek() !== ']') this.fail('expected "," or "]"');
    }
  }
}
