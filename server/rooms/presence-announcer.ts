import type { PresenceStore } from '../engine/engine';
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

interface RoomCount {
  online: number;
  /** Set while a big room's count-only frame is pending. */
  timer: NodeJS.Timeout | undefined;
}

/**
 * Announces who comes and goes: this process's named members per room, written to the presence
 * store (which sums every process and publishes the frame), coalesced in big rooms and
 * refreshed on a timer so a process that dies drops out.
 */
export class PresenceAnnouncer {
  private readonly rooms = new Map<string, RoomCount>();
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
  joined(room: string, name: string): void {
    let count = this.rooms.get(room);
    if (!count) this.rooms.set(room, (count = { online: 0, timer: undefined }));
    count.online++;
    this.announce(room, count, { joined: name });
  }

  /** Invoked when a named member that had joined leaves `room`. */
  left(room: string, name: string): void {
    const count = this.rooms.get(room);
    if (!count) return;
    count.online--;
    if (count.online > 0) {
      this.announce(room, count, { left: name });
      return;
    }
    // The last one out: the count must drop to 0 for the other processes now.
    this.rooms.delete(room);
    if (count.timer) {
      clearTimeout(count.timer);
      this.publish(room, 0, undefined);
    } else {
      this.publish(room, 0, { left: name });
    }
  }

  /** Stops refreshing and withdraws this process's counts. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.refreshTimer);
    const withdrawals = [...this.rooms.entries()].map(([room, count]) => {
      clearTimeout(count.timer);
      return this.options.store.update(room, 0, undefined).catch(() => undefined);
    });
    this.rooms.clear();
    await Promise.all(withdrawals);
  }

  private announce(room: string, count: RoomCount, change: PresenceChange): void {
    if (count.online <= PRESENCE_NAMES_LIMIT && !count.timer) {
      this.publish(room, count.online, change);
      return;
    }
    // A big room: one count-only frame per period carries every change since the last.
    count.timer ??= setTimeout(() => {
      count.timer = undefined;
      if (this.closed || this.rooms.get(room) !== count) return;
      this.publish(room, count.online, undefined);
    }, this.options.coalesceMs ?? 1000).unref();
  }

  private publish(room: string, online: number, change: PresenceChange): void {
    this.options.store
      .update(room, online, change)
      .catch((err: unknown) => this.options.log.warn({ err, room }, 'presence update failed'));
  }

  private async refresh(): Promise<void> {
    const counts = new Map<string, number>();
    for (const [room, count] of this.rooms) if (count.online > 0) counts.set(room, count.online);
    await this.options.store.refresh(counts).catch((err: unknown) => this.options.log.debug({ err }, 'presence refresh failed'));
  }
}
