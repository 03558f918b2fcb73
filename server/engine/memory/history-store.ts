import { randomBytes } from 'node:crypto';
import { ChatError, banned, unavailable } from '../../errors';
import type { Cursor, HistorySlice, MessageDraft, StoredMessage } from '../../protocol/types';
import { idOf, storedMessageParts } from '../../protocol/wire';
import { sliceFor, wantedCount } from '../cursor';
import { ROOMS_LIMIT, checkedRoomsLimit, cidTtlSec } from '../options';
import type { AppendOptions, AppendResult, DeleteResult, Deleter, HistoryStore, RoomSummary } from '../engine';
import type { MemoryBanList } from './ban-list';
import { RecencyMap } from './recency-map';
import type { MemoryRoomBus } from './room-bus';

/** A cid's first message, and until when (ms) a resend gets it back. */
export interface CidEntry {
  readonly json: string;
  readonly expiresAt: number;
}

/** One room, as the Redis engine keeps it in its keys (PROTOCOL.md "Redis layout"). */
export interface MemoryRoom {
  /** `chat:{ROOM}:epoch`. */
  readonly epoch: string;
  /** `chat:{ROOM}:seq`: the newest id given out, 0 before the first message. */
  seq: number;
  /** `chat:{ROOM}:history`, but oldest first: the JSON of the newest `historyLimit` messages. */
  readonly messages: string[];
  /** When a message was last stored (ms): its score in `chat:rooms`. */
  lastActivity: number;
  /** The room's cid keys (see `cidSlot`) in insertion order, which is expiry order (one TTL for all). */
  readonly cids: Map<string, CidEntry>;
}

export interface MemoryHistoryStoreOptions {
  readonly historyLimit: number;
  /** Seconds after its last stored message that a room is forgotten; 0 keeps rooms forever. */
  readonly historyTtlSec: number;
  readonly bus: MemoryRoomBus;
  /** For `refuseBanned`: the engine's ban list, read in the same step as the store. */
  readonly bans: Pick<MemoryBanList, 'holds'>;
  readonly now: () => number;
  /** Rooms read back from a snapshot, least recently active first. */
  readonly rooms?: Iterable<readonly [string, MemoryRoom]>;
}

/**
 * The room history in this process's memory, with the Redis engine's semantics: the
 * APPEND_MESSAGE, READ_SINCE and DELETE_MESSAGE scripts step by step, then the same reading of
 * their answer as `RedisHistoryStore` (`../cursor.ts`). Each method runs without an `await` in
 * between, which makes it as atomic as a Lua script. Reads hold nothing new: only a stored
 * message creates a room. Memory stays bounded: `historyLimit` messages per room, cids for
 * 10 minutes, and rooms for `historyTtlSec` after their last message.
 */
export class MemoryHistoryStore implements HistoryStore {
  // Kept in order of last activity, like chat:rooms: the lobby reads the newest end and stops
  // after `limit` rooms, expiry reads the oldest end and stops at the first room still alive.
  private readonly held = new RecencyMap<MemoryRoom>();
  /** Rooms that hold cids: the sweep visits these, not every room. */
  private readonly roomsWithCids = new Set<string>();
  private readonly ttlMs: number;
  private readonly cidTtlMs: number;
  private closed = false;

  constructor(private readonly options: MemoryHistoryStoreOptions) {
    this.ttlMs = options.historyTtlSec * 1000;
    this.cidTtlMs = cidTtlSec(options.historyTtlSec) * 1000;
    for (const [name, room] of options.rooms ?? []) {
      // A snapshot from before v2 may hold rooms that were only read (an epoch, nothing stored):
      // today they do not exist.
      if (room.seq === 0) continue;
      this.held.touch(name, room);
      if (room.cids.size > 0) this.roomsWithCids.add(name);
    }
  }

