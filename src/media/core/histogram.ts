/**
 * A fixed-bucket latency histogram in microseconds (log-spaced buckets),
 * cheap enough to record every tick without allocating.
 */
export class LatencyHistogram {
  /** Bucket upper bounds in µs. */
  static readonly BOUNDS = [10, 20, 50, 100, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000, 10000, 20000, Infinity];
  readonly counts = new Float64Array(LatencyHistogram.BOUNDS.length);
  count = 0;
  sumUs = 0;
  maxUs = 0;

  record(us: number): void {
    const b = LatencyHistogram.BOUNDS;
    let i = 0;
    while (us > b[i]!) i++;
    this.counts[i]!++;
    this.count++;
    this.sumUs += us;
    if (us > this.maxUs) this.maxUs = us;
  }

  /** Upper bound of the bucket holding quantile q (0..1). */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    const target = q * this.count;
    let acc = 0;
    for (let i = 0; i < this.counts.length; i++) {
      acc += this.counts[i]!;
      if (acc >= target) return Math.min(LatencyHistogram.BOUNDS[i]!, this.maxUs);
    }
    return this.maxUs;
  }

  snapshot(): { count: number; meanUs: number; p50Us: number; p99Us: number; maxUs: number; buckets: Array<[number, number]> } {
    return {
      count: this.count,
      meanUs: this.count ? this.sumUs / this.count : 0,
      p50Us: this.quantile(0.5),
      p99Us: this.quantile(0.99),
      maxUs: this.maxUs,
      buckets: LatencyHistogram.BOUNDS.map((b, i) => [b, this.counts[i]!] as [number, number]),
    };
  }
}
