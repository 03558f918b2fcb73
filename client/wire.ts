import type { ErrorCode } from './errors';

/**
 * The server's JSON, typed and checked (PROTOCOL.md "Message", "WebSocket", "HTTP transports").
 * Readers take `unknown` and return a typed value or `undefined`: a frame the client cannot
 * read is dropped, never half-used.
 */

/**
 * A chat message as stored: `id` is the room's cursor, `ts` the server's time in ms, `cid` the
 * sender's own id for the send (present when the sender gave one).
 *
 * @example
 * chat.on('message', (m) => {
 *   if (m.text !== undefined) console.log(`${m.user}: ${m.text}`);
 * });
 */
export interface TextMessage {
  readonly id: number;
  readonly room: string;
  readonly user: string;
  readonly text: string;
  readonly ts: number;
  readonly cid?: string;
  /** The sender's stable id, when they had a token. */
  readonly uid?: string;
  readonly kind?: undefined;
  readonly deleted?: undefined;
}

/** A deleted message as the history holds it: same id, no text. */
export interface DeletedMessage {
  readonly id: number;
  readonly room: string;
  readonly user: string;
  readonly ts: number;
  readonly uid?: string;
  readonly deleted: true;
  readonly text?: undefined;
  readonly kind?: undefined;
}

/** A moderator deleted message `target`: a numbered event of its own, delivered like a message. */
export interface DeleteEvent {
  readonly id: number;
  readonly room: string;
  /** Who deleted it (`system` for the backend API and the admin script). */
  readonly user: string;
  readonly ts: number;
  readonly uid?: string;
  readonly kind: 'delete';
  readonly target: number;
  readonly text?: undefined;
  readonly deleted?: undefined;
}

/** Everything the room numbers: messages, deleted messages, delete events. */
export type StoredEvent = TextMessage | DeletedMessage | DeleteEvent;

/** Who the server says you are, and what you may do (v2; `null` from servers that do not say). */
export interface Me {
  readonly name: string;
  readonly uid?: string;
  readonly write: boolean;
  readonly mod: boolean;
}

/** How many connections the room has on every server process, and who just came or went. */
export interface PresenceEvent {
  readonly room: string;
  readonly online: number;
  readonly joined?: string;
  readonly left?: string;
}

/**
 * One person in the room's presence list: connections grouped per user (per name for anonymous
 * visitors, who have no `uid`).
 */
export interface PresenceUser {
  readonly name: string;
  readonly uid?: string;
  /** Open connections of this person (two tabs count twice). */
  readonly connections: number;
}

/**
 * Who is in the room on every server process (`GET /api/rooms/:room/presence`).
 *
 * @example
 * const { online, users } = await chat.presence();
 * console.log(`${online} connections: ${users.map((u) => u.name).join(', ')}`);
 */
export interface PresenceList {
  readonly room: string;
  /** Open connections, as presence events count them. */
  readonly online: number;
  readonly users: readonly PresenceUser[];
}

/** What a kick answers: the room, and when the ban ends (ms since the epoch), or null without one. */
export interface KickResult {
  readonly room: string;
  readonly bannedUntil: number | null;
}

/** A history answer: the WebSocket's history frame, a poll answer, an SSE replay. */
export interface HistoryAnswer {
  readonly epoch: string;
  readonly messages: StoredEvent[];
  readonly gap: boolean;
  readonly missed: number | null;
  readonly me: Me | null;
}

/** An error as the server words it: a WebSocket error frame or an HTTP error body. */
export interface ServerError {
  readonly code: ErrorCode;
  readonly message: string;
  readonly cid?: string;
}

/** The frames a WebSocket receives. */
export type ServerFrame =
  | ({ readonly type: 'history' } & HistoryAnswer)
  | { readonly type: 'message'; readonly message: StoredEvent; readonly epoch: string | undefined }
  | { readonly type: 'presence'; readonly presence: PresenceEvent }
  | { readonly type: 'ack'; readonly cid: string; readonly id: number }
  | ({ readonly type: 'error' } & ServerError);

type Json = Record<string, unknown>;

