import { unavailable } from '../../errors';
import type { BanList, MemberRef } from '../engine';
import type { RedisClient } from './connect';
import { banKey } from './keys';

/**
 * Bans as keys that expire when the ban ends: every process, and a restarted one, reads the same.
 * They are the one kind of room key that HISTORY_TTL leaves alone: a ban is about a person, not
 * the room's history, so a quiet room must not let a banned user back in before the ban ends
 * (and a ban's own expiry already bounds it, at most a year: MAX_BAN_SECONDS).
 */
export class RedisBanList implements BanList {
  constructor(
    private readonly redis: RedisClient,
    private readonly onFailure: (err: unknown) => void = () => {},
  ) {}

  async ban(room: string, who: MemberRef, untilMs: number): Promise<void> {
    try {
      await this.redis.set(banKey(room, who), String(untilMs), 'PXAT', untilMs);
    } catch (err) {
      this.onFailure(err);
      throw unavailable(err, 'The ban could not be stored');
    }
  }

  async isBanned(room: string, visitor: { readonly uid?: string; readonly name: string }): Promise<boolean> {
    const keys = [banKey(room, { user: visitor.name })];
    if (visitor.uid !== undefined) keys.push(banKey(room, { uid: visitor.uid }));
    try {
      return (await this.redis.exists(...keys)) > 0;
    } catch (err) {
      this.onFailure(err);
      throw unavailable(err);
    }
  }
}
