import type { PresenceMember, PresenceStore } from '../engine/engine';
import type { Logger } from '../logger';
import type { PresenceChange } from '../protocol/types';

/**
 * Above this many members of a room in a process, its joins and leaves are announced as one
 * count-only presence frame per second instead of one frame per person: otherwise N people
 * joining a room cost N² frames.
 */
export const PRESENCE_NAMES_LIMIT = 100;

export interface PresenceAnnouncerOptions {
  readonly store: PresenceStore;
  readonly log: Logger;
  /** How often this process re-asserts its counts (they expire in the store otherwise). */
  readonly refreshMs?: number;
  /** How long a big room's changes are gathered into one count-only frame. */
  readonly coalesceMs?: number;
}

/** Who joined or left: the name they are online under, and their uid when they have one. */
export interface Person {
  readonly name: string;
  readonly uid?: string;
}

interface RoomPresence {
  online: number;
  /** Set while a big room's count-only frame is pending. */
  timer: NodeJS.Timeout | undefined;
  /** Changes of this turn of the event loop, announced together at its end. */
  turn: PresenceChange[] | undefined;
  /** This process's people in the room, by uid or name, with their connection counts. */
  readonly people: Map<string, { name: string; uid?: string; connections: number }>;
}

/**
 * Announces who comes and goes: this process's named members per room, written to the presence
 * store (which sums every process and publishes the frame), coalesced in big rooms and
 * refreshed on a timer so a process that dies drops out. Each join or leave also updates this
 * process's entry for that person in the presence list: one write, whatever the room's size.
 */
export class PresenceAnnouncer {
  private readonly rooms = new Map<string, RoomPresence>();
  private readonly refreshTimer: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly options: PresenceAnnouncerOptions) {
    this.refreshTimer = setInterval(() => void this.refresh(), options.refreshMs ?? 10_000);
    this.refreshTimer.unref();
  }

  /** This process's online count in `room`. */
  online(room: string): number {
    return this.rooms.get(room)?.online ?? 0;
  }

  /** Invoked when a named member has joined `room` and had its history. */
  joined(room: string, person: Person): void {
    let presence = this.rooms.get(room);
    if (!presence) this.rooms.set(room, (presence = { online: 0, timer: undefined, turn: undefined, people: new Map() }));
    presence.online++;
    this.count(room, presence, person, +1);
    this.announce(room, presence, { joined: person.name });
  }

  /** Invoked when a named member that had joined leaves `room`. */
  left(room: string, person: Person): void {
    const presence = this.rooms.get(room);
    if (!presence) return;
    presence.online--;
    this.count(room, presence, person, -1);
    if (presence.online > 0) {
      this.announce(room, presence, { left: person.name });
      return;
    }
    // The last one out: the count must drop to 0 for the other processes now.
    this.rooms.delete(room);
    if (presence.timer || presence.turn) {
      clearTimeout(presence.timer);
      presence.turn = undefined;
      this.publish(room, 0, undefined);
    } else {
      this.publish(room, 0, { left: person.name });
    }
  }

  /** Stops refreshing and withdraws this process's counts and people. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.refreshTimer);
    const withdrawals = [...this.rooms.entries()].flatMap(([room, presence]) => {
      clearTimeout(presence.timer);
      const gone = [...presence.people.values()].map((p) => this.options.store.setMember(room, { ...p, connections: 0 }));
      return [this.options.store.update(room, 0, undefined), ...gone].map((p) => p.catch(() => undefined));
    });
    this.rooms.clear();
    await Promise.all(withdrawals);
  }

  private count(room: string, presence: RoomPresence, person: Person, delta: 1 | -1): void {
    const key = person.uid === undefined ? `n:${person.name}` : `u:${person.uid}`;
    const entry = presence.people.get(key) ?? { name: person.name, ...(person.uid !== undefined && { uid: person.uid }), connections: 0 };
    entry.connections += delta;
    if (entry.connections > 0) presence.people.set(key, entry);
    else presence.people.delete(key);
    this.options.store
      .setMember(room, { ...entry, connections: Math.max(0, entry.connections) })
      .catch((err: unknown) => this.options.log.warn({ err, room }, 'presence list update failed'));
  }

  private announce(room: string, presence: RoomPresence, change: PresenceChange): void {
    if (presence.online <= PRESENCE_NAMES_LIMIT && !presence.timer) {
      // A storm of joins in one turn (a deploy, a blip) is one update, not one frame per joiner
      // to every member: one change keeps its name, several become one count-only frame.
      if (presence.turn) {
        presence.turn.push(change);
        return;
      }
      presence.turn = [change];
      setImmediate(() => {
        const changes = presence.turn ?? [];
        presence.turn = undefined;
        if (this.closed || this.rooms.get(room) !== presence || changes.length === 0) return;
        this.publish(room, presence.online, changes.length === 1 ? changes[0] : undefined);
      });
      return;
    }
    // A big room: one count-only frame per period carries every change since the last.
    presence.timer ??= setTimeout(() => {
      presence.timer = undefined;
      if (this.closed || this.rooms.get(room) !== presence) return;
      this.publish(room, presence.online, undefined);
    }, this.options.coalesceMs ?? 1000).unref();
  }

  private publish(room: string, online: number, change: PresenceChange): void {
    this.options.store
      .update(room, online, change)
      .catch((err: unknown) => this.options.log.warn({ err, room }, 'presence update failed'));
  }

  private async refresh(): Promise<void> {
    const counts = new Map<string, number>();
    const people = new Map<string, PresenceMember[]>();
    for (const [room, presence] of this.rooms) {
      if (presence.online === 0) continue;
      counts.set(room, presence.online);
      people.set(room, [...presence.people.values()]);
    }
    await this.options.store
      .refresh(counts, people)
      .catch((err: unknown) => this.options.log.debug({ err }, 'presence refresh failed'));
  }
}