/** Parses JSON text, or returns undefined. */
export function parseJson(text: unknown): unknown {
  if (typeof text !== 'string') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isId(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** Reads a stored message, deleted message or delete event; anything else (an unknown `kind`) is dropped. */
export function readStoredEvent(value: unknown): StoredEvent | undefined {
  if (!isObject(value) || !isId(value.id) || typeof value.user !== 'string' || typeof value.ts !== 'number') {
    return undefined;
  }
  const { type: _type, ...fields } = value;
  if (fields.kind !== undefined) return fields.kind === 'delete' && isId(fields.target) ? (fields as unknown as DeleteEvent) : undefined;
  if (fields.deleted === true) return fields as unknown as DeletedMessage;
  return typeof fields.text === 'string' ? (fields as unknown as TextMessage) : undefined;
}

function readMessages(value: unknown): StoredEvent[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const messages: StoredEvent[] = [];
  for (const item of value) {
    const message = readStoredEvent(item);
    if (message) messages.push(message);
  }
  return messages;
}

/** Reads the `me` object of a history frame or an SSE `ready` event. */
export function readMe(value: unknown): Me | null {
  if (!isObject(value) || typeof value.name !== 'string') return null;
  const me: { name: string; uid?: string; write: boolean; mod: boolean } = {
    name: value.name,
    write: value.write !== false,
    mod: value.mod === true,
  };
  const uid = optionalString(value.uid);
  if (uid !== undefined) me.uid = uid;
  return me;
}

function readMissed(value: Json): number | null {
  return typeof value.missed === 'number' && value.missed >= 0 ? value.missed : null;
}

/** Reads a presence frame or SSE presence event. */
export function readPresence(value: unknown): PresenceEvent | undefined {
  if (!isObject(value) || typeof value.online !== 'number') return undefined;
  const presence: { room: string; online: number; joined?: string; left?: string } = {
    room: optionalString(value.room) ?? '',
    online: value.online,
  };
  const joined = optionalString(value.joined);
  const left = optionalString(value.left);
  if (joined !== undefined) presence.joined = joined;
  if (left !== undefined) presence.left = left;
  return presence;
}

/** Reads `{"code","message"}` (an error frame, or the inside of an HTTP error body). */
export function readServerError(value: unknown): ServerError | undefined {
  if (!isObject(value) || typeof value.code !== 'string') return undefined;
  const error: { code: string; message: string; cid?: string } = {
    code: value.code,
    message: optionalString(value.message) ?? value.code,
  };
  const cid = optionalString(value.cid);
  if (cid !== undefined) error.cid = cid;
  return error;
}

/** Reads an HTTP error body `{"error":{"code","message"}}`. */
export function readErrorBody(value: unknown): ServerError | undefined {
  return isObject(value) ? readServerError(value.error) : undefined;
}

/** Reads one WebSocket text frame. */
export function readServerFrame(text: unknown): ServerFrame | undefined {
  const value = parseJson(text);
  if (!isObject(value)) return undefined;
  switch (value.type) {
    case 'history': {
      const answer = readHistory(value);
      return answer && { type: 'history', ...answer };
    }
    case 'message': {
      // The frame's epoch is the room's (v2): a client that joined an empty room learns it here.
      const message = readStoredEvent(value);
      return message && { type: 'message', message, epoch: optionalString(value.epoch) };
    }
    case 'presence': {
      const presence = readPresence(value);
      return presence && { type: 'presence', presence };
    }
    case 'ack':
      return typeof value.cid === 'string' && isId(value.id) ? { type: 'ack', cid: value.cid, id: value.id } : undefined;
    case 'error': {
      const error = readServerError(value);
      return error && { type: 'error', ...error };
    }
    default:
      return undefined;
  }
}

/** Reads a history frame or a poll answer (`{"epoch","messages","gap"[,"missed"][,"me"]}`). */
export function readHistory(value: unknown): HistoryAnswer | undefined {
  if (!isObject(value)) return undefined;
  const messages = readMessages(value.messages);
  if (!messages) return undefined;
  const gap = value.gap === true;
  return {
    epoch: optionalString(value.epoch) ?? '',
    messages,
    gap,
    missed: gap ? readMissed(value) : null,
    me: readMe(value.me),
  };
}

/** Reads an SSE `gap` event: `{"missed":N|null,"epoch":E}`. */
export function readSseGap(value: unknown): { epoch: string | undefined; missed: number | null } | undefined {
  if (!isObject(value)) return undefined;
  return { epoch: optionalString(value.epoch), missed: readMissed(value) };
}

/** Reads an SSE `ready` event: `{"epoch","last"[,"me"]}`. */
export function readSseReady(value: unknown): { epoch: string; me: Me | null } | undefined {
  if (!isObject(value)) return undefined;
  return { epoch: optionalString(value.epoch) ?? '', me: readMe(value.me) };
}

/** The epoch part of an SSE event id (`E:ID`), or undefined for a bare id. */
export function epochOfEventId(lastEventId: unknown): string | undefined {
  if (typeof lastEventId !== 'string') return undefined;
  const colon = lastEventId.lastIndexOf(':');
  return colon >= 0 ? lastEventId.slice(0, colon) : undefined;
}

/** Reads the `{"message":{…}}` answer to a POST. */
export function readPostAnswer(value: unknown): TextMessage | undefined {
  if (!isObject(value)) return undefined;
  const message = readStoredEvent(value.message);
  return message && message.text !== undefined ? message : undefined;
}

/** Reads `{"room","online","users":[{"name","uid"?,"connections"}]}`; a user it cannot read is dropped. */
export function readPresenceList(value: unknown): PresenceList | undefined {
  if (!isObject(value) || typeof value.online !== 'number' || !Array.isArray(value.users)) return undefined;
  const users: PresenceUser[] = [];
  for (const item of value.users) {
    if (!isObject(item) || typeof item.name !== 'string') continue;
    const connections = typeof item.connections === 'number' && item.connections > 0 ? item.connections : 1;
    const uid = optionalString(item.uid);
    users.push(uid === undefined ? { name: item.name, connections } : { name: item.name, uid, connections });
  }
  return { room: optionalString(value.room) ?? '', online: value.online, users };
}

/** Reads the `{"event":{…}}` answer to a DELETE: the delete event. */
export function readDeleteAnswer(value: unknown): DeleteEvent | undefined {
  if (!isObject(value)) return undefined;
  const event = readStoredEvent(value.event);
  return event?.kind === 'delete' ? event : undefined;
}

/** Reads the `{"room","bannedUntil"}` answer to a kick. */
export function readKickAnswer(value: unknown): KickResult | undefined {
  if (!isObject(value)) return undefined;
  const bannedUntil = typeof value.bannedUntil === 'number' ? value.bannedUntil : null;
  return { room: optionalString(value.room) ?? '', bannedUntil };
}
