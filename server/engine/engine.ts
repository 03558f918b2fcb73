import type { Cursor, HistorySlice, MessageDraft, PresenceChange, StoredMessage } from '../protocol/types';

/**
 * The engine: where history is kept and how a stored message reaches every server process.
 * The hub, the send pipeline, the handlers and the transports see only these interfaces; the
 * Redis implementation (`engine/redis/`) keeps its keys and Lua scripts to itself, as
 * socket.io's adapters and Centrifugo's engines do. Every failure comes out as
 * `ChatError('unavailable')`.
 */

/** The outcome of an append: the message, and whether this call stored it or a repeated cid found it. */
export interface AppendResult {
  readonly message: StoredMessage;
  readonly duplicate: boolean;
  readonly epoch: string;
}

/** Who a kick or ban names: a token's user by uid, or anyone by the name they use. */
export type MemberRef = { readonly uid: string } | { readonly user: string };

/** Who deletes: a moderator's name and uid, or `system` for the backend and the admin script. */
export interface Deleter {
  readonly user: string;
  readonly uid?: string;
}

/** The outcome of a delete: the numbered delete event, and whether an earlier delete stored it. */
export interface DeleteResult {
  readonly event: StoredMessage;
  readonly duplicate: boolean;
}

/** One person online in a room: their name, uid when they have one, and open connections. */
export interface PresenceMember {
  readonly name: string;
  readonly uid?: string;
  readonly connections: number;
}

/** How an append treats its sender. */
export interface AppendOptions {
  /**
   * Refuse the send with `banned` (storing nothing) while the draft's sender, by uid or by name,
   * is banned from the room: checked in the same atomic step as the store. The backend's posts
   * leave it off.
   */
  readonly refuseBanned?: boolean;
}

/** A room that has history, and when a message was last stored in it (ms). */
export interface RoomSummary {
  readonly room: string;
  readonly lastActivity: number;
}

/** The rooms' histories: ids, epochs, the retained window, cid dedupe. */
export interface HistoryStore {
  /**
   * Stores a message and publishes it to every process, in one atomic step: the cid check, the
   * id, the retained window and the publication agree. A cid seen in this room in the last
   * 10 minutes returns the first message instead (`duplicate: true`). With `refuseBanned`, a
   * banned sender gets `ChatError('banned')` first, whatever the cid.
   */
  append(room: string, draft: MessageDraft, options?: AppendOptions): Promise<AppendResult>;
  /**
   * The messages after `cursor.since`, oldest first. Without `since`: the retained history and
   * never a gap. A cursor older than the retained window, or from another epoch, gets `gap`.
   */
  since(room: string, cursor?: Cursor): Promise<HistorySlice>;
  /**
   * The `limit` (default 50) most recently active rooms that have history, most recent first.
   * Reads only those, never the whole index (PROTOCOL.md v2: the lobby reads only what it shows);
   * rooms idle past HISTORY_TTL are not listed. Throws a `TypeError` for a limit that is not a
   * positive integer.
   */
  rooms(limit?: number): Promise<RoomSummary[]>;
  /**
   * Deletes message `id`, in one atomic step (PROTOCOL.md v2 "Moderation"): its entry becomes a
   * tombstone `{"id","room","user","deleted":true,"ts"}` without its text, and a new numbered
   * event `{"id","room","user","uid"?,"kind":"delete","target","ts"}` is stored and published.
   * A message deleted before answers with the first delete event (`duplicate: true`), storing
   * nothing. Throws `not_found` for an id not in the retained history, or one that is itself a
   * delete event.
   */
  delete(room: string, id: number, by: Deleter): Promise<DeleteResult>;
}

/** Per room: who may not join or send, until when. Every process reads the same list. */
export interface BanList {
  /** Bans `who` from `room` until `untilMs` (ms since the epoch); a later ban replaces an earlier one. */
  ban(room: string, who: MemberRef, untilMs: number): Promise<void>;
  /** True when the visitor is banned from `room` now: by their uid, or by their name. */
  isBanned(room: string, visitor: { readonly uid?: string; readonly name: string }): Promise<boolean>;
}

/** Online counts across processes: each process states its own count per room. */
export interface PresenceStore {
  /** Sets this process's count for `room` and publishes a presence frame with the new total. */
  update(room: string, localCount: number, change: PresenceChange): Promise<number>;
  /**
   * Re-asserts this process's counts and member entries, publishing nothing (a process that
   * stops doing so drops out).
   */
  refresh(counts: ReadonlyMap<string, number>, members: ReadonlyMap<string, readonly PresenceMember[]>): Promise<void>;
  /** The online totals of several rooms, read without writing. */
  online(rooms: readonly string[]): Promise<Map<string, number>>;
  /**
   * Sets this process's entry for one person in `room` (by uid, else by name); `connections` 0
   * removes it. Entries expire like counts unless `refresh` re-asserts them.
   */
  setMember(room: string, member: PresenceMember): Promise<void>;
  /** Who is online in `room` across every process: one entry per person, connections summed. */
  members(room: string): Promise<PresenceMember[]>;
}

/** What the bus hands to the process that listens to it. */
export interface RoomBusListener {
  /** Invoked for every message stored in a subscribed room, with its canonical JSON. */
  message(room: string, json: string): void;
  /** Invoked for every presence frame of a subscribed room, ready to send. */
  presence(room: string, frame: string): void;
  /** Invoked when a moderator kicked `who` from the room: their connections here must end. */
  kick(room: string, who: MemberRef): void;
  /**
   * Invoked after the bus reconnected and subscribed again: whatever was published meanwhile
   * never arrived, so every room must be brought up to date from its history.
   */
  resubscribed(): void;
}

/** This process's subscriptions to rooms. */
export interface RoomBus {
  /** Subscribes this process to a room; rejects when the bus is down. */
  subscribe(room: string): Promise<void>;
  unsubscribe(room: string): Promise<void>;
  /** Starts handing events to `listener`; returns the function that stops it. */
  listen(listener: RoomBusListener): () => void;
  /** Tells every process (this one included) to end `who`'s connections to `room`. */
  kick(room: string, who: MemberRef): Promise<void>;
}

/** One engine: the three parts, its health, and its end. */
export interface Engine {
  /** For the start line and logs: `redis`. */
  readonly name: string;
  readonly history: HistoryStore;
  readonly presence: PresenceStore;
  readonly bus: RoomBus;
  readonly bans: BanList;
  /** True when the engine answers now (for /healthz). */
  healthy(): Promise<boolean>;
  /** Lets nothing reconnect, and lets in-flight commands finish briefly. */
  close(): Promise<void>;
}
