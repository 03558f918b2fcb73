import { Cluster } from 'ioredis';
import type { RedisClient } from '../../server/engine/redis/connect';
import { execGroups } from '../../server/engine/redis/pipelines';
import {
  ROOM_KEY_PATTERN,
  cidKey,
  epochKey,
  historyKey,
  messageChannel,
  roomOfHistoryKey,
  roomsKey,
  seqKey,
} from '../../server/engine/redis/keys';
import type { HistoryStore } from '../../server/engine/engine';
import type { Message } from '../../server/protocol/types';
import { oneLine, table } from './table';

/** What every subcommand gets: the connection (one Redis, or a Cluster), the store, where to write, and the settings. */
export interface AdminContext {
  readonly redis: RedisClient;
  readonly store: HistoryStore;
  readonly historyLimit: number;
  readonly out: (text: string) => void;
}

export interface RoomRow {
  room: string;
  count: number;
  lastId: number;
  lastActivity: string | null;
}

/** How many rooms `rooms` lists without `--limit`, and at most. */
export const ROOMS_SHOWN = 50;
export const MAX_ROOMS_SHOWN = 1000;

/**
 * `rooms [--limit N]`: the N most recently active rooms (default 50), each with its retained
 * count, last id and last activity. It reads only those N rooms, never the whole `chat:rooms`
 * set (PROTOCOL.md v2), so it costs the same with a million rooms.
 */
export async function rooms(ctx: AdminContext, opts: { json?: boolean; limit?: number }): Promise<void> {
  const limit = opts.limit ?? ROOMS_SHOWN;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_ROOMS_SHOWN) {
    throw new Error(`--limit must be from 1 to ${MAX_ROOMS_SHOWN}.`);
  }
  const recent = await ctx.store.rooms(limit);
  const replies = await execGroups(
    ctx.redis,
    recent.map(({ room }) => (pipeline) => pipeline.llen(historyKey(room)).get(seqKey(room))),
  );
  const rows: RoomRow[] = recent.map(({ room, lastActivity }, i) => {
    const [count, seq] = replies.slice(i * 2, i * 2 + 2).map(([, v]) => v);
    return { room, count: Number(count ?? 0), lastId: Number(seq ?? 0), lastActivity: new Date(lastActivity).toISOString() };
  });
  if (opts.json) return ctx.out(JSON.stringify(rows));
  if (rows.length === 0) return ctx.out('No rooms have history.');
  ctx.out(
    table(
      ['room', 'messages', 'last id', 'last activity'],
      rows.map((r) => [r.room, String(r.count), String(r.lastId), r.lastActivity ?? '-']),
    ),
  );
  if (rows.length === limit) ctx.out(`(the ${limit} most recently active rooms; --limit N shows up to ${MAX_ROOMS_SHOWN})`);
}

/** `show ROOM`: history oldest first; `--limit` keeps the newest N, `--since` starts after an id. */
export async function show(ctx: AdminContext, room: string, opts: { limit?: number; since?: number; json?: boolean }): Promise<void> {
  const slice = await ctx.store.since(room, opts.since === undefined ? {} : { since: opts.since });
  let messages = slice.messages.map((m) => JSON.parse(m.json) as StoredEntry & Message);
  if (opts.limit !== undefined) messages = messages.slice(-opts.limit);
  if (opts.json) return ctx.out(JSON.stringify(messages));
  if (messages.length === 0) return ctx.out(`No messages in ${room}${opts.since !== undefined ? ` after id ${opts.since}` : ''}.`);
  ctx.out(table(['id', 'time', 'user', 'text'], messages.map((m) => [String(m.id), new Date(m.ts).toISOString(), m.user, shownText(m)])));
  if (slice.gap) ctx.out(`(${slice.missed ?? 'some'} older messages after id ${opts.since} are no longer retained)`);
}

/** `export ROOM`: JSON Lines, oldest first. */
export async function exportRoom(ctx: AdminContext, room: string): Promise<void> {
  const slice = await ctx.store.since(room);
  for (const m of slice.messages) ctx.out(m.json);
}

