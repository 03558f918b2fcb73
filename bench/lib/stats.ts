/** A growable list of samples with percentiles. */
export class Samples {
  private data = new Float64Array(1 << 16);
  private n = 0;

  add(value: number): void {
    if (this.n === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.n++] = value;
  }

  get count(): number {
    return this.n;
  }

  summary(): { p50: number; p99: number; max: number } {
    if (this.n === 0) return { p50: NaN, p99: NaN, max: NaN };
    const sorted = this.data.slice(0, this.n).sort();
    const at = (q: number) => sorted[Math.min(this.n - 1, Math.floor(q * this.n))]!;
    return { p50: at(0.5), p99: at(0.99), max: sorted[this.n - 1]! };
  }
}

/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes. */
export const nowMs = (): number => performance.timeOrigin + performance.now();

export const round = (n: number, digits = 2): number => Math.round(n * 10 ** digits) / 10 ** digits;
