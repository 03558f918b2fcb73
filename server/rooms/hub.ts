import type Redis from 'ioredis';
import { unavailable } from '../errors';
import type { Logger } from '../logger';
import type { HistorySlice, HistoryStore } from '../engine/redis/history-store';
import { messageChannel, presenceChannel, roomOfChannel } from '../engine/redis/keys';
import { idOf, type Cursor } from '../protocol/validate';
import { Broadcast } from './broadcast';
import type { Presence } from '../engine/redis/presence-store';

/** A room member in this process: a WebSocket, an SSE stream or a long-poll waiter. */
export interface RoomMember {
  /** The nickname to count as online, or undefined for members that are not (long polls). */
  readonly name?: string;
  /**
   * Invoked with the history the member joined with, before any live message; and again
   * when the room had to be resynchronized (its history was reset, or a gap opened while
   * pub/sub was down), in which case the member should replace what it holds.
   */
  deliverHistory(slice: HistorySlice): void;
  /** Invoked for each new message, in id order, never one the member already has. */
  deliverMessage(broadcast: Broadcast): void;
  /** Invoked for each presence change in the room. */
  deliverPresence(broadcast: Broadcast): void;
}

interface Seat {
  /** The newest message id this member has. */
  lastId: number;
  /** Events that arrived while the member's history was being read; null once it is live. */
  held: Broadcast[] | null;
  counted: boolean;
}

/**
 * Above this many members in a process, a room's joins and leaves are announced as one
 * count-only presence frame per second instead of one frame per person: otherwise N people
 * joining a room cost N² frames.
 */
export const PRESENCE_NAMES_LIMIT = 100;
const PRESENCE_COALESCE_MS = 1000;

interface RoomState {
  readonly room: string;
  presenceTimer: NodeJS.Timeout | undefined;
  readonly seats: Map<RoomMember, Seat>;
  online: number;
  /** The newest id delivered in this process; the next one from pub/sub must be one more. */
  lastSeenId: number | undefined;
  epoch: string | undefined;
  subscribed: Promise<unknown>;
  reconciling: boolean;
  backlog: string[];
  retry: NodeJS.Timeout | undefined;
}

export interface RoomHubOptions {
  readonly subscriber: Redis;
  readonly store: HistoryStore;
  readonly presence: Presence;
  readonly logger: Logger;
  /** How often this process re-asserts its presence counts. */
  readonly presenceRefreshMs?: number;
  /** Invoked once per broadcast message with how many members it was handed to (for /metrics). */
  readonly onDelivered?: (count: number) => void;
}

/**
 * In-process fan-out. Each process holds one subscriber connection and subscribes to the
 * rooms it has members in; every published message becomes one `Broadcast` handed to each
 * local member. Ids are checked as they arrive: a skipped id (pub/sub lost a message while
 * reconnecting) or a restarted sequence (a reset history) is repaired from the Redis list.
 */