  async append(room: string, draft: MessageDraft, options: AppendOptions = {}): Promise<AppendResult> {
    this.assertOpen('The history store is unavailable, so the message was not stored');
    if (options.refuseBanned && this.options.bans.holds(room, { name: draft.user, uid: draft.uid })) throw banned();
    const now = Math.floor(this.options.now());
    const state = this.live(room, now) ?? this.create(room, now);
    const { fields, cidField } = storedMessageParts(room, draft);
    const cid = draft.cid === undefined ? undefined : cidSlot(draft.cid, draft.uid);
    if (cid !== undefined) {
      const first = state.cids.get(cid);
      if (first && !this.cidExpired(first, now)) {
        return { message: { id: idOf(first.json), json: first.json }, duplicate: true, epoch: state.epoch };
      }
    }
    const message = this.store(room, state, now, (id) => `{"id":${id},${fields},"ts":${now}${cidField}}`);
    if (cid !== undefined) {
      // Deleted first so that a cid stored again goes to the end, keeping expiry order.
      state.cids.delete(cid);
      state.cids.set(cid, { json: message.json, expiresAt: now + this.cidTtlMs });
      this.roomsWithCids.add(room);
    }
    return { message, duplicate: false, epoch: state.epoch };
  }

  async delete(room: string, id: number, by: Deleter): Promise<DeleteResult> {
    this.assertOpen('The history store is unavailable, so the message was not deleted');
    const now = Math.floor(this.options.now());
    // Like the Redis script: a room that is missing stays missing (no epoch is created).
    const state = this.live(room, now);
    const oldest = state ? state.seq - state.messages.length + 1 : 1;
    if (!state || !Number.isInteger(id) || id < oldest || id > state.seq) throw notRetained(room, id);
    const index = id - oldest;
    const entry = JSON.parse(state.messages[index]!) as { user: string; uid?: string; cid?: string; ts: number; kind?: string; deleted?: boolean };
    if (entry.kind === 'delete') throw new ChatError('not_found', `Message ${id} is a delete event, not a message.`);
    if (entry.deleted === true) {
      // The first delete event follows its tombstone, so it is retained whenever the tombstone is.
      const needle = `"kind":"delete","target":${id},`;
      const first = state.messages.slice(index + 1).find((json) => json.includes(needle));
      if (first === undefined) throw notRetained(room, id);
      return { event: { id: idOf(first), json: first }, duplicate: true };
    }
    const tombstone = JSON.stringify({ id, room, user: entry.user, deleted: true, ts: entry.ts });
    state.messages[index] = tombstone;
    // A resend with the deleted message's cid must not bring its text back (the cid is public).
    const slot = entry.cid === undefined ? undefined : cidSlot(entry.cid, entry.uid);
    const remembered = slot === undefined ? undefined : state.cids.get(slot);
    // Set on an existing key keeps its place in the map, which is its place in expiry order.
    if (remembered) state.cids.set(slot!, { ...remembered, json: tombstone });
    const byFields = JSON.stringify(by.uid === undefined ? { user: by.user } : { user: by.user, uid: by.uid }).slice(1, -1);
    const event = this.store(room, state, now, (eventId) => `{"id":${eventId},"room":${JSON.stringify(room)},${byFields},"kind":"delete","target":${id},"ts":${now}}`);
    return { event, duplicate: false };
  }

  async since(room: string, cursor: Cursor = {}): Promise<HistorySlice> {
    this.assertOpen();
    // READ_SINCE: a room that is missing (or expired) reads as epoch '' and stays missing.
    const state = this.live(room, Math.floor(this.options.now()));
    const retained = state?.messages ?? [];
    const read = { epoch: state?.epoch ?? '', last: state?.seq ?? 0, length: retained.length };
    // The newest messages a usable cursor needs, or all of them.
    const want = wantedCount(cursor, read);
    const messages: StoredMessage[] = new Array(want);
    for (let i = 0; i < want; i++) {
      const json = retained[read.length - want + i]!;
      messages[i] = { id: idOf(json), json };
    }
    return sliceFor(room, cursor, { ...read, messages });
  }

  /**
   * The `limit` most recently active rooms, newest first: `limit` steps from the newest end,
   * however many rooms are held (PROTOCOL.md v2: the lobby reads only what it shows). Rooms
   * stored in the same millisecond come in the order they were stored (Redis orders such ties
   * by name; nothing depends on it).
   */
  async rooms(limit = ROOMS_LIMIT): Promise<RoomSummary[]> {
    this.assertOpen();
    checkedRoomsLimit(limit);
    const now = this.options.now();
    const rooms: RoomSummary[] = [];
    for (const [room, state] of this.held.newestFirst()) {
      // Newest first: the first idle room means every older one is idle too (as a score range).
      if (rooms.length === limit || this.roomExpired(state, now)) break;
      rooms.push({ room, lastActivity: state.lastActivity });
    }
    return rooms;
  }

