import type { TransportName } from './transports/transport';

/** Attempts of one transport that never opened, in a row, before the client probes the server. */
export const FAILURES_BEFORE_PROBE = 2;

/**
 * Which transport to try next. The client starts with the first of its list and moves on only
 * when a transport cannot connect at all while the server answers HTTP (a proxy or network that
 * blocks it). A transport that has worked once is never left for failing to connect: the server
 * is more likely down. When every transport was left, it starts over from the first.
 *
 * @example
 * const chooser = new TransportChooser(['ws', 'sse', 'longpoll', 'poll']);
 * chooser.current;                            // 'ws'
 * if (chooser.failed() >= 2 && serverAnswers) chooser.moveOn(); // 'sse'
 */
export class TransportChooser {
  private index = 0;
  private failures = 0;
  private readonly worked = new Set<TransportName>();
  private readonly left = new Set<TransportName>();

  constructor(private readonly order: readonly TransportName[]) {
    if (order.length === 0) throw new TypeError('TransportChooser needs at least one transport.');
  }

  get current(): TransportName {
    return this.order[this.index]!;
  }

  /** Attempts of the current transport that failed in a row without opening. */
  get failuresInRow(): number {
    return this.failures;
  }

  /** True when the current transport has opened a connection before. */
  get currentWorked(): boolean {
    return this.worked.has(this.current);
  }

  /** A connection of the current transport opened. */
  opened(): void {
    this.worked.add(this.current);
    this.failures = 0;
  }

  /** An attempt failed before opening; returns the failures in a row. */
  failed(): number {
    return ++this.failures;
  }

  /**
   * Leaves the current transport for the next one not left yet (or starts over when all were);
   * returns false when it stays, because it has worked before or it is the only one.
   */
  moveOn(): boolean {
    if (this.order.length === 1 || this.currentWorked) return false;
    this.left.add(this.current);
    if (this.left.size === this.order.length) this.left.clear();
    let next = (this.index + 1) % this.order.length;
    while (this.left.has(this.order[next]!)) next = (next + 1) % this.order.length;
    this.index = next;
    this.failures = 0;
    return true;
  }
}
