import { readFileSync } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import { idOf } from '../../protocol/wire';
import type { BanEntry } from './ban-list';
import type { MemoryRoom } from './history-store';

/** Where `npm start` keeps the memory engine's snapshot (PROTOCOL.md "Engines"). */
export const DEFAULT_SNAPSHOT_PATH = 'data/memory.json';

const FORMAT = 'chat-memory-snapshot';

/*
 * The file, one room (then one ban) per line so that a large history is written piece by piece
 * and stays readable:
 *   {"format":"chat-memory-snapshot","version":1,"savedAt":MS,"rooms":[
 *   {"room":R,"epoch":E,"seq":N,"lastActivity":MS,"messages":[JSON…],"cids":[{"key","json","expiresAt"}…]},
 *   …
 *   ],"bans":[
 *   {"room":R,"uid":U,"untilMs":MS}   or   {"room":R,"user":NAME,"untilMs":MS},
 *   …
 *   ]}
 * Messages are kept as their JSON text, so they come back byte for byte; a cid's key is
 * `cidSlot`'s (`cid:CID` or `uid:UID:cid:CID`). `bans` came later within version 1: a file
 * without it has no bans, and a server from before bans ignores it.
 */
const roomSchema = z.object({
  room: z.string().min(1),
  // What a cursor may carry back (validate.ts parseCursor), so a restored epoch can be resumed.
  epoch: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  seq: z.number().int().nonnegative(),
  lastActivity: z.number().int().nonnegative(),
  messages: z.array(z.string()),
  cids: z.array(z.object({ key: z.string().regex(/^(uid:[^:]*:)?cid:./), json: z.string(), expiresAt: z.number().int() })),
});
const banSchema = z.union([
  z.strictObject({ room: z.string().min(1), uid: z.string(), untilMs: z.number().int() }),
  z.strictObject({ room: z.string().min(1), user: z.string(), untilMs: z.number().int() }),
]);
const snapshotSchema = z.object({
  format: z.literal(FORMAT),
  version: z.literal(1),
  savedAt: z.number().int(),
  rooms: z.array(roomSchema),
  bans: z.array(banSchema).default([]),
});
type RoomRecord = z.infer<typeof roomSchema>;

/** What a snapshot holds: the rooms, least recently active first, and the bans. */
export interface Snapshot {
  readonly rooms: Array<[string, MemoryRoom]>;
  readonly bans: BanEntry[];
}

/**
 * Reads a snapshot back: the rooms, least recently active first, each trimmed to the newest
 * `historyLimit` messages, and the bans (ended ones too: the engine's first sweep drops them).
 * A missing file is an empty engine. Anything else that cannot be used
 * (unreadable, not JSON, not a snapshot, ids that do not add up) throws an `Error` with a
 * sentence naming the file, so the server does not start and nothing overwrites the file:
 * silently starting empty would lose the history at the next stop.
 *
 * @example
 * const { rooms, bans } = loadSnapshot('data/memory.json', 100);
 */
export function loadSnapshot(path: string, historyLimit: number): Snapshot {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { rooms: [], bans: [] };
    throw refuse(path, `could not be read (${(err as Error).message})`, err);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw refuse(path, `is not valid JSON (${(err as Error).message})`, err);
  }
  const parsed = snapshotSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw refuse(path, `is not a memory snapshot this server wrote (${issue.path.join('.') || 'top level'}: ${issue.message})`);
  }
  const seen = new Set<string>();
  const rooms: Array<[string, MemoryRoom]> = [];
  for (const [i, record] of parsed.data.rooms.entries()) {
    const problem = seen.has(record.room) ? 'names a room twice' : checkRoom(record);
    if (problem) throw refuse(path, `is not a consistent memory snapshot (rooms.${i}, room ${JSON.stringify(record.room)}: ${problem})`);
    seen.add(record.room);
    rooms.push([record.room, toRoom(record, historyLimit)]);
  }
  // The store sweeps from the least recently active room, so it expects them in that order.
  rooms.sort((a, b) => a[1].lastActivity - b[1].lastActivity);
  return { rooms, bans: parsed.data.bans };
}

