import { unavailable } from '../../errors';
import type { PresenceChange } from '../../protocol/types';
import { presenceFrameParts } from '../../protocol/wire';
import type { PresenceStore } from '../engine';
import { PRESENCE_TTL_MS } from '../redis/presence-store';
import type { MemoryRoomBus } from './room-bus';

interface ProcessCount {
  readonly count: number;
  /** The count holds while now < expiresAt, as in the UPDATE_PRESENCE script. */
  readonly expiresAt: number;
}

/**
 * Online counts in memory, shaped like the Redis engine's: one count per process per room, each
 * holding `PRESENCE_TTL_MS` unless refreshed, summed by `update`, which publishes the frame on
 * the bus. There is only ever one process here, but keeping the shape keeps the semantics
 * (a count that is not refreshed drops out; a count of 0 is removed).
 */
export class MemoryPresenceStore implements PresenceStore {
  private readonly rooms = new Map<string, Map<string, ProcessCount>>();
  private closed = false;

  constructor(
    private readonly bus: MemoryRoomBus,
    private readonly processId: string,
    private readonly now: () => number,
  ) {}

  async update(room: string, localCount: number, change: PresenceChange): Promise<number> {
    this.assertOpen('Presence could not be updated');
    const total = this.set(room, localCount);
    const { prefix, suffix } = presenceFrameParts(room, change);
    this.bus.publishPresence(room, `${prefix}${total}${suffix}`);
    return total;
  }

  async refresh(counts: ReadonlyMap<string, number>): Promise<void> {
    this.assertOpen('Presence could not be refreshed');
    for (const [room, count] of counts) this.set(room, count);
  }

  async online(rooms: readonly string[]): Promise<Map<string, number>> {
    this.assertOpen();
    const now = this.now();
    const totals = new Map<string, number>();
    for (const room of rooms) {
      let total = 0;
      for (const entry of this.rooms.get(room)?.values() ?? []) if (entry.expiresAt > now) total += entry.count;
      totals.set(room, total);
    }
    return totals;
  }

  /** Drops counts that were not refreshed in time (a read does not, as in Redis). */
  sweep(): void {
    const now = this.now();
    for (const room of this.rooms.keys()) this.total(room, now);
  }

  close(): void {
    this.closed = true;
  }

  private assertOpen(what?: string): void {
    if (this.closed) throw unavailable(new Error('The memory engine has stopped.'), what);
  }

  /** UPDATE_PRESENCE without the PUBLISH: set this process's count, drop stale ones, sum. */
  private set(room: string, count: number): number {
    const now = Math.floor(this.now());
    let counts = this.rooms.get(room);
    if (count > 0) {
      if (!counts) this.rooms.set(room, (counts = new Map()));
      counts.set(this.processId, { count, expiresAt: now + PRESENCE_TTL_MS });
    } else {
      counts?.delete(this.processId);
    }
    return this.total(room, now);
  }

  private total(room: string, now: number): number {
    const counts = this.rooms.get(room);
    if (!counts) return 0;
    let total = 0;
    for (const [processId, entry] of counts) {
      if (entry.expiresAt > now) total += entry.count;
      else counts.delete(processId);
    }
    // An empty hash does not exist in Redis; an empty map here would only hold memory.
    if (counts.size === 0) this.rooms.delete(room);
    return total;
  }
}
