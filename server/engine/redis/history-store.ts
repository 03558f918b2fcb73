import { randomBytes } from 'node:crypto';
import type Redis from 'ioredis';
import { unavailable } from '../../errors';
import { idOf, type Cursor, type MessageDraft, type StoredMessage } from '../../protocol/validate';
import { CID_TTL_SEC, cidKey, epochKey, historyKey, messageChannel, roomsKey, seqKey } from './keys';

/** What a cursor gets back: the messages after it, oldest first, or a gap (PROTOCOL.md "The cursor"). */
export interface HistorySlice {
  readonly room: string;
  readonly epoch: string;
  /** The room's newest id (0 for an empty room). */
  readonly last: number;
  readonly messages: readonly StoredMessage[];
  readonly gap: boolean;
  /** With a gap: how many messages were lost, or null when unknown (a reset history). */
  readonly missed: number | null;
}

/** The outcome of an append: the message, and whether this call stored it or a repeated cid found it. */
export interface AppendResult {
  readonly message: StoredMessage;
  readonly duplicate: boolean;
  readonly epoch: string;
}

export interface RoomSummary {
  readonly room: string;
  readonly lastActivity: number;
}

/**
 * The room history in Redis, with no transport in it: the WebSocket handler, the HTTP
 * transports and the admin script all read and write through these functions.
 * Every Redis failure comes out as `ChatError('unavailable')`.
 */
export class HistoryStore {
  constructor(
    private readonly redis: Redis,
    private readonly historyLimit: number,
    /** Invoked on every failed Redis call, before it becomes `unavailable` (for /metrics). */
    private readonly onFailure: (err: unknown) => void = () => {},
  ) {}

  /**
   * Stores a message: one atomic script checks the cid, assigns the id, pushes, trims and
   * publishes. A cid seen in this room in the last 10 minutes returns the first message instead.
   */
  async append(room: string, draft: MessageDraft): Promise<AppendResult> {
    // The script adds `{"id":N,` and `,"ts":T`: serialize the rest here, once.
    const fields = JSON.stringify({ room, user: draft.user, text: draft.text }).slice(1, -1);
    const cidFragment = draft.cid === undefined ? '' : `,"cid":${JSON.stringify(draft.cid)}`;
    let reply: [number, string, string];
    try {
      reply = await this.redis.appendMessage(
        historyKey(room),
        seqKey(room),
        epochKey(room),
        cidKey(room, draft.cid ?? ''),
        fields,
        cidFragment,
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

  /**
   * The messages after `cursor.since`, oldest first. Without `since`: the retained history and
   * never a gap. A cursor older than the retained window, or from another epoch, gets `gap`.
   */
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

  /** Rooms that have history, most recently active first. */
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
