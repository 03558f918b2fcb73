import { randomBytes } from 'node:crypto';
import type Redis from 'ioredis';
import { ChatError, unavailable } from '../../errors';
import type { Cursor, HistorySlice, MessageDraft, StoredMessage } from '../../protocol/types';
import { idOf, storedMessageParts } from '../../protocol/wire';
import type { AppendResult, DeleteResult, Deleter, HistoryStore, RoomSummary } from '../engine';
import { CID_TTL_SEC, cidKey, epochKey, historyKey, messageChannel, roomKeyPrefix, roomsKey, seqKey } from './keys';

/**
 * The room history in Redis: one Lua script per stored message, one per read. The admin script
 * uses it too. Every Redis failure comes out as `ChatError('unavailable')`.
 */
export class RedisHistoryStore implements HistoryStore {
  constructor(
    private readonly redis: Redis,
    private readonly historyLimit: number,
    /** Invoked on every failed Redis call, before it becomes `unavailable` (for /metrics). */
    private readonly onFailure: (err: unknown) => void = () => {},
  ) {}

  /** One script checks the cid, assigns the id, pushes, trims and publishes. */
  async append(room: string, draft: MessageDraft): Promise<AppendResult> {
    const { fields, cidField } = storedMessageParts(room, draft);
    let reply: [number, string, string];
    try {
      reply = await this.redis.appendMessage(
        historyKey(room),
        seqKey(room),
        epochKey(room),
        cidKey(room, draft.cid ?? '', draft.uid),
        fields,
        cidField,
        this.historyLimit,
        messageChannel(room),
        newEpoch(),
        CID_TTL_SEC,
      );
    } catch (err) {
      this.onFailure(err);
      throw unavailable(err, 'The history store is unavailable, so the message was not stored');
    }
    const [stored, json, epoch] = reply;
    const message = { id: idOf(json), json };
    if (stored === 1) {
      // chat:rooms lives on another cluster slot, so it is updated beside the script, not in it.
      this.redis.zadd(roomsKey, Date.now(), room).catch(() => undefined);
    }
    return { message, duplicate: stored === 0, epoch };
  }

  async since(room: string, cursor: Cursor = {}): Promise<HistorySlice> {
    let reply: [string, number, number, string[]];
    try {
      reply = await this.redis.readSince(
        historyKey(room),
        seqKey(room),
        epochKey(room),
        newEpoch(),
        cursor.since ?? -1,
        cursor.epoch ?? '',
      );
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
    const base = { room, epoch, last, messages };
    if (cursor.since === undefined) return { ...base, gap: false, missed: null };
    if (cursor.epoch !== undefined && cursor.epoch !== epoch) return { ...base, gap: true, missed: null };
    // Ids are contiguous, so the oldest retained id is last - length + 1.
    const oldestRetained = last - length + 1;
    const missed = oldestRetained - 1 - cursor.since;
    if (missed > 0 && cursor.since < last) return { ...base, gap: true, missed };
    return { ...base, gap: false, missed: null };
  }

  async delete(room: string, id: number, by: Deleter): Promise<DeleteResult> {
    const byFields = JSON.stringify(by.uid === undefined ? { user: by.user } : { user: by.user, uid: by.uid }).slice(1, -1);
    let reply: [number, string];
    try {
      reply = await this.redis.deleteMessage(
        historyKey(room),
        seqKey(room),
        id,
        JSON.stringify(room),
        byFields,
        this.historyLimit,
        messageChannel(room),
        roomKeyPrefix(room),
      );
    } catch (err) {
      this.onFailure(err);
      throw unavailable(err, 'The history store is unavailable, so the message may not have been deleted');
    }
    const [status, json] = reply;
    if (status === 3) throw new ChatError('not_found', `Message ${id} is a delete event, not a message.`);
    if (status === 0 || json === '') throw new ChatError('not_found', `Message ${id} is not in the retained history of ${room}.`);
    if (status === 1) this.redis.zadd(roomsKey, Date.now(), room).catch(() => undefined);
    return { event: { id: idOf(json), json }, duplicate: status === 2 };
  }

  async rooms(): Promise<RoomSummary[]> {
    let flat: string[];
    try {
      flat = await this.redis.zrevrange(roomsKey, 0, -1, 'WITHSCORES');
    } catch (err) {
      throw unavailable(err);
    }
    const rooms: RoomSummary[] = [];
    for (let i = 0; i < flat.length; i += 2) rooms.push({ room: flat[i]!, lastActivity: Number(flat[i + 1]) });
    return rooms;
  }
}

function newEpoch(): string {
  return randomBytes(8).toString('base64url');
}
