import { ChatError } from '../errors';

/**
 * Long-lived connections of this process — WebSockets, SSE streams and held long polls, counted
 * together — per client address and in all (PROTOCOL.md v2 "Room lifecycle and limits"). A limit
 * of 0 turns it off. Counts hold per process: behind a load balancer each process counts its own.
 *
 * @example
 * const release = limits.acquire(ctx.ip); // 429 too_many_connections / 503 unavailable
 * res.once('close', release);
 */
export class ConnectionLimits {
  private readonly perAddress = new Map<string, number>();
  private total = 0;

  constructor(
    private readonly maxPerAddress: number,
    private readonly maxTotal: number,
  ) {}

  /** Open connections counted now. */
  get size(): number {
    return this.total;
  }

  /** Counts one connection of `address`; returns the function that uncounts it (once, however often called). */
  acquire(address: string): () => void {
    if (this.maxTotal > 0 && this.total >= this.maxTotal) {
      throw new ChatError('unavailable', 'The server holds as many connections as it can; try again shortly.');
    }
    const mine = this.perAddress.get(address) ?? 0;
    if (this.maxPerAddress > 0 && mine >= this.maxPerAddress) {
      throw new ChatError(
        'too_many_connections',
        `Your address already holds ${mine} connections to this server, the most it allows; close some first.`,
      );
    }
    this.perAddress.set(address, mine + 1);
    this.total++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total--;
      const left = (this.perAddress.get(address) ?? 1) - 1;
      if (left > 0) this.perAddress.set(address, left);
      else this.perAddress.delete(address);
    };
  }
}
