import { Cluster, type ChainableCommander } from 'ioredis';
import { unavailable } from '../../errors';
import type { PresenceChange } from '../../protocol/types';
import { presenceFrameParts } from '../../protocol/wire';
import type { PresenceMember, PresenceStore } from '../engine';
import type { RedisClient } from './connect';
import { membersKey, presenceChannel, presenceKey } from './keys';
import { execGroups, type PipelineReplies } from './pipelines';

/** How long one process's count holds without a refresh: a crashed process drops out after this. */
export const PRESENCE_TTL_MS = 30_000;

/**
 * Online counts across processes: each process keeps its own member count per room in a
 * Redis hash, refreshed well within `PRESENCE_TTL_MS`, and the total is their sum, computed
 * and published by one script. Both hashes (counts and members) expire `PRESENCE_TTL_MS` after
 * their last write: expired fields are dropped as they are met, and a hash nobody writes to
 * any more goes with its last field, so presence never outlives the connections. On a Redis
 * Cluster the script is the sharded variant (SPUBLISH), and several rooms are written or read in
 * one pipeline per room (each room's keys share a slot).
 */
export class RedisPresenceStore implements PresenceStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly processId: string,
  ) {}

  async update(room: string, localCount: number, change: PresenceChange): Promise<number> {
    const { prefix, suffix } = presenceFrameParts(room, change);
    const argv = [this.processId, localCount, PRESENCE_TTL_MS, presenceChannel(room), prefix, suffix] as const;
    try {
      return await (this.redis instanceof Cluster
        ? this.redis.updatePresenceSharded(presenceKey(room), presenceChannel(room), ...argv)
        : this.redis.updatePresence(presenceKey(room), ...argv));
    } catch (err) {
      throw unavailable(err, 'Presence could not be updated');
    }
  }

  async refresh(counts: ReadonlyMap<string, number>, members: ReadonlyMap<string, readonly PresenceMember[]>): Promise<void> {
    if (counts.size === 0 && members.size === 0) return;
    const groups: Array<(pipeline: ChainableCommander) => void> = [];
    for (const [room, count] of counts) {
      const argv = [this.processId, count, PRESENCE_TTL_MS, '', '', ''] as const;
      groups.push((pipeline) =>
        this.redis instanceof Cluster
          ? pipeline.updatePresenceSharded(presenceKey(room), presenceChannel(room), ...argv)
          : pipeline.updatePresence(presenceKey(room), ...argv),
      );
    }
    const now = Date.now();
    for (const [room, people] of members) {
      const pairs = people.flatMap((m) => [this.field(m), entryJson(m)]);
      groups.push((pipeline) => pipeline.refreshMembers(membersKey(room), now, now + PRESENCE_TTL_MS, ...pairs));
    }
    const replies = await execGroups(this.redis, groups);
    const failed = replies.find(([err]) => err);
    if (failed) throw unavailable(failed[0], 'Presence could not be refreshed');
  }

  async setMember(room: string, member: PresenceMember): Promise<void> {
    try {
      if (member.connections > 0) {
        // The hash expires with its newest entry, so one that a dead process left goes by itself.
        const replies = await this.redis
          .multi()
          .hset(membersKey(room), this.field(member), `${Date.now() + PRESENCE_TTL_MS}\t${entryJson(member)}`)
          .pexpire(membersKey(room), PRESENCE_TTL_MS)
          .exec();
        const failed = replies?.find(([err]) => err);
        if (failed) throw failed[0];
      } else {
        await this.redis.hdel(membersKey(room), this.field(member));
      }
    } catch (err) {
      throw unavailable(err, 'Presence could not be updated');
    }
  }

  async members(room: string): Promise<PresenceMember[]> {
    let fields: Record<string, string>;
    try {
      fields = await this.redis.hgetall(membersKey(room));
    } catch (err) {
      throw unavailable(err);
    }
    const now = Date.now();
    const people = new Map<string, { name: string; uid?: string; connections: number }>();
    for (const [field, value] of Object.entries(fields)) {
      const tab = value.indexOf('\t');
      if (!(Number(value.slice(0, tab)) > now)) continue;
      let entry: PresenceMember;
      try {
        entry = JSON.parse(value.slice(tab + 1)) as PresenceMember;
      } catch {
        continue;
      }
      const person = field.slice(field.indexOf('\t') + 1);
      const seen = people.get(person);
      if (seen) seen.connections += entry.connections;
      else people.set(person, { ...entry });
    }
    return sortMembers([...people.values()]);
  }

  /** `PROCESS\tu:UID` or `PROCESS\tn:NAME`: one field per process and person. */
  private field(member: PresenceMember): string {
    return `${this.processId}\t${member.uid === undefined ? `n:${member.name}` : `u:${member.uid}`}`;
  }

  async online(rooms: readonly string[]): Promise<Map<string, number>> {
    const totals = new Map<string, number>();
    if (rooms.length === 0) return totals;
    let replies: PipelineReplies;
    try {
      replies = await execGroups(
        this.redis,
        rooms.map((room) => (pipeline) => pipeline.hgetall(presenceKey(room))),
      );
    } catch (err) {
      throw unavailable(err);
    }
    const now = Date.now();
    rooms.forEach((room, i) => {
      const [err, fields] = replies[i] ?? [null, {}];
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

function entryJson(member: PresenceMember): string {
  return JSON.stringify(member.uid === undefined ? { name: member.name, connections: member.connections } : member);
}

/** The presence list's order: by name, then uid (anonymous first), by code unit so it is the same on every machine. */
export function sortMembers(members: PresenceMember[]): PresenceMember[] {
  const byCodeUnit = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return members.sort((a, b) => byCodeUnit(a.name, b.name) || byCodeUnit(a.uid ?? '', b.uid ?? ''));
}