  /** Forgets idle rooms and expired cids now; the engine calls it on a timer. */
  sweep(): void {
    const now = this.options.now();
    this.pruneRooms(now);
    for (const name of this.roomsWithCids) {
      const state = this.held.get(name);
      if (state) {
        for (const [cid, entry] of state.cids) {
          if (!this.cidExpired(entry, now)) break;
          state.cids.delete(cid);
        }
      }
      if (!state || state.cids.size === 0) this.roomsWithCids.delete(name);
    }
  }

  /** The live rooms, least recently active first: what a snapshot saves. */
  *entries(): IterableIterator<[string, MemoryRoom]> {
    const now = this.options.now();
    for (const [name, state] of this.held.oldestFirst()) if (!this.roomExpired(state, now)) yield [name, state];
  }

  /** What is held now, to show that memory stays bounded. */
  stats(): { rooms: number; messages: number; cids: number } {
    let messages = 0;
    let cids = 0;
    for (const [, state] of this.held.oldestFirst()) {
      messages += state.messages.length;
      cids += state.cids.size;
    }
    return { rooms: this.held.size, messages, cids };
  }

  /** Refuses every later call with `unavailable`: nothing may change after the snapshot. */
  close(): void {
    this.closed = true;
  }

  /** The room, unless it is missing or idle past the TTL (then it is forgotten, as Redis expires keys). */
  private live(room: string, now: number): MemoryRoom | undefined {
    const state = this.held.get(room);
    if (!state || !this.roomExpired(state, now)) return state;
    this.forget(room);
    return undefined;
  }

  /**
   * Stores the next numbered entry of a room, as the end of APPEND_MESSAGE does: the id, the
   * retained window, the last activity, and the publication.
   */
  private store(room: string, state: MemoryRoom, now: number, jsonFor: (id: number) => string): StoredMessage {
    const id = ++state.seq;
    const json = jsonFor(id);
    state.messages.push(json);
    if (state.messages.length > this.options.historyLimit) {
      state.messages.splice(0, state.messages.length - this.options.historyLimit);
    }
    state.lastActivity = now;
    this.held.touch(room, state);
    // As the Redis engine prunes chat:rooms beside each store: O(1 + pruned).
    this.pruneRooms(now);
    this.options.bus.publishMessage(room, json);
    return { id, json };
  }

  private create(room: string, now: number): MemoryRoom {
    const state: MemoryRoom = { epoch: newEpoch(), seq: 0, messages: [], lastActivity: now, cids: new Map() };
    this.held.touch(room, state);
    return state;
  }

  /** Forgets the rooms idle past the TTL, least recently active first: the first room still alive ends it. */
  private pruneRooms(now: number): void {
    for (const [name, state] of this.held.oldestFirst()) {
      if (!this.roomExpired(state, now)) break;
      this.forget(name);
    }
  }

  private forget(room: string): void {
    this.held.delete(room);
    this.roomsWithCids.delete(room);
  }

  // Redis keeps a key with an expiry while now <= its expiry time (keyIsExpired: now > when).
  private roomExpired(state: MemoryRoom, now: number): boolean {
    return this.ttlMs > 0 && now > state.lastActivity + this.ttlMs;
  }

  private cidExpired(entry: CidEntry, now: number): boolean {
    return now > entry.expiresAt;
  }

  private assertOpen(what?: string): void {
    if (this.closed) throw unavailable(new Error('The memory engine has stopped.'), what);
  }
}

/**
 * A cid's key within its room, as the Redis engine's `cidKey` spells it after the room:
 * `cid:CID` for anonymous sends, `uid:UID:cid:CID` for a token's user (uid percent-encoded),
 * so one user's cid never answers for another's (PROTOCOL.md "Identity and access").
 */
export function cidSlot(cid: string, uid: string | undefined): string {
  return uid === undefined ? `cid:${cid}` : `uid:${encodeURIComponent(uid)}:cid:${cid}`;
}

function notRetained(room: string, id: number): ChatError {
  return new ChatError('not_found', `Message ${id} is not in the retained history of ${room}.`);
}

/** A random 8-byte base64url token, as the Redis engine makes them. */
export function newEpoch(): string {
  return randomBytes(8).toString('base64url');
}
