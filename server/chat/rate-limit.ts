/**
 * A token bucket: `ratePerSec` on average, in bursts of up to `burstSec` seconds' worth.
 * A rate of 0 turns it off.
 *
 * @example
 * const bucket = new TokenBucket(20);
 * if (!bucket.take()) throw new ChatError('rate_limited', '…');
 */
export class TokenBucket {
  private tokens: number;
  private updated: number;
  private readonly capacity: number;

  constructor(
    private readonly ratePerSec: number,
    burstSec = 10,
    private readonly now: () => number = Date.now,
  ) {
    this.capacity = Math.max(1, ratePerSec * burstSec);
    this.tokens = this.capacity;
    this.updated = now();
  }

  /** Takes one token; false when none is left. */
  take(): boolean {
    if (this.ratePerSec === 0) return true;
    const now = this.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.updated) / 1000) * this.ratePerSec);
    this.updated = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** True when the bucket is full again, so a keyed limiter may forget it. */
  get idle(): boolean {
    return this.tokens + ((this.now() - this.updated) / 1000) * this.ratePerSec >= this.capacity;
  }
}

/** One bucket per key (an HTTP client's address), forgotten once full again. */
export class KeyedRateLimiter {
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly ratePerSec: number) {
    this.sweeper = setInterval(() => {
      for (const [key, bucket] of this.buckets) if (bucket.idle) this.buckets.delete(key);
    }, 30_000);
    this.sweeper.unref();
  }

  take(key: string): boolean {
    if (this.ratePerSec === 0) return true;
    let bucket = this.buckets.get(key);
    if (!bucket) this.buckets.set(key, (bucket = new TokenBucket(this.ratePerSec)));
    return bucket.take();
  }

  /** The allowance of one key, for the send pipeline. */
  allowance(key: string): { take(): boolean } {
    return new KeyedAllowance(this, key);
  }

  close(): void {
    clearInterval(this.sweeper);
  }
}

/**
 * One key's allowance, and optionally a connection's own bucket before it: a connection holds
 * one of these for its life, so it is a small object rather than closures (10,000 WebSockets
 * each held two closures, their contexts and two wrapper objects for this).
 */
export class KeyedAllowance {
  constructor(
    private readonly limiter: KeyedRateLimiter,
    private readonly key: string,
    private readonly own?: TokenBucket,
  ) {}

  take(): boolean {
    return (this.own === undefined || this.own.take()) && this.limiter.take(this.key);
  }
}
