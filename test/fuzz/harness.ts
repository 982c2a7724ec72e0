/**
 * A bounded fuzz runner on fast-check: inputs are the seed corpus (test/fuzz/corpus/<target>/),
 * mutations of the seeds (bytes flipped, inserted, deleted, truncated, spliced) and random bytes.
 * The property of every parser of untrusted bytes: it returns, or throws a MediabotError (a typed
 * error with a MEDIABOT_* code), within a time bound. Each target runs for FUZZ_MS milliseconds
 * (default 3000) with a fixed seed unless FUZZ_SEED is given, so a CI failure reproduces.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { isMediabotError } from '../../src/errors.js';

export const CORPUS = join(dirname(fileURLToPath(import.meta.url)), 'corpus');
export const FUZZ_MS = Number(process.env['FUZZ_MS'] ?? 3000);
export const FUZZ_SEED = Number(process.env['FUZZ_SEED'] ?? 20261202);
/** One call slower than this counts as a hang. */
export const CALL_LIMIT_MS = 1000;

export function seeds(target: string): Uint8Array[] {
  const dir = join(CORPUS, target);
  return readdirSync(dir)
    .sort()
    .map((f) => new Uint8Array(readFileSync(join(dir, f))));
}

type Mutation = { op: 0 | 1 | 2 | 3 | 4; pos: number; byte: number; len: number };

function mutate(seed: Uint8Array, muts: Mutation[], other: Uint8Array): Uint8Array {
  let b = Array.from(seed);
  for (const m of muts) {
    const at = b.length === 0 ? 0 : m.pos % (b.length + 1);
    switch (m.op) {
      case 0: // flip a byte
        if (b.length > 0) b[at % b.length] = m.byte;
        break;
      case 1: // insert bytes
        b.splice(at, 0, ...new Array<number>(m.len % 8 + 1).fill(m.byte));
        break;
      case 2: // delete bytes
        b.splice(at, m.len % 16 + 1);
        break;
      case 3: // truncate
        b = b.slice(0, at);
        break;
      case 4: // splice another seed in
        b.splice(at, m.len % 32, ...Array.from(other.subarray(0, m.len % 64)));
        break;
    }
  }
  return Uint8Array.from(b);
}

/** Seeds, mutated seeds and random bytes. */
export function bytesFrom(target: string): fc.Arbitrary<Uint8Array> {
  const s = seeds(target);
  const mutation = fc.record({ op: fc.constantFrom(0, 1, 2, 3, 4) as fc.Arbitrary<0 | 1 | 2 | 3 | 4>, pos: fc.nat(), byte: fc.integer({ min: 0, max: 255 }), len: fc.nat(64) });
  const mutated = fc.tuple(fc.constantFrom(...s), fc.array(mutation, { minLength: 1, maxLength: 6 }), fc.constantFrom(...s)).map(([seed, muts, other]) => mutate(seed, muts, other));
  return fc.oneof({ arbitrary: fc.constantFrom(...s), weight: 1 }, { arbitrary: mutated, weight: 8 }, { arbitrary: fc.uint8Array({ maxLength: 2048 }), weight: 2 });
}

/** Text from the same sources (invalid UTF-8 is replaced, as a WebSocket text frame would not carry it). */
export function textFrom(target: string): fc.Arbitrary<string> {
  return fc.oneof({ arbitrary: bytesFrom(target).map((b) => Buffer.from(b).toString('utf8')), weight: 4 }, { arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)), weight: 1 });
}

export interface FuzzFinding {
  input: string;
  error: string;
}

/** Runs `parse` on every generated input: an untyped throw or a slow call is a finding. */
export async function fuzz<T>(arb: fc.Arbitrary<T>, parse: (input: T) => unknown | Promise<unknown>, show: (input: T) => string): Promise<{ runs: number; typedErrors: number }> {
  let runs = 0;
  let typedErrors = 0;
  await fc.assert(
    fc.asyncProperty(arb, async (input) => {
      runs++;
      const t0 = performance.now();
      try {
        await parse(input);
      } catch (err) {
        if (!isMediabotError(err)) throw new Error(`untyped throw on ${show(input)}: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
        typedErrors++;
      }
      const ms = performance.now() - t0;
      if (ms > CALL_LIMIT_MS) throw new Error(`took ${ms.toFixed(0)} ms on ${show(input)}`);
    }),
    { seed: FUZZ_SEED, numRuns: Number.MAX_SAFE_INTEGER, interruptAfterTimeLimit: FUZZ_MS, markInterruptAsFailure: false, endOnFailure: true, includeErrorInReport: true },
  );
  if (process.env['FUZZ_VERBOSE'] !== undefined) process.stderr.write(`fuzz: ${runs} inputs, ${typedErrors} typed refusals\n`);
  return { runs, typedErrors };
}

export const hex = (b: Uint8Array): string => Buffer.from(b.subarray(0, 256)).toString('hex') + (b.length > 256 ? `… (${b.length} bytes)` : '');
export const quote = (s: string): string => JSON.stringify(s.length > 300 ? `${s.slice(0, 300)}…` : s);
