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
   * 10 minutes returns the first message instead (`duplicate: true`).
   */
  append(room: string, draft: MessageDraft): Promise<AppendResult>;
  /**
   * The messages after `cursor.since`, oldest first. Without `since`: the retained history and
   * never a gap. A cursor older than the retained window, or from another epoch, gets `gap`.
   */
  since(room: string, cursor?: Cursor): Promise<HistorySlice>;
  /** Rooms that have history, most recently active first. */
  rooms(): Promise<RoomSummary[]>;
}

/** Online counts across processes: each process states its own count per room. */
export interface PresenceStore {
  /** Sets this process's count for `room` and publishes a presence frame with the new total. */
  update(room: string, localCount: number, change: PresenceChange): Promise<number>;
  /** Re-asserts this process's counts, publishing nothing (a process that stops doing so drops out). */
  refresh(counts: ReadonlyMap<string, number>): Promise<void>;
  /** The online totals of several rooms, read without writing. */
  online(rooms: readonly string[]): Promise<Map<string, number>>;
}

/** What the bus hands to the process that listens to it. */
export interface RoomBusListener {
  /** Invoked for every message stored in a subscribed room, with its canonical JSON. */
  message(room: string, json: string): void;
  /** Invoked for every presence frame of a subscribed room, ready to send. */
  presence(room: string, frame: string): void;
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
}

/** One engine: the three parts, its health, and its end. */
export interface Engine {
  /** For the start line and logs: `redis`. */
  readonly name: string;
  readonly history: HistoryStore;
  readonly presence: PresenceStore;
  readonly bus: RoomBus;
  /** True when the engine answers now (for /healthz). */
  healthy(): Promise<boolean>;
  /** Lets nothing reconnect, and lets in-flight commands finish briefly. */
  close(): Promise<void>;
}
