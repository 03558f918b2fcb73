import { unavailable } from '../../errors';
import type { PresenceChange } from '../../protocol/types';
import { presenceFrameParts } from '../../protocol/wire';
import type { PresenceMember, PresenceStore } from '../engine';
import { PRESENCE_TTL_MS, sortMembers } from '../redis/presence-store';
import type { MemoryRoomBus } from './room-bus';

interface ProcessCount {
  readonly count: number;
  /** The count holds while now < expiresAt, as in the UPDATE_PRESENCE script. */
  readonly expiresAt: number;
}

interface MemberEntry {
  readonly member: PresenceMember;
  /** The entry holds while now < expiresAt, as in the UPDATE_MEMBER script. */
  readonly expiresAt: number;
}

/**
 * Online counts in memory, shaped like the Redis engine's: one count per process per room, each
 * holding `PRESENCE_TTL_MS` unless refreshed, summed by `update`, which publishes the frame on
 * the bus. There is only ever one process here, but keeping the shape keeps the semantics
 * (a count that is not refreshed drops out; a count of 0 is removed). The presence list is
 * kept the same way: one entry per person (by uid, else by name), holding `PRESENCE_TTL_MS`
 * unless refreshed.
 */
export class MemoryPresenceStore implements PresenceStore {
  private readonly rooms = new Map<string, Map<string, ProcessCount>>();
  // room → person (`u:UID` or `n:NAME`) → this process's entry; one process, so one entry per person.
  private readonly memberRooms = new Map<string, Map<string, MemberEntry>>();
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

  async refresh(counts: ReadonlyMap<string, number>, members: ReadonlyMap<string, readonly PresenceMember[]>): Promise<void> {
    this.assertOpen('Presence could not be refreshed');
    for (const [room, count] of counts) this.set(room, count);
    // Entries not listed are left to expire, as HSET-per-entry in Redis would leave them.
    for (const [room, list] of members) for (const member of list) this.setEntry(room, member);
  }

  async setMember(room: string, member: PresenceMember): Promise<void> {
    this.assertOpen('Presence could not be updated');
    this.setEntry(room, member);
  }

  async members(room: string): Promise<PresenceMember[]> {
    this.assertOpen();
    const now = this.now();
    const list: PresenceMember[] = [];
    for (const entry of this.memberRooms.get(room)?.values() ?? []) if (entry.expiresAt > now) list.push({ ...entry.member });
    // The Redis engine's order, so that both list people alike.
    return sortMembers(list);
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
    for (const [room, entries] of this.memberRooms) {
      for (const [person, entry] of entries) if (entry.expiresAt <= now) entries.delete(person);
      if (entries.size === 0) this.memberRooms.delete(room);
    }
  }

  /** What is held now, to show that memory stays bounded: rooms with counts, and member entries. */
  stats(): { rooms: number; members: number } {
    let members = 0;
    for (const entries of this.memberRooms.values()) members += entries.size;
    return { rooms: this.rooms.size, members };
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

  /** UPDATE_MEMBER: set (or, with 0 connections, remove) this process's entry for one person. */
  private setEntry(room: string, { name, uid, connections }: PresenceMember): void {
    const person = uid === undefined ? `n:${name}` : `u:${uid}`;
    let entries = this.memberRooms.get(room);
    if (connections > 0) {
      if (!entries) this.memberRooms.set(room, (entries = new Map()));
      // Copied, so that the caller's object (and fields it may carry besides) is not kept.
      const member = uid === undefined ? { name, connections } : { name, uid, connections };
      entries.set(person, { member, expiresAt: Math.floor(this.now()) + PRESENCE_TTL_MS });
    } else if (entries) {
      entries.delete(person);
      if (entries.size === 0) this.memberRooms.delete(room);
    }
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

