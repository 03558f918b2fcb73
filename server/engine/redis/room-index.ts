import type { RoomSummary } from '../engine';
import type { RedisClient } from './connect';
import { roomsKey } from './keys';

/** How long a busy room's newer scores wait to be written together. */
const ROOM_INDEX_FLUSH_MS = 1000;
/** Rooms per ZADD in a flush, so one command never grows without bound. */
const ROOMS_PER_ZADD = 1000;
/**
 * Every this many windows each busy room is written in full again (a plain ZADD at its next
 * store), so an entry lost under a room that never goes quiet (a cluster master that came back
 * without `chat:rooms`, an admin `clear` racing a store) is listed again within ten seconds.
 */
const FULL_WRITE_EVERY = 10;

/**
 * `chat:rooms`, the lobby's index, scored by each room's last stored message. It lives on a slot
 * of its own, so it is written beside the append script, not in it. Written once per store it
 * was a second Redis command for every message (12 % of a busy server's CPU with 1,000 rooms
 * talking); now a room's first store in a second is written at once (a new room is in the lobby
 * right away), and its later stores in that second are written together with every other busy
 * room's, in one ZADD a second. Scores lag by at most a second; keys expire HISTORY_TTL after
 * the last store, so a room may leave the lobby up to a second before its keys do.
 *
 * Each write also prunes rooms idle past HISTORY_TTL (their keys have expired): O(log N +
 * pruned), at most once per room per second and once per flush. Writes are best-effort: a lost
 * one is repaired by the room's next store, and `rooms()` filters stale scores anyway. This
 * process's own lobby sees its pending scores at once (`overlay`); other processes' lobbies see
 * them within a second.
 */
export class RoomIndex {
  /** Rooms written in this window: their next stores wait for the flush. */
  private written = new Set<string>();
  /** Room → the newest store time not yet written. */
  private pending = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private windows = 0;

  constructor(
    private readonly redis: RedisClient,
    /** HISTORY_TTL in ms; 0 keeps rooms forever and prunes nothing. */
    private readonly ttlMs: number,
    private readonly flushMs = ROOM_INDEX_FLUSH_MS,
  ) {}

  /**
   * A message was stored in `room` at `now`; `created` when that store began the room (its
   * epoch): a new room, or one cleared since, is written at once whatever the window.
   */
  touch(room: string, now = Date.now(), created = false): void {
    if (this.written.has(room) && !created) {
      this.pending.set(room, now);
    } else {
      this.written.add(room);
      this.write('add', [[room, now]]).catch(() => this.written.delete(room)); // the next store writes again
    }
    this.timer ??= setInterval(() => void this.flush(), this.flushMs).unref();
  }

  /**
   * `rooms` as read from Redis, with this process's scores that wait for the flush laid over
   * them, most recent first: what this process stored shows in its own lobby at once.
   */
  overlay(rooms: RoomSummary[], limit: number): RoomSummary[] {
    if (this.pending.size === 0) return rooms;
    const merged = new Map(rooms.map((r) => [r.room, r.lastActivity]));
    for (const [room, ms] of this.pending) if (ms > (merged.get(room) ?? 0)) merged.set(room, ms);
    return [...merged]
      .map(([room, lastActivity]) => ({ room, lastActivity }))
      .sort((a, b) => b.lastActivity - a.lastActivity)
      .slice(0, limit);
  }

  /** Writes what is pending now and stops the timer (graceful shutdown). */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  private flush(): Promise<void> {
    const entries = [...this.pending];
    // Rooms that stored again in this window stay "written" for the next; the others' next store
    // is written at once again, and every FULL_WRITE_EVERY windows everyone's is.
    this.windows++;
    this.written = this.windows % FULL_WRITE_EVERY === 0 ? new Set() : new Set(this.pending.keys());
    this.pending = new Map();
    if (entries.length === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
    const writes: Array<Promise<void>> = [];
    for (let i = 0; i < entries.length; i += ROOMS_PER_ZADD) writes.push(this.write('update', entries.slice(i, i + ROOMS_PER_ZADD)));
    // A lost flush is repaired by the rooms' next stores.
    return Promise.all(writes.map((w) => w.catch(() => undefined))).then(() => undefined);
  }

  /**
   * One ZADD (and the prune). A flush only updates rooms already listed (`XX`): a room that an
   * operator cleared meanwhile is not listed again by a score from before the clear; its next
   * store creates it anew (`created`) and is written at once.
   */
  private async write(mode: 'add' | 'update', entries: Array<[room: string, ms: number]>): Promise<void> {
    const args: Array<string | number> = [];
    let newest = 0;
    for (const [room, ms] of entries) {
      args.push(ms, room);
      if (ms > newest) newest = ms;
    }
    const pipeline = mode === 'add' ? this.redis.pipeline().zadd(roomsKey, ...args) : this.redis.pipeline().zadd(roomsKey, 'XX', ...args);
    if (this.ttlMs > 0) pipeline.zremrangebyscore(roomsKey, '-inf', `(${newest - this.ttlMs}`);
    const results = await pipeline.exec();
    const failed = results?.find(([err]) => err)?.[0];
    if (failed) throw failed;
  }
}
