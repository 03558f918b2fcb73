import { randomBytes } from 'node:crypto';
import { Cluster } from 'ioredis';
import { ChatError, banned, unavailable } from '../../errors';
import type { Cursor, HistorySlice, MessageDraft, StoredMessage } from '../../protocol/types';
import { idOf, storedMessageParts } from '../../protocol/wire';
import type { AppendOptions, AppendResult, DeleteResult, Deleter, HistoryStore, RoomSummary } from '../engine';
import { sliceFor } from '../cursor';
import { ROOMS_LIMIT, checkedHistoryTtl, checkedRoomsLimit, cidTtlSec } from '../options';
import type { RedisClient } from './connect';
import { banKey, cidKey, epochKey, historyKey, messageChannel, roomsKey, seqKey } from './keys';
import { RoomIndex } from './room-index';

/**
 * The room history in Redis: one Lua script per stored message, one per read. The admin script
 * uses it too. Reads write nothing; every key of a room expires `historyTtlSec` after its last
 * stored message, and `chat:rooms` is pruned of rooms idle longer than that. Every Redis failure
 * comes out as `ChatError('unavailable')`. On a Redis Cluster the scripts are the sharded
 * variants (SPUBLISH to the room's channel, passed as a key: scripts.ts); the keys are the same.
 */
export class RedisHistoryStore implements HistoryStore {
  private readonly ttlMs: number;
  private readonly cidTtlSec: number;
  private readonly index: RoomIndex;

  constructor(
    private readonly redis: RedisClient,
    private readonly historyLimit: number,
    /** Invoked on every failed Redis call, before it becomes `unavailable` (for /metrics). */
    private readonly onFailure: (err: unknown) => void = () => {},
    /** HISTORY_TTL: seconds after its last stored message that every key of a room expires; 0 (the default) keeps rooms forever. */
    historyTtlSec = 0,
  ) {
    this.ttlMs = checkedHistoryTtl(historyTtlSec) * 1000;
    this.cidTtlSec = cidTtlSec(historyTtlSec);
    this.index = new RoomIndex(redis, this.ttlMs);
  }

  /**
   * One script checks the sender's bans and the cid, assigns the id, pushes, trims, publishes and
   * sets the room's expiry: one round trip per send.
   */
  async append(room: string, draft: MessageDraft, options: AppendOptions = {}): Promise<AppendResult> {
    const { fields, cidField } = storedMessageParts(room, draft);
    const nameBan = banKey(room, { user: draft.user });
    const keys = [
      historyKey(room),
      seqKey(room),
      epochKey(room),
      cidKey(room, draft.cid ?? '', draft.uid),
      nameBan,
      draft.uid === undefined ? nameBan : banKey(room, { uid: draft.uid }),
    ] as const;
    const refuse = options.refuseBanned ? '1' : '0';
    const offered = newEpoch();
    const argv = [fields, cidField, this.historyLimit, messageChannel(room), offered, this.cidTtlSec, this.ttlMs, refuse] as const;
    let reply: [number, string, string];
    try {
      reply = await (this.redis instanceof Cluster
        ? this.redis.appendMessageSharded(...keys, messageChannel(room), ...argv)
        : this.redis.appendMessage(...keys, ...argv));
    } catch (err) {
      this.onFailure(err);
      // Redis may still run a script whose answer timed out: the outcome is unknown, and the cid
      // makes a resend safe.
      throw new ChatError(
        'unavailable',
        'The history store did not answer in time, so the message may not have been stored: resend it with the same cid.',
        { cause: err },
      );
    }
    const [stored, json, epoch] = reply;
    if (stored === 2) throw banned();
    const message = { id: idOf(json), json };
    if (stored === 1) this.index.touch(room, Date.now(), epoch === offered);
    return { message, duplicate: stored === 0, epoch };
  }

  /** One read-only script: a room that never stored a message answers epoch '' and creates no key. */
  async since(room: string, cursor: Cursor = {}): Promise<HistorySlice> {
    let reply: [string, number, number, string[]];
    try {
      reply = await this.redis.readSince(historyKey(room), seqKey(room), epochKey(room), cursor.since ?? -1, cursor.epoch ?? '');
    } catch (err) {
      this.onFailure(err);
      throw unavailable(err);
    }
    const [epoch, last, length, items] = reply;
    const messages: StoredMessage[] = new Array(items.length);
    for (let i = 0; i < items.length; i++) {
      const json = items[items.length - 1 - i]!;
      messages[i] = { id: idOf(json), json };
    }
    return sliceFor(room, cursor, { epoch, last, length, messages });
  }

