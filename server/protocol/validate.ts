import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { ChatError } from '../errors';
import type { Cursor } from './types';

// Marks (\p{M}) too: हिन्दी, தமிழ் and a decomposed café need them (v1 forgot them).
export const ROOM_PATTERN = /^[\p{L}\p{M}\p{N}_-]{1,64}$/u;
export const MAX_USER_LENGTH = 32;
export const MAX_CID_LENGTH = 64;

// C0/C1 controls, and lone surrogates (invalid Unicode that JSON can still carry).
const CONTROL = /\p{Cc}/u;
const TEXT_CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/u;
const LONE_SURROGATE = /\p{Cs}/u;
// Bidirectional controls and zero-width characters: in a name they make `evil` display as `live`.
const NAME_SPOOFING = /[\u202A-\u202E\u2066-\u2069\u200B-\u200F\uFEFF]/u;

/** True when `text` holds bidirectional controls or zero-width characters, which no name may hold. */
export function spoofsNames(text: string): boolean {
  return NAME_SPOOFING.test(text);
}

/**
 * Returns the room's name in Unicode NFC (so `café` typed either way is one room) when it is
 * valid, else throws `bad_request`.
 */
export function validateRoom(room: unknown): string {
  const name = typeof room === 'string' ? room.normalize('NFC') : '';
  if (!ROOM_PATTERN.test(name)) {
    throw new ChatError(
      'bad_request',
      'A room name is 1 to 64 letters (with their marks), digits, "_" or "-" (for example "lobby", "dev-chat" or "हिन्दी").',
    );
  }
  return name;
}

/**
 * Returns the nickname, NFC-normalized and trimmed, or a `guest-xxxx` name when it is missing or
 * blank. Throws `bad_request` when it is too long or holds control characters, bidirectional
 * controls or zero-width characters (checked before trimming, which would drop a leading U+FEFF).
 */
export function validateUser(user: unknown): string {
  if (user === undefined || user === null) return guestName();
  if (typeof user !== 'string') throw new ChatError('bad_request', 'The name must be a string.');
  if (NAME_SPOOFING.test(user)) {
    throw new ChatError('bad_request', 'The name must not contain bidirectional controls or zero-width characters.');
  }
  const name = user.normalize('NFC').trim();
  if (name === '') return guestName();
  if (CONTROL.test(name) || LONE_SURROGATE.test(name)) {
    throw new ChatError('bad_request', 'The name must not contain control characters or invalid Unicode.');
  }
  if (codePoints(name) > MAX_USER_LENGTH) {
    throw new ChatError('bad_request', `A name is at most ${MAX_USER_LENGTH} characters.`);
  }
  return name;
}

/** Returns the trimmed text; throws `bad_request` when empty or malformed, `too_long` when over `max`. */
export function validateText(text: unknown, max: number): string {
  if (typeof text !== 'string') throw new ChatError('bad_request', 'The message text must be a string.');
  const trimmed = text.trim();
  if (trimmed === '') throw new ChatError('bad_request', 'The message text is empty.');
  if (TEXT_CONTROL.test(trimmed) || LONE_SURROGATE.test(trimmed)) {
    throw new ChatError(
      'bad_request',
      'The message text must not contain control characters (other than tab and newline) or invalid Unicode.',
    );
  }
  if (codePoints(trimmed) > max) {
    throw new ChatError('too_long', `A message is at most ${max} characters.`);
  }
  return trimmed;
}

/** Returns the cid, or undefined when absent; throws `bad_request` when it is not a short string. */
export function validateCid(cid: unknown): string | undefined {
  if (cid === undefined || cid === null) return undefined;
  if (
    typeof cid !== 'string' ||
    cid.length === 0 ||
    cid.length > MAX_CID_LENGTH ||
    CONTROL.test(cid) ||
    LONE_SURROGATE.test(cid)
  ) {
    throw new ChatError('bad_request', `A cid is a string of 1 to ${MAX_CID_LENGTH} printable characters.`);
  }
  return cid;
}

/**
 * Reads a cursor from query-string values: `since` a non-negative integer, `epoch` a short token.
 * Throws `bad_request` on anything else.
 */
export function parseCursor(since: unknown, epoch: unknown): Cursor {
  const cursor: Cursor = {};
  if (since !== undefined && since !== '') {
    if (typeof since !== 'string' || !/^\d{1,15}$/.test(since)) {
      throw new ChatError('bad_request', '"since" must be the id of the last message seen (a non-negative integer).');
    }
    cursor.since = Number(since);
  }
  if (epoch !== undefined && epoch !== '') {
    if (typeof epoch !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(epoch)) {
      throw new ChatError('bad_request', '"epoch" must be the epoch token the server sent.');
    }
    cursor.epoch = epoch;
  }
  return cursor;
}

// Field types are checked by the validators below, so each gets its own sentence.
const sendBody = z.strictObject({ user: z.unknown().optional(), text: z.unknown().optional(), cid: z.unknown().optional() });
const backendSendBody = sendBody.extend({ uid: z.unknown().optional() });

/** A send as a client asked for it: the fields the send pipeline validates. */
export interface SendFields {
  readonly user?: unknown;
  /** Only the backend names a uid. */
  readonly uid?: unknown;
  readonly text?: unknown;
  cid?: unknown;
}

/** Reads the body of an HTTP send: only `user`, `text` and `cid` (and `uid` from the backend), each validated later. */
export function parseSendBody(body: Readonly<Record<string, unknown>>, options: { backend?: boolean } = {}): SendFields {
  const schema = options.backend ? backendSendBody : sendBody;
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const unknown = Object.keys(body).find((key) => !(key in schema.shape));
  throw new ChatError('bad_request', `Unknown field ${JSON.stringify(unknown)}: send only ${options.backend ? 'user, uid, text and cid' : 'user, text and cid'}.`);
}

/** The cid to name in an error frame: the client's own, when it is a string short enough to echo. */
export function echoableCid(cid: unknown): string | undefined {
  return typeof cid === 'string' && cid.length <= MAX_CID_LENGTH ? cid : undefined;
}

function codePoints(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

function guestName(): string {
  return `guest-${randomBytes(2).toString('hex')}`;
}
