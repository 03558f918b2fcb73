/**
 * Latencies as a histogram with 1 % wide buckets (from 1 µs up), so that several load-generator
 * processes can each send theirs and be merged exactly, whatever the number of samples.
 */
const STEP = Math.log(1.01);
const MIN_MS = 0.001;

/** A histogram as it travels from a generator process to the parent. */
export interface HistogramJson {
  /** `[bucket, count]` for every bucket that holds something. */
  buckets: Array<[number, number]>;
  count: number;
  max: number;
}

/**
 * Latencies in ms, 1 % buckets; `merge` adds another's.
 * @example
 * const h = new Histogram(); h.add(3.2); h.quantile(0.99);
 */
export class Histogram {
  private readonly counts = new Map<number, number>();
  count = 0;
  max = 0;

  add(ms: number): void {
    const bucket = ms <= MIN_MS ? 0 : Math.floor(Math.log(ms / MIN_MS) / STEP) + 1;
    this.counts.set(bucket, (this.counts.get(bucket) ?? 0) + 1);
    this.count++;
    if (ms > this.max) this.max = ms;
  }

  merge(other: HistogramJson): this {
    for (const [bucket, n] of other.buckets) this.counts.set(bucket, (this.counts.get(bucket) ?? 0) + n);
    this.count += other.count;
    this.max = Math.max(this.max, other.max);
    return this;
  }

  /** The value below which a fraction `q` of the samples lie (within 1 %). */
  quantile(q: number): number {
    if (this.count === 0) return NaN;
    const rank = Math.min(this.count, Math.floor(q * this.count) + 1);
    let seen = 0;
    for (const bucket of [...this.counts.keys()].sort((a, b) => a - b)) {
      seen += this.counts.get(bucket)!;
      if (seen >= rank) return Math.min(this.max, bucket === 0 ? MIN_MS : MIN_MS * Math.exp(bucket * STEP));
    }
    return this.max;
  }

  summary(): { p50: number; p99: number; max: number } {
    return { p50: this.quantile(0.5), p99: this.quantile(0.99), max: this.max };
  }

  toJSON(): HistogramJson {
    return { buckets: [...this.counts], count: this.count, max: this.max };
  }
}
