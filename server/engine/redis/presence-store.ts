import type Redis from 'ioredis';
import { unavailable } from '../../errors';
import type { PresenceChange } from '../../protocol/types';
import { presenceFrameParts } from '../../protocol/wire';
import type { PresenceStore } from '../engine';
import { presenceChannel, presenceKey } from './keys';

/** How long one process's count holds without a refresh: a crashed process drops out after this. */
export const PRESENCE_TTL_MS = 30_000;

/**
 * Online counts across processes: each process keeps its own member count per room in a
 * Redis hash, refreshed well within `PRESENCE_TTL_MS`, and the total is their sum, computed
 * and published by one script.
 */
export class RedisPresenceStore implements PresenceStore {
  constructor(
    private readonly redis: Redis,
    private readonly processId: string,
  ) {}

  async update(room: string, localCount: number, change: PresenceChange): Promise<number> {
    const { prefix, suffix } = presenceFrameParts(room, change);
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

  async refresh(counts: ReadonlyMap<string, number>): Promise<void> {
    if (counts.size === 0) return;
    const pipeline = this.redis.pipeline();
    for (const [room, count] of counts) {
      pipeline.updatePresence(presenceKey(room), this.processId, count, PRESENCE_TTL_MS, '', '', '');
    }
    await pipeline.exec();
  }

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