/** `tail ROOM`: prints each message as it is stored, until stopped. Resolves when `stop` fires. */
export async function tail(
  ctx: AdminContext,
  subscriber: RedisClient,
  room: string,
  opts: { json?: boolean },
  stop: Promise<void>,
  ready: (text: string) => void,
): Promise<void> {
  // On a Cluster the messages travel on sharded pub/sub (SSUBSCRIBE, `smessage`).
  subscriber.on(subscriber instanceof Cluster ? 'smessage' : 'message', (_channel: string, json: string) => {
    if (opts.json) return ctx.out(json);
    const m = JSON.parse(json) as Message;
    ctx.out(`${m.id}  ${new Date(m.ts).toISOString()}  ${m.user}: ${shownText(m)}`);
  });
  await (subscriber instanceof Cluster ? subscriber.ssubscribe(messageChannel(room)) : subscriber.subscribe(messageChannel(room)));
  ready(`Following ${room}; Ctrl-C to stop.`);
  await stop;
}

/** `clear ROOM`: deletes the history, counter, epoch and cids, so clients see the reset. */
export async function clear(ctx: AdminContext, room: string): Promise<number> {
  const cids: string[] = [];
  // Anonymous cids, then token users' cids (room names hold no glob characters).
  for (const pattern of [cidKey(room, '*'), cidKey(room, '*', '*')]) cids.push(...(await scanKeys(ctx.redis, pattern, 500)));
  const count = await ctx.redis.llen(historyKey(room));
  // Unlisted first: a message stored between the two steps begins the room anew and lists it
  // again, rather than being left with history and no entry in the lobby.
  await ctx.redis.zrem(roomsKey, room);
  await ctx.redis.del(historyKey(room), seqKey(room), epochKey(room), ...cids);
  return count;
}

/**
 * `stats`: rooms, messages retained, memory used by the history keys. It walks every key (SCAN,
 * which never blocks Redis for long), so it takes time in proportion to the whole database.
 */
export async function stats(ctx: AdminContext, opts: { json?: boolean }): Promise<void> {
  const names = await knownRooms(ctx.redis);
  const replies = await execGroups(
    ctx.redis,
    names.map((room) => (pipeline) => pipeline.llen(historyKey(room)).memory('USAGE', historyKey(room))),
  );
  let rooms = 0;
  let messages = 0;
  let bytes = 0;
  for (let i = 0; i < replies.length; i += 2) {
    const retained = Number(replies[i]?.[1] ?? 0);
    // A room counts when it has history (not an epoch that a v1 read left behind).
    if (retained > 0) rooms++;
    messages += retained;
    bytes += Number(replies[i + 1]?.[1] ?? 0);
  }
  const result = { rooms, messages, historyBytes: bytes };
  if (opts.json) return ctx.out(JSON.stringify(result));
  ctx.out(table(['rooms', 'messages retained', 'history memory'], [[String(result.rooms), String(messages), humanBytes(bytes)]]));
}

/** A problem `audit` found. */
export interface Finding {
  room: string;
  problem: string;
}

/**
 * `audit [ROOM]`: each room's list must hold valid messages of that room with contiguous,
 * descending ids, be no longer than HISTORY_LIMIT, have a counter not behind its newest id,
 * and have an epoch. Without ROOM it walks every key (SCAN), so it finds rooms that `chat:rooms`
 * lost too, and takes time in proportion to the whole database.
 */