export class RoomHub {
  private readonly rooms = new Map<string, RoomState>();
  private readonly log: Logger;
  private readonly refreshTimer: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly options: RoomHubOptions) {
    this.log = options.logger.child({ module: 'chat:hub' });
    options.subscriber.on('message', this.onPublished);
    // The first 'ready' came before us; each later one is a reconnect after which ioredis has
    // resubscribed, but whatever was published meanwhile never reached us (trap 11).
    options.subscriber.on('ready', this.onResubscribed);
    this.refreshTimer = setInterval(() => void this.refreshPresence(), options.presenceRefreshMs ?? 10_000);
    this.refreshTimer.unref();
  }

  /**
   * Adds `member` to `room` and brings it up to date from `cursor`: subscribes first, then
   * reads the history, so that nothing published in between is missed; live messages the
   * history already held are dropped by id. Resolves with the slice given to `deliverHistory`.
   */
  async join(room: string, member: RoomMember, cursor: Cursor): Promise<HistorySlice> {
    if (this.closed) throw new Error('The room hub is closed.');
    const state = this.rooms.get(room) ?? this.openRoom(room);
    const seat: Seat = { lastId: 0, held: [], counted: false };
    state.seats.set(member, seat);
    let slice: HistorySlice;
    try {
      await state.subscribed.catch((err: unknown) => {
        throw unavailable(err, 'The pub/sub connection is unavailable');
      });
      slice = await this.options.store.since(room, cursor);
    } catch (err) {
      this.leave(room, member);
      throw err;
    }
    if (state.seats.get(member) !== seat) return slice; // left while joining
    if (state.epoch === undefined) {
      // The room's first history read in this process: messages that waited for its epoch go
      // out now, into the held queues of the members still joining (this one included).
      state.epoch = slice.epoch;
      state.lastSeenId ??= slice.last;
      this.drainBacklog(state);
    }
    // The slice holds the newest messages, so its last id is the room's counter.
    seat.lastId = slice.last;
    member.deliverHistory(slice);
    const held = seat.held ?? [];
    seat.held = null;
    for (const broadcast of held) this.deliverTo(member, seat, broadcast);
    if (member.name !== undefined) {
      seat.counted = true;
      state.online++;
      this.announce(state, { joined: member.name });
    }
    return slice;
  }

  /** Removes `member` from `room`; the last member out unsubscribes the process from it. */
  leave(room: string, member: RoomMember): void {
    const state = this.rooms.get(room);
    const seat = state?.seats.get(member);
    if (!state || !seat) return;
    state.seats.delete(member);
    if (seat.counted && member.name !== undefined) {
      state.online--;
      this.announce(state, { left: member.name });
    }
    if (state.seats.size === 0) {
      this.rooms.delete(room);
      clearTimeout(state.retry);
      clearTimeout(state.presenceTimer);
      // The count of a room this process leaves must still drop to 0 for the others.
      if (state.presenceTimer) this.publishPresence(state, undefined);
      this.options.subscriber
        .unsubscribe(messageChannel(room), presenceChannel(room))
        .catch((err: unknown) => this.log.debug({ err, room }, 'unsubscribe failed'));
    }
  }

  /** Members in this process, per room. */
  memberCounts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const [room, state] of this.rooms) counts.set(room, state.seats.size);
    return counts;
  }

  /** Stops refreshing presence and withdraws this process's counts. Members are closed by their transports. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.refreshTimer);
    this.options.subscriber.off('message', this.onPublished);
    this.options.subscriber.off('ready', this.onResubscribed);
    const withdrawals = [...this.rooms.values()].map((state) => {
      clearTimeout(state.retry);
      clearTimeout(state.presenceTimer);
      return this.options.presence.update(state.room, 0, undefined).catch(() => undefined);
    });
    await Promise.all(withdrawals);
    this.rooms.clear();
  }

  private openRoom(room: string): RoomState {
    const state: RoomState = {
      room,
      presenceTimer: undefined,
      seats: new Map(),
      online: 0,
      lastSeenId: undefined,
      epoch: undefined,
      subscribed: Promise.resolve(),
      reconciling: false,
      backlog: [],
      retry: undefined,
    };
    const { subscriber } = this.options;
    state.subscribed =
      subscriber.status === 'ready'
        ? subscriber.subscribe(messageChannel(room), presenceChannel(room))
        : Promise.reject(new Error('The pub/sub connection is not ready.'));
    state.subscribed.catch(() => this.rooms.get(room) === state && this.rooms.delete(room));
    this.rooms.set(room, state);
    return state;
  }

  private readonly onPublished = (channel: string, payload: string): void => {
    const target = roomOfChannel(channel);
    const state = target && this.rooms.get(target.room);
    if (!state) return;
    if (target.kind === 'presence') {
      this.deliver(state, new Broadcast('presence', state.room, payload, 0, state.epoch ?? ''));
      return;
    }
    this.receive(state, payload, false);
  };

  private receive(state: RoomState, payload: string, fromBacklog: boolean): void {
    // Wait while a repair runs, or until the first join has read the room's epoch: every
    // broadcast carries the epoch (SSE event ids and poll answers are cursors).
    if (state.reconciling || state.epoch === undefined) {
      state.backlog.push(payload);
      return;
    }
    const id = idOf(payload);
    const last = state.lastSeenId;
    if (last === undefined || id === last + 1) {
      state.lastSeenId = id;
      this.deliver(state, new Broadcast('message', state.room, payload, id, state.epoch));
      return;
    }
    // At or below what we delivered: a message the repair already delivered, unless the
    // sequence restarted at 1 (the history was cleared or lost while we stayed subscribed).
    if (id <= last && (fromBacklog || id !== 1)) return;
    state.backlog.push(payload);
    void this.reconcile(state);
  }

  private deliver(state: RoomState, broadcast: Broadcast): void {
    for (const [member, seat] of state.seats) this.deliverTo(member, seat, broadcast);
    if (broadcast.kind === 'message') this.options.onDelivered?.(state.seats.size);
  }

  private deliverTo(member: RoomMember, seat: Seat, broadcast: Broadcast): void {
    if (seat.held) {
      seat.held.push(broadcast);
      return;
    }
    if (broadcast.kind === 'presence') {
      this.guard(() => member.deliverPresence(broadcast));
    } else if (broadcast.id > seat.lastId) {
      seat.lastId = broadcast.id;
      this.guard(() => member.deliverMessage(broadcast));
    }
  }

  /** Brings the room's members up to date from the Redis list after a skipped or restarted id. */
  private async reconcile(state: RoomState): Promise<void> {
    if (state.reconciling) return;
    state.reconciling = true;
    let repaired = false;
    try {
      const slice = await this.options.store.since(state.room, { since: state.lastSeenId, epoch: state.epoch });
      if (slice.gap) {
        this.log.warn({ room: state.room, missed: slice.missed }, 'resynchronizing a room with a gap');
        this.resync(state, slice);
      } else {
        for (const message of slice.messages) {
          if (message.id <= (state.lastSeenId ?? 0)) continue;
          state.lastSeenId = message.id;
          this.deliver(state, new Broadcast('message', state.room, message.json, message.id, slice.epoch));
        }
      }
      repaired = true;
    } catch (err) {
      this.log.warn({ err, room: state.room }, 'could not repair a room from its history; retrying');
    } finally {
      state.reconciling = false;
    }
    if (!repaired) {
      if (this.rooms.get(state.room) === state && !this.closed) {
        clearTimeout(state.retry);
        state.retry = setTimeout(() => void this.reconcile(state), 1000);
        state.retry.unref();
      }
      return;
    }
    this.drainBacklog(state);
  }

  private drainBacklog(state: RoomState): void {
    const backlog = state.backlog;
    state.backlog = [];
    for (const payload of backlog) this.receive(state, payload, true);
  }

  /**
   * Hands each member its own view of a gap: the slice was read from this process's cursor, but
   * a member that joined since may be further along (it holds some of these messages already).
   */
  private resync(state: RoomState, slice: HistorySlice): void {
    const reset = state.epoch !== undefined && slice.epoch !== state.epoch;
    state.epoch = slice.epoch;
    state.lastSeenId = slice.last;
    const oldest = slice.messages[0]?.id ?? slice.last + 1;
    const broadcasts = slice.messages.map((m) => new Broadcast('message', state.room, m.json, m.id, slice.epoch));
    for (const [member, seat] of state.seats) {
      if (seat.held) continue;
      if (!reset && seat.lastId >= oldest - 1) {
        // Not behind the gap: only the messages it lacks, in order.
        for (const broadcast of broadcasts) this.deliverTo(member, seat, broadcast);
        continue;
      }
      const own: HistorySlice = reset ? slice : { ...slice, missed: oldest - 1 - seat.lastId };
      seat.lastId = slice.last;
      this.guard(() => member.deliverHistory(own));
    }
  }

  private readonly onResubscribed = (): void => {
    for (const state of this.rooms.values()) void this.reconcile(state);
  };

  private announce(state: RoomState, change: { joined: string } | { left: string }): void {
    if (state.online > PRESENCE_NAMES_LIMIT || state.presenceTimer) {
      // A big room: one count-only frame per second carries every change since the last.
      state.presenceTimer ??= setTimeout(() => {
        state.presenceTimer = undefined;
        if (this.closed || this.rooms.get(state.room) !== state) return;
        this.publishPresence(state, undefined);
      }, PRESENCE_COALESCE_MS).unref();
      return;
    }
    this.publishPresence(state, change);
  }

  private publishPresence(state: RoomState, change: { joined: string } | { left: string } | undefined): void {
    this.options.presence
      .update(state.room, state.online, change)
      .catch((err: unknown) => this.log.warn({ err, room: state.room }, 'presence update failed'));
  }

  private async refreshPresence(): Promise<void> {
    const counts = new Map<string, number>();
    for (const [room, state] of this.rooms) if (state.online > 0) counts.set(room, state.online);
    await this.options.presence
      .refresh(counts)
      .catch((err: unknown) => this.log.debug({ err }, 'presence refresh failed'));
  }

  /** One broken member never stops the fan-out. */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.error({ err }, 'a member failed to take a broadcast');
    }
  }
}
