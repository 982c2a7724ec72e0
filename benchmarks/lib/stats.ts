export function quantile(values: ArrayLike<number>, q: number): number {
  const a = Array.from(values).sort((x, y) => x - y);
  if (a.length === 0) return 0;
  const i = Math.min(a.length - 1, Math.max(0, Math.ceil(q * a.length) - 1));
  return a[i]!;
}

export const median = (values: ArrayLike<number>): number => quantile(values, 0.5);

export const round = (x: number, digits = 3): number => Number(x.toFixed(digits));

export const nowUs = (): number => Number(process.hrtime.bigint()) / 1000;

/** Progress to stderr, so stdout carries only the JSON result. */
const started = performance.now();

/** A progress line on stderr, stamped with the seconds since the benchmark started. */
export function progress(line: string): void {
  process.stderr.write(`[bench ${((performance.now() - started) / 1000).toFixed(1)}s] ${line}\n`);
}