export async function audit(ctx: AdminContext, room?: string): Promise<Finding[]> {
  const names = room ? [room] : await knownRooms(ctx.redis);
  const findings: Finding[] = [];
  for (const name of names) {
    const say = (problem: string) => findings.push({ room: name, problem });
    const [items, seqRaw, epoch] = await Promise.all([
      ctx.redis.lrange(historyKey(name), 0, -1),
      ctx.redis.get(seqKey(name)),
      ctx.redis.get(epochKey(name)),
    ]);
    if (items.length === 0 && seqRaw === null && epoch === null) {
      if (room) say('has no history, counter or epoch');
      continue;
    }
    if (items.length === 0 && seqRaw === null) {
      // v1 created an epoch on every read of a room, and never let it expire.
      say('has an epoch but no history or counter (a read before v2 left it; it never expires: delete it)');
      continue;
    }
    if (items.length > ctx.historyLimit) say(`holds ${items.length} messages, more than HISTORY_LIMIT ${ctx.historyLimit}`);
    if (epoch === null) say('has no epoch');
    const ids: number[] = [];
    items.forEach((json, i) => {
      let m: StoredEntry;
      try {
        m = JSON.parse(json) as StoredEntry;
      } catch {
        return say(`entry ${i} is not JSON`);
      }
      const problem = entryProblem(m);
      if (problem) return say(`entry ${i} ${problem}`);
      if (m.room !== name) say(`message ${m.id} belongs to room ${JSON.stringify(m.room)}`);
      if (!json.startsWith(`{"id":${m.id},`)) say(`message ${m.id} is not in canonical form (id first)`);
      ids.push(m.id!);
    });
    for (let i = 1; i < ids.length; i++) {
      if (ids[i] !== ids[i - 1]! - 1) say(`ids are not contiguous and descending: ${ids[i - 1]} is followed by ${ids[i]}`);
    }
    const seq = seqRaw === null ? null : Number(seqRaw);
    if (ids.length > 0 && (seq === null || seq < ids[0]!)) say(`counter ${seq ?? 'missing'} is behind the newest id ${ids[0]}`);
  }
  return findings;
}

/** What `show` and `tail` print for an entry: its text, or what a tombstone or delete event stands for. */
function shownText(m: StoredEntry): string {
  if (m.deleted === true) return '(message deleted)';
  if (m.kind === 'delete') return `(deleted message ${String(m.target)})`;
  return oneLine(m.text ?? '');
}

/** An entry of a room's list: a message, a tombstone (`deleted`, no text) or a delete event (`kind`, `target`). */
type StoredEntry = Partial<Message> & { deleted?: unknown; kind?: unknown; target?: unknown };

/** What is wrong with an entry's fields, or undefined when it is one of the three shapes. */
function entryProblem(m: StoredEntry): string | undefined {
  if (!Number.isInteger(m.id) || typeof m.user !== 'string' || typeof m.ts !== 'number') return 'is not a message (id, user, ts)';
  if (m.deleted !== undefined) {
    return m.deleted === true && m.text === undefined ? undefined : 'is a tombstone that still holds text, or is malformed';
  }
  if (m.kind !== undefined) {
    const valid = m.kind === 'delete' && Number.isInteger(m.target) && (m.target as number) < m.id! && m.text === undefined;
    return valid ? undefined : 'is a malformed delete event (kind "delete", a target before it, no text)';
  }
  return typeof m.text === 'string' ? undefined : 'is not a message (id, user, text, ts)';
}

/**
 * Every room that has a history, counter or epoch key, found by walking the whole key space with
 * SCAN (never the one `chat:rooms` read that would block Redis on a large set): it finds rooms
 * that `chat:rooms` lost, and skips rooms whose keys expired.
 */
async function knownRooms(redis: RedisClient): Promise<string[]> {
  const names = new Set<string>();
  for (const key of await scanKeys(redis, ROOM_KEY_PATTERN, 1000)) {
    const room = roomOfHistoryKey(key);
    if (room !== undefined) names.add(room);
  }
  return [...names];
}

/**
 * Every key that matches `pattern`, found with SCAN (which never blocks Redis for long). A
 * Cluster is walked master by master: SCAN sees only the node it is sent to.
 */
async function scanKeys(redis: RedisClient, pattern: string, count: number): Promise<string[]> {
  const found: string[] = [];
  for (const node of redis instanceof Cluster ? redis.nodes('master') : [redis]) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', count);
      cursor = next;
      found.push(...keys);
    } while (cursor !== '0');
  }
  return found;
}

function humanBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
