import { unavailable } from '../../errors';
import type { BanList, MemberRef } from '../engine';

/** One ban as a snapshot keeps it: the room, whom it names (by uid or by name), and until when (ms). */
export type BanEntry = { readonly room: string; readonly untilMs: number } & MemberRef;

/**
 * Bans in memory, as the Redis engine keeps them (one key per room and target, expiring when
 * the ban ends): a ban holds while `now < untilMs`, a later ban of the same target replaces the
 * earlier one, and the sweep forgets the ones that ended.
 */
export class MemoryBanList implements BanList {
  // room → target (`uid:UID` or `name:NAME`) → until (ms).
  private readonly rooms = new Map<string, Map<string, number>>();
  private closed = false;

  /** @param bans Bans read back from a snapshot. */
  constructor(
    private readonly now: () => number,
    bans: Iterable<BanEntry> = [],
  ) {
    for (const entry of bans) this.set(entry.room, entry, entry.untilMs);
  }

  async ban(room: string, who: MemberRef, untilMs: number): Promise<void> {
    this.assertOpen('The ban could not be stored');
    this.set(room, who, untilMs);
  }

  async isBanned(room: string, visitor: { readonly uid?: string; readonly name: string }): Promise<boolean> {
    this.assertOpen('The ban list is unavailable');
    return this.holds(room, visitor);
  }

  /** `isBanned` without a promise, for a step that must not yield (the history store's append). */
  holds(room: string, visitor: { readonly uid?: string; readonly name: string }): boolean {
    const targets = this.rooms.get(room);
    if (!targets) return false;
    const now = this.now();
    const holds = (until: number | undefined) => until !== undefined && until > now;
    return holds(targets.get(targetKey({ user: visitor.name }))) || (visitor.uid !== undefined && holds(targets.get(targetKey({ uid: visitor.uid }))));
  }

  /** Forgets the bans that ended (a read does not need it: it compares with the clock). */
  sweep(): void {
    const now = this.now();
    for (const [room, targets] of this.rooms) {
      for (const [target, until] of targets) if (until <= now) targets.delete(target);
      if (targets.size === 0) this.rooms.delete(room);
    }
  }

  /** The bans still in force: what a snapshot saves. */
  *entries(): IterableIterator<BanEntry> {
    const now = this.now();
    for (const [room, targets] of this.rooms) {
      for (const [target, untilMs] of targets) {
        if (untilMs <= now) continue;
        const name = target.slice(target.indexOf(':') + 1);
        yield target.startsWith('uid:') ? { room, uid: name, untilMs } : { room, user: name, untilMs };
      }
    }
  }

  /** How many bans are held now, to show that memory stays bounded. */
  size(): number {
    let count = 0;
    for (const targets of this.rooms.values()) count += targets.size;
    return count;
  }

  /** Refuses every later call with `unavailable`: nothing may change after the snapshot. */
  close(): void {
    this.closed = true;
  }

  private set(room: string, who: MemberRef, untilMs: number): void {
    let targets = this.rooms.get(room);
    // A ban that has already ended replaces the earlier one with nothing, as a Redis key set to expire in the past is gone.
    if (!(untilMs > this.now())) {
      targets?.delete(targetKey(who));
      if (targets?.size === 0) this.rooms.delete(room);
      return;
    }
    if (!targets) this.rooms.set(room, (targets = new Map()));
    targets.set(targetKey(who), untilMs);
  }

  private assertOpen(what?: string): void {
    if (this.closed) throw unavailable(new Error('The memory engine has stopped.'), what);
  }
}

/** A ban's target within its room: a uid and a name never share a key. */
function targetKey(who: MemberRef): string {
  return 'uid' in who ? `uid:${who.uid}` : `name:${who.user}`;
}
