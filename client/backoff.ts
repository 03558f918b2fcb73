/** Settings of a `Backoff`. */
export interface BackoffOptions {
  /** The ceiling of the first delay; it doubles with each attempt. */
  readonly baseMs: number;
  /** The largest ceiling. */
  readonly maxMs: number;
  /** A number in [0, 1); Math.random by default. */
  readonly random?: () => number;
}

/**
 * Exponential backoff with full jitter: attempt n waits a random time in
 * [0, min(maxMs, baseMs · 2ⁿ)), so clients dropped together (a deploy closes every socket with
 * 1001) do not come back together.
 *
 * @example
 * const backoff = new Backoff({ baseMs: 1000, maxMs: 15000 });
 * setTimeout(reconnect, backoff.next()); // 0–1 s, then 0–2 s, 0–4 s … up to 0–15 s
 * backoff.reset();                       // once a connection worked
 */
export class Backoff {
  private attempts = 0;
  private readonly random: () => number;

  constructor(private readonly options: BackoffOptions) {
    this.random = options.random ?? Math.random;
  }

  /** The delay before the next attempt, in ms; each call counts one attempt. */
  next(): number {
    const ceiling = this.ceiling();
    this.attempts++;
    return Math.floor(this.random() * ceiling);
  }

  /** The upper bound of the next delay. */
  ceiling(): number {
    // 2 ** 30 is far past any cap: stop doubling before the number overflows.
    return Math.min(this.options.maxMs, this.options.baseMs * 2 ** Math.min(this.attempts, 30));
  }

  /** Attempts counted since the last reset. */
  get attempt(): number {
    return this.attempts;
  }

  /** Starts over from the first (shortest) delay. */
  reset(): void {
    this.attempts = 0;
  }
}
