import type Redis from 'ioredis';
import { unavailable } from '../../errors';
import { presenceChannel, presenceKey } from './keys';

/** How long one process's count holds without a refresh: a crashed process drops out after this. */
export const PRESENCE_TTL_MS = 30_000;

/** What changed, for the presence frame. */
export type PresenceChange = { joined: string } | { left: string } | undefined;

/**
 * Online counts across processes: each process keeps its own member count per room in a
 * Redis hash, refreshed well within `PRESENCE_TTL_MS`, and the total is their sum.
 */
export class Presence {
  constructor(
    private readonly redis: Redis,
    private readonly processId: string,
  ) {}

  /** Sets this process's count for `room` and publishes a presence frame with the new total. */
  async update(room: string, localCount: number, change: PresenceChange): Promise<number> {
    const prefix = `{"type":"presence","room":${JSON.stringify(room)},"online":`;
    let suffix = '}';
    if (change && 'joined' in change) suffix = `,"joined":${JSON.stringify(change.joined)}}`;
    if (change && 'left' in change) suffix = `,"left":${JSON.stringify(change.left)}}`;
    try {
      return await this.redis.updatePresence(
        presenceKey(room),
        this.processId,
        localCount,
        PRESENCE_TTL_MS,
        presenceChannel(room),
        prefix,
        suffix,
      );
    } catch (err) {
      throw unavailable(err, 'Presence could not be updated');
    }
  }

  /** Re-asserts this process's counts, publishing nothing. */
  async refresh(counts: ReadonlyMap<string, number>): Promise<void> {
    if (counts.size === 0) return;
    const pipeline = this.redis.pipeline();
    for (const [room, count] of counts) {
      pipeline.updatePresence(presenceKey(room), this.processId, count, PRESENCE_TTL_MS, '', '', '');
    }
    await pipeline.exec();
  }

  /** The online totals of several rooms, read without writing. */
  async online(rooms: readonly string[]): Promise<Map<string, number>> {
    const totals = new Map<string, number>();
    if (rooms.length === 0) return totals;
    const pipeline = this.redis.pipeline();
    for (const room of rooms) pipeline.hgetall(presenceKey(room));
    let replies: Awaited<ReturnType<typeof pipeline.exec>>;
    try {
      replies = await pipeline.exec();
    } catch (err) {
      throw unavailable(err);
    }
    const now = Date.now();
    rooms.forEach((room, i) => {
      const [err, fields] = replies?.[i] ?? [null, {}];
      let total = 0;
      if (!err) {
        for (const value of Object.values(fields as Record<string, string>)) {
          const [count, expires] = value.split(':').map(Number);
          if (expires! > now) total += count!;
        }
      }
      totals.set(room, total);
    });
    return totals;
  }
}
