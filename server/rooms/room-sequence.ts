import type { Logger } from '../logger';
import type { Cursor, HistorySlice } from '../protocol/types';
import { idOf } from '../protocol/wire';
import { Broadcast } from './broadcast';

/** A room member in this process: a WebSocket, an SSE stream or a long-poll waiter. */
export interface RoomMember {
  /** The nickname to count as online, or undefined for members that are not (long polls). */
  readonly name?: string;
  /** Who it is, for kicks and the presence list: the visitor's name and uid. */
  readonly identity?: { readonly name: string; readonly uid?: string };
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
  /** Invoked when a moderator kicked this member's user from the room: end the connection. */
  kick(): void;
}

interface Seat {
  /** The newest message id this member has. */
  lastId: number;
  /** Events that arrived while the member's history was being read; null once it is live. */
  held: Broadcast[] | null;
}

export interface RoomSequenceOptions {
  readonly room: string;
  /** Reads the room's history from a cursor (the engine's `since`): the source of every repair. */
  readonly since: (cursor: Cursor) => Promise<HistorySlice>;
  readonly log: Logger;
  /** Invoked once per delivered message with how many members it was handed to (for /metrics). */
  readonly onDelivered?: (count: number) => void;
  /** How long to wait before trying a failed repair again. */
  readonly retryMs?: number;
}

/**
 * One room's order in this process: every member gets each message once, in id order, after
 * the history it joined with. Ids are checked as they arrive from the bus: a skipped id (pub/sub
 * lost a message while reconnecting) or a restarted sequence (a reset history) is repaired from
 * `since()`, and after a gap each member gets its own view of it (socket.io's recovery, kept
 * apart from the rooms themselves).
 */
export class RoomSequence {
  private readonly seats = new Map<RoomMember, Seat>();
  /** The newest id delivered in this process; the next one from the bus must be one more. */
  private lastSeenId: number | undefined;
  /** The room's epoch, known from the first history read in this process. */
  private epoch: string | undefined;
  private repairing = false;
  /** Payloads that wait for the epoch, or for a repair to finish. */
  private backlog: string[] = [];
  private retry: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly options: RoomSequenceOptions) {}

  /** Members seated, live or still joining. */
  get size(): number {
    return this.seats.size;
  }

  /** Every member seated, live or joining. */
  members(): IterableIterator<RoomMember> {
    return this.seats.keys();
  }

  /** Seats a member whose history is being read: what arrives meanwhile is held for it. */
  seat(member: RoomMember): void {
    this.seats.set(member, { lastId: 0, held: [] });
  }

  /**
   * Hands a seated member the history it joined with, then whatever was held for it. The room's
   * first history in this process gives the room its epoch and releases the backlog. Returns
   * false when the member left while its history was read.
   */
  start(member: RoomMember, slice: HistorySlice): boolean {
    const seat = this.seats.get(member);
    if (!seat || seat.held === null) return false;
    if (this.epoch === undefined) {
      // Messages that waited for the epoch go out now, into the held queues of the members
      // still joining (this one included).
      this.epoch = slice.epoch;
      this.lastSeenId ??= slice.last;
      this.drainBacklog();
    }
    // The slice holds the newest messages, so its last id is the room's counter.
    seat.lastId = slice.last;
    member.deliverHistory(slice);
    const held = seat.held;
    seat.held = null;
    for (const broadcast of held) this.deliverTo(member, seat, broadcast);
    return true;
  }

  /** Unseats a member: `live` when it had started, `joining` when not, `absent` when it was not here. */
  remove(member: RoomMember): 'live' | 'joining' | 'absent' {
    const seat = this.seats.get(member);
    if (!seat) return 'absent';
    this.seats.delete(member);
    return seat.held === null ? 'live' : 'joining';
  }

  /** Invoked with each stored message of the room as the bus delivers it. */
  receive(json: string): void {
    this.take(json, false);
  }

  /** Hands a presence frame to every member. */
  presence(frame: string): void {
    this.deliver(new Broadcast('presence', this.options.room, frame, 0, this.epoch ?? ''));
  }

  /** Brings the members up to date from the history: the bus may have lost messages. */
  resubscribed(): void {
    void this.repair();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retry);
  }

  private take(json: string, fromBacklog: boolean): void {
    // Wait while a repair runs, or until the first join has read the room's epoch: every
    // broadcast carries the epoch (SSE event ids and poll answers are cursors).
    if (this.repairing || this.epoch === undefined) {
      this.backlog.push(json);
      return;
    }
    // The room was empty when this process read it (epoch ""): its first message created the
    // epoch, which every broadcast must carry. Learn it once from the history.
    if (this.epoch === '') {
      this.backlog.push(json);
      void this.repair();
      return;
    }
    const id = idOf(json);
    const last = this.lastSeenId;
    if (last === undefined || id === last + 1) {
      this.lastSeenId = id;
      this.deliver(new Broadcast('message', this.options.room, json, id, this.epoch));
      return;
    }
    // At or below what we delivered: a message the repair already delivered, unless the
    // sequence restarted at 1 (the history was cleared or lost while we stayed subscribed).
    if (id <= last && (fromBacklog || id !== 1)) return;
    this.backlog.push(json);
    void this.repair();
  }

  private deliver(broadcast: Broadcast): void {
    for (const [member, seat] of this.seats) this.deliverTo(member, seat, broadcast);
    if (broadcast.kind === 'message') this.options.onDelivered?.(this.seats.size);
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

  /** Reads what this process missed after a skipped or restarted id, and delivers it. */
  private async repair(): Promise<void> {
    if (this.repairing || this.closed) return;
    this.repairing = true;
    let repaired = false;
    try {
      // An empty epoch in a cursor is trusted as it is: the answer names the room's real epoch.
      const slice = await this.options.since({ since: this.lastSeenId, epoch: this.epoch });
      if (this.epoch === '' && slice.epoch !== '') this.epoch = slice.epoch;
      if (slice.gap) {
        this.options.log.warn({ room: this.options.room, missed: slice.missed }, 'handing members a gap');
        this.handOutGap(slice);
      } else {
        for (const message of slice.messages) {
          if (message.id <= (this.lastSeenId ?? 0)) continue;
          this.lastSeenId = message.id;
          this.deliver(new Broadcast('message', this.options.room, message.json, message.id, slice.epoch));
        }
      }
      repaired = true;
    } catch (err) {
      this.options.log.warn({ err, room: this.options.room }, 'could not repair a room from its history; retrying');
    } finally {
      this.repairing = false;
    }
    if (!repaired) {
      if (!this.closed) {
        clearTimeout(this.retry);
        this.retry = setTimeout(() => void this.repair(), this.options.retryMs ?? 1000);
        this.retry.unref();
      }
      return;
    }
    this.drainBacklog();
  }

  private drainBacklog(): void {
    const backlog = this.backlog;
    this.backlog = [];
    for (const json of backlog) this.take(json, true);
  }

  /**
   * Hands each member its own view of a gap: the slice was read from this process's cursor, but
   * a member that joined since may be further along (it holds some of these messages already).
   */
  private handOutGap(slice: HistorySlice): void {
    const reset = this.epoch !== undefined && slice.epoch !== this.epoch;
    this.epoch = slice.epoch;
    this.lastSeenId = slice.last;
    const oldest = slice.messages[0]?.id ?? slice.last + 1;
    const broadcasts = slice.messages.map((m) => new Broadcast('message', this.options.room, m.json, m.id, slice.epoch));
    for (const [member, seat] of this.seats) {
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

  /** One broken member never stops the fan-out. */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.options.log.error({ err }, 'a member failed to take a broadcast');
    }
  }
}