/**
 * Writes the rooms and bans to `path` atomically: into a temporary file beside it, flushed to disk, then
 * renamed over it, so a crash mid-write leaves the previous snapshot whole.
 */
export async function saveSnapshot(
  path: string,
  rooms: Iterable<[string, MemoryRoom]>,
  bans: Iterable<BanEntry>,
  savedAt: number,
): Promise<void> {
  const temp = `${path}.${process.pid}.tmp`;
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeDurably(temp, rooms, bans, savedAt);
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true, recursive: true }).catch(() => undefined);
    throw new Error(`Could not write the memory snapshot to ${path}: ${(err as Error).message}`, { cause: err });
  }
}

async function writeDurably(
  temp: string,
  rooms: Iterable<[string, MemoryRoom]>,
  bans: Iterable<BanEntry>,
  savedAt: number,
): Promise<void> {
  const file = await open(temp, 'w');
  try {
    let chunk = `{"format":"${FORMAT}","version":1,"savedAt":${Math.floor(savedAt)},"rooms":[`;
    const write = async (records: Iterable<unknown>) => {
      let first = true;
      for (const record of records) {
        chunk += `${first ? '' : ','}\n${JSON.stringify(record)}`;
        first = false;
        // Written in pieces: one string of the whole history could pass V8's string size limit.
        if (chunk.length > 1 << 20) {
          await file.writeFile(chunk);
          chunk = '';
        }
      }
    };
    await write(map(rooms, ([name, room]) => toRecord(name, room)));
    chunk += '\n],"bans":[';
    await write(bans);
    await file.writeFile(`${chunk}\n]}\n`);
    // On disk before the rename, or a power cut could leave a renamed but empty file.
    await file.sync();
  } finally {
    await file.close();
  }
}

/** Undefined when the room's messages and cids are what the engine would have stored, else why not. */
function checkRoom(record: RoomRecord): string | undefined {
  const { messages, seq } = record;
  for (const [i, json] of messages.entries()) {
    const id = messageId(json);
    if (id === undefined) return `messages.${i} is not a stored message's JSON`;
    // Ids are contiguous, ending at the counter: since() computes what was missed from that.
    if (id !== seq - messages.length + 1 + i) return `messages.${i} has id ${id}, but the ids must run up to seq ${seq} without a hole`;
  }
  for (const [i, entry] of record.cids.entries()) {
    const id = messageId(entry.json);
    if (id === undefined || id > seq) return `cids.${i} does not hold a message of this room`;
  }
  return undefined;
}

/** The id of a stored message's JSON (which starts `{"id":N,`), or undefined when it is not one. */
function messageId(json: string): number | undefined {
  if (!/^\{"id":[1-9]\d*,/.test(json)) return undefined;
  try {
    const value: unknown = JSON.parse(json);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  } catch {
    return undefined;
  }
  return idOf(json);
}

function toRoom(record: RoomRecord, historyLimit: number): MemoryRoom {
  return {
    epoch: record.epoch,
    seq: record.seq,
    // HISTORY_LIMIT may have been lowered since the snapshot was written.
    messages: record.messages.slice(-historyLimit),
    lastActivity: record.lastActivity,
    cids: new Map(
      [...record.cids]
        .sort((a, b) => a.expiresAt - b.expiresAt)
        .map(({ key, json, expiresAt }) => [key, { json, expiresAt }]),
    ),
  };
}

function toRecord(name: string, room: MemoryRoom): RoomRecord {
  const cids = [...room.cids].map(([key, { json, expiresAt }]) => ({ key, json, expiresAt }));
  return { room: name, epoch: room.epoch, seq: room.seq, lastActivity: room.lastActivity, messages: room.messages, cids };
}

function* map<T, U>(items: Iterable<T>, f: (item: T) => U): IterableIterator<U> {
  for (const item of items) yield f(item);
}

function refuse(path: string, problem: string, cause?: unknown): Error {
  return new Error(
    `The memory engine's snapshot ${path} ${problem}. Move it aside (or delete it) to start with an empty history, or restore a good copy.`,
    { cause },
  );
}
