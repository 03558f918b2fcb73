import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * The backend's keys (`API_KEYS`), compared in constant time: digests of equal length, so
 * neither a key's length nor its first differing byte shows in the answer's timing.
 */
export class ApiKeys {
  private readonly digests: Buffer[];

  constructor(keys: readonly string[]) {
    this.digests = keys.map(digest);
  }

  get configured(): boolean {
    return this.digests.length > 0;
  }

  /** True when `candidate` is one of the keys. */
  matches(candidate: string): boolean {
    const d = digest(candidate);
    let found = false;
    for (const key of this.digests) found = timingSafeEqual(key, d) || found;
    return found;
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