  /**
   * Reads message `id` first, then deletes it in one script that is given every key it writes,
   * the message's cid key included (Redis Cluster allows no other); if the entry changed in
   * between (a cleared room refilled), it reads again.
   */
  async delete(room: string, id: number, by: Deleter): Promise<DeleteResult> {
    const byFields = JSON.stringify(by.uid === undefined ? { user: by.user } : { user: by.user, uid: by.uid }).slice(1, -1);
    let reply: [number, string] = [4, ''];
    try {
      for (let attempt = 0; attempt < 3 && reply[0] === 4; attempt++) {
        const entry = await this.redis.readEntry(historyKey(room), seqKey(room), id);
        const keys = [historyKey(room), seqKey(room), epochKey(room), cidKeyOf(room, entry) ?? epochKey(room)] as const;
        const argv = [id, JSON.stringify(room), byFields, this.historyLimit, messageChannel(room), entry, this.ttlMs] as const;
        reply = await (this.redis instanceof Cluster
          ? this.redis.deleteMessageSharded(...keys, messageChannel(room), ...argv)
          : this.redis.deleteMessage(...keys, ...argv));
      }
    } catch (err) {
      this.onFailure(err);
      throw unavailable(err, 'The history store is unavailable, so the message may not have been deleted');
    }
    const [status, json] = reply;
    if (status === 4) throw unavailable(undefined, `Message ${id} kept changing while it was being deleted`);
    if (status === 3) throw new ChatError('not_found', `Message ${id} is a delete event, not a message.`);
    if (status === 0 || json === '') throw new ChatError('not_found', `Message ${id} is not in the retained history of ${room}.`);
    if (status === 1) this.index.touch(room);
    return { event: { id: idOf(json), json }, duplicate: status === 2 };
  }

  /**
   * The `limit` most recently active rooms: one ZREVRANGEBYSCORE of O(log N + limit), never the
   * whole set (PROTOCOL.md v2: the lobby reads only what it shows). Rooms idle past HISTORY_TTL
   * that no store has pruned yet are left out by their score.
   */
  async rooms(limit = ROOMS_LIMIT): Promise<RoomSummary[]> {
    checkedRoomsLimit(limit);
    let flat: string[];
    try {
      flat = await this.redis.zrevrangebyscore(roomsKey, '+inf', this.ttlMs > 0 ? Date.now() - this.ttlMs : '-inf', 'WITHSCORES', 'LIMIT', 0, limit);
    } catch (err) {
      this.onFailure(err);
      throw unavailable(err);
    }
    const rooms: RoomSummary[] = [];
    for (let i = 0; i < flat.length; i += 2) rooms.push({ room: flat[i]!, lastActivity: Number(flat[i + 1]) });
    return this.index.overlay(rooms, limit);
  }

  /** Writes the room index's pending scores (graceful shutdown: before the connection quits). */
  flush(): Promise<void> {
    return this.index.close();
  }
}

/** The key that remembers the cid of a stored entry, if it has one (keys.ts spells it). */
function cidKeyOf(room: string, entry: string): string | undefined {
  if (!entry.includes(',"cid":')) return undefined;
  const { cid, uid } = JSON.parse(entry) as { cid?: unknown; uid?: unknown };
  if (typeof cid !== 'string') return undefined;
  return cidKey(room, cid, typeof uid === 'string' ? uid : undefined);
}

// Every send offers the script an epoch in case the room is new: 8 random bytes, cut from a
// pool filled 512 sends at a time, since one randomBytes() call per send cost 3 % of a busy
// server's CPU.
const EPOCH_BYTES = 8;
let epochPool = Buffer.alloc(0);
let epochOffset = 0;

function newEpoch(): string {
  if (epochOffset + EPOCH_BYTES > epochPool.length) {
    epochPool = randomBytes(EPOCH_BYTES * 512);
    epochOffset = 0;
  }
  const epoch = epochPool.toString('base64url', epochOffset, epochOffset + EPOCH_BYTES);
  epochOffset += EPOCH_BYTES;
  return epoch;
}
