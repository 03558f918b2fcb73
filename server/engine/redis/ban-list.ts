import type Redis from 'ioredis';
import { unavailable } from '../../errors';
import type { BanList, MemberRef } from '../engine';
import { banKey } from './keys';

/** Bans as keys that expire when the ban ends: every process, and a restarted one, reads the same. */
export class RedisBanList implements BanList {
  constructor(
    private readonly redis: Redis,
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
