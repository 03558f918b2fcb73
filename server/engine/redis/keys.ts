/**
 * The only place Redis keys and channels are spelled (PROTOCOL.md "Redis layout").
 * The braces are Redis Cluster hash tags: every key of one room lives on one slot.
 */

/** `chat:{ROOM}:history`: the newest messages, newest first. */
export const historyKey = (room: string): string => `chat:{${room}}:history`;

/** `chat:{ROOM}:seq`: the room's id counter. */
export const seqKey = (room: string): string => `chat:{${room}}:seq`;

/** `chat:{ROOM}:epoch`: tells a reset history apart from one that moved on. */
export const epochKey = (room: string): string => `chat:{${room}}:epoch`;

/**
 * `chat:{ROOM}:cid:CID` (anonymous) or `chat:{ROOM}:uid:UID:cid:CID` (a token's user, uid
 * percent-encoded so it holds no `:`): a cid's first message, for 10 minutes, so one user's cid
 * never answers for another's.
 */
export const cidKey = (room: string, cid: string, uid?: string): string =>
  uid === undefined ? `chat:{${room}}:cid:${cid}` : `chat:{${room}}:uid:${encodeURIComponent(uid)}:cid:${cid}`;

/** `chat:{ROOM}:online`: one field per server process, its member count and when that expires. */
export const presenceKey = (room: string): string => `chat:{${room}}:online`;

/** `chat:{ROOM}:who`: one field per process and person (`PROCESS\tu:UID` or `PROCESS\tn:NAME`), for the presence list. */
export const membersKey = (room: string): string => `chat:{${room}}:who`;

/**
 * `chat:{ROOM}:ban:uid:UID` / `chat:{ROOM}:ban:name:NAME` (percent-encoded): a ban, expiring
 * when it ends, so every process and a restarted one honour it.
 */
export const banKey = (room: string, who: { uid: string } | { user: string }): string =>
  'uid' in who ? `chat:{${room}}:ban:uid:${encodeURIComponent(who.uid)}` : `chat:{${room}}:ban:name:${encodeURIComponent(who.user)}`;

/** `chat:rooms`: a sorted set of the rooms with history, scored by last activity (ms). */
export const roomsKey = 'chat:rooms';

/** Pub/sub channel `chat:{ROOM}`: every stored message, as its canonical JSON. */
export const messageChannel = (room: string): string => `chat:{${room}}`;

/** Pub/sub channel `chat:{ROOM}:presence`: presence frames, ready to send. */
export const presenceChannel = (room: string): string => `chat:{${room}}:presence`;

/** Pub/sub channel `chat:{ROOM}:control`: moderation orders for every process (`{"kick":{…}}`). */
export const controlChannel = (room: string): string => `chat:{${room}}:control`;

/** The three channels a process subscribes to for a room: messages, presence, control. */
export function roomChannels(room: string): [string, string, string] {
  return [messageChannel(room), presenceChannel(room), controlChannel(room)];
}

/**
 * `chat:{ROOM}:barrier`: a shard channel nobody subscribes to or publishes on. On Redis Cluster the
 * bus SUNSUBSCRIBEs from it to learn when the SSUBSCRIBEs ioredis sent before it on the same
 * connection have taken effect (Redis answers in order, and answers every channel named).
 */
export const barrierChannel = (room: string): string => `chat:{${room}}:barrier`;

/** The room a channel belongs to, or undefined for a channel that is not ours. */
export function roomOfChannel(channel: string): { room: string; kind: 'message' | 'presence' | 'control' } | undefined {
  const m = /^chat:\{(.+)\}(?::(presence|control))?$/u.exec(channel);
  if (!m) return undefined;
  return { room: m[1]!, kind: (m[2] as 'presence' | 'control' | undefined) ?? 'message' };
}

/** A SCAN pattern that finds every key of every room (the admin script's `stats` and `audit` walk them all). */
export const ROOM_KEY_PATTERN = 'chat:{*}:*';

/**
 * The room whose history, counter or epoch `key` is, or undefined for any other key (a cid key
 * ending in `:seq` included: a room name never holds `}`).
 */
export function roomOfHistoryKey(key: string): string | undefined {
  return /^chat:\{([^}]+)\}:(?:history|seq|epoch)$/u.exec(key)?.[1];
}
