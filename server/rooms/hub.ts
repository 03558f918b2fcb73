import type { HistoryStore, MemberRef, RoomBus } from '../engine/engine';
import { ChatError, unavailable } from '../errors';
import type { Logger } from '../logger';
import type { Cursor, HistorySlice } from '../protocol/types';
import { JoinReads } from './join-reads';
import type { PresenceAnnouncer } from './presence-announcer';
import { RoomSequence, type RoomMember } from './room-sequence';

export type { RoomMember } from './room-sequence';

export interface RoomHubOptions {
  readonly history: HistoryStore;
  readonly bus: RoomBus;
  readonly presence: PresenceAnnouncer;
  readonly logger: Logger;
  /** Invoked once per delivered message with how many members it was handed to (for /metrics). */
  readonly onDelivered?: (count: number) => void;
}

interface ActiveRoom {
  readonly sequence: RoomSequence;
  /** The room's subscription; every joiner waits on the same one. */
  readonly subscribed: Promise<void>;
}

/**
 * In-process fan-out: which rooms this process is in, their subscriptions on the bus, and who
 * is in each. The first member of a room subscribes the process to it and the last one out
 * unsubscribes; each room's `RoomSequence` keeps its order and hands every message to every
 * member, and the `PresenceAnnouncer` says who came and went.
 */
export class RoomHub {
  private readonly rooms = new Map<string, ActiveRoom>();
  private readonly log: Logger;
  private readonly stopListening: () => void;
  private readonly joinReads: JoinReads;
  private closed = false;

  constructor(private readonly options: RoomHubOptions) {
    this.log = options.logger.child({ module: 'chat:hub' });
    this.joinReads = new JoinReads((room, cursor) => options.history.since(room, cursor));
    this.stopListening = options.bus.listen({
      message: (room, json) => this.rooms.get(room)?.sequence.receive(json),
      presence: (room, frame) => this.rooms.get(room)?.sequence.presence(frame),
      kick: (room, who) => this.kick(room, who),
      resubscribed: () => {
        for (const active of this.rooms.values()) active.sequence.resubscribed();
      },
    });
  }

  /**
   * Adds `member` to `room` and brings it up to date from `cursor`: subscribes first, then
   * reads the history, so that nothing published in between is missed; live messages the
   * history already held are dropped by id. Resolves with the slice given to `deliverHistory`.
   */
  async join(room: string, member: RoomMember, cursor: Cursor): Promise<HistorySlice> {
    if (this.closed) throw new ChatError('unavailable', 'The server is shutting down; reconnect shortly.');
    const active = this.rooms.get(room) ?? this.open(room);
    active.sequence.seat(member);
    let slice: HistorySlice;
    try {
      await active.subscribed.catch((err: unknown) => {
        throw unavailable(err, 'The pub/sub connection is unavailable');
      });
      // Shared with the other joins of this room that come with it: one read for a storm of joins.
      slice = await this.joinReads.since(room, cursor);
    } catch (err) {
      this.leave(room, member);
      throw err;
    }
    if (active.sequence.start(member, slice) && member.name !== undefined) {
      this.options.presence.joined(room, { name: member.name, uid: member.identity?.uid });
    }
    return slice;
  }

  /** Removes `member` from `room`; the last member out unsubscribes the process from it. */
  leave(room: string, member: RoomMember): void {
    const active = this.rooms.get(room);
    if (!active) return;
    const was = active.sequence.remove(member);
    if (was === 'live' && member.name !== undefined) this.options.presence.left(room, { name: member.name, uid: member.identity?.uid });
    if (was !== 'absent' && active.sequence.size === 0) this.drop(room, active);
  }

  /** Ends the connections of `who` in `room` in this process (every process gets the same order). */
  private kick(room: string, who: MemberRef): void {
    const active = this.rooms.get(room);
    if (!active) return;
    const matches = (member: RoomMember) =>
      'uid' in who ? member.identity?.uid === who.uid : member.identity?.name === who.user;
    for (const member of [...active.sequence.members()]) {
      if (!matches(member)) continue;
      try {
        member.kick();
      } catch (err) {
        this.log.error({ err, room }, 'a member failed to end on a kick');
      }
    }
  }

  /** Members in this process, per room. */
  memberCounts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const [room, active] of this.rooms) counts.set(room, active.sequence.size);
    return counts;
  }

  /** Stops listening to the bus. Members are closed by their transports. */
  close(): void {
    this.closed = true;
    this.stopListening();
    for (const active of this.rooms.values()) active.sequence.close();
    this.rooms.clear();
  }

  private open(room: string): ActiveRoom {
    const active: ActiveRoom = {
      sequence: new RoomSequence({
        room,
        since: (cursor) => this.options.history.since(room, cursor),
        log: this.log,
        onDelivered: this.options.onDelivered,
      }),
      subscribed: this.options.bus.subscribe(room),
    };
    // A room whose subscription failed is forgotten, so the next join tries again.
    active.subscribed.catch(() => this.rooms.get(room) === active && this.rooms.delete(room));
    this.rooms.set(room, active);
    return active;
  }

  private drop(room: string, active: ActiveRoom): void {
    this.rooms.delete(room);
    active.sequence.close();
    this.options.bus.unsubscribe(room).catch((err: unknown) => this.log.debug({ err, room }, 'unsubscribe failed'));
  }
}
