import { z } from 'zod';
import { ChatError } from '../errors';
import { echoableCid } from './validate';

/** The longest ban, in seconds: a year (PROTOCOL.md v2 "Moderation"). */
export const MAX_BAN_SECONDS = 31_536_000;

const who = {
  uid: z.string().min(1).max(64).optional(),
  user: z.string().min(1).max(64).optional(),
  seconds: z.number().int().min(1).max(MAX_BAN_SECONDS).optional(),
};

const commands = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('message'), text: z.string(), cid: z.string().optional() }),
  z.strictObject({ type: z.literal('delete'), id: z.number().int().min(1) }),
  z.strictObject({ type: z.literal('kick'), ...who }),
]);

/** A kick as asked for: by uid or by name, and a ban's length when it is one. */
export type KickOrder = { readonly who: { uid: string } | { user: string }; readonly seconds?: number };

/** What a client may send over its WebSocket. */
export type ClientCommand =
  | { type: 'message'; text: string; cid?: string }
  | { type: 'delete'; id: number }
  | ({ type: 'kick' } & KickOrder);

/** The outcome of reading a client frame: a command, or an error that names the frame's cid. */
export type ParsedFrame = { ok: true; command: ClientCommand } | { ok: false; error: ChatError; cid?: string };

const USAGE =
  'A command is {"type":"message","text":"…","cid":"…"} (cid optional), {"type":"delete","id":N} or ' +
  '{"type":"kick","uid":"…" or "user":"…","seconds":S} (seconds optional, 1 to 31536000); no other field is allowed.';

/** JSON's whitespace (RFC 8259: space, tab, LF, CR), then the `{` of an object. */
const OPENS_OBJECT = /^[ \t\n\r]*\{/;

/**
 * Reads one client text frame. A JSON object is a command and must be well formed; anything
 * else (not JSON, or JSON that is not an object) is the text of a message, so `wscat` works.
 */
export function parseClientFrame(raw: string): ParsedFrame {
  // Only a frame that opens with `{` (after JSON's whitespace) can be an object: any other is
  // text without asking JSON.parse, whose SyntaxError costs ~6 µs per plain-text frame.
  if (!OPENS_OBJECT.test(raw)) return { ok: true, command: { type: 'message', text: raw } };
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return { ok: true, command: { type: 'message', text: raw } };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: true, command: { type: 'message', text: raw } };
  }
  const parsed = commands.safeParse(value);
  const cid = Object.prototype.hasOwnProperty.call(value, 'cid') ? (value as { cid?: unknown }).cid : undefined;
  if (!parsed.success) return { ok: false, error: new ChatError('bad_request', USAGE), cid: echoableCid(cid) };
  const command = parsed.data;
  if (command.type !== 'kick') return { ok: true, command };
  try {
    return { ok: true, command: { type: 'kick', ...kickOrder(command) } };
  } catch (err) {
    return { ok: false, error: err as ChatError };
  }
}

const kickBody = z.strictObject(who);

/** Reads `POST /api/rooms/:room/kick`: `{"uid"}` or `{"user"}`, and `"seconds"` for a ban. */
export function parseKickBody(body: Readonly<Record<string, unknown>>): KickOrder {
  const parsed = kickBody.safeParse(body);
  if (!parsed.success) {
    throw new ChatError(
      'bad_request',
      'A kick is {"uid":"…"} or {"user":"…"}, with "seconds" for a ban (an integer from 1 to 31536000); no other field.',
    );
  }
  return kickOrder(parsed.data);
}

function kickOrder(fields: { uid?: string; user?: string; seconds?: number }): KickOrder {
  if ((fields.uid === undefined) === (fields.user === undefined)) {
    throw new ChatError('bad_request', 'Name whom to kick with "uid" or with "user", one of the two.');
  }
  // A name is matched as stored: NFC, like every name the server takes.
  const target = fields.uid !== undefined ? { uid: fields.uid } : { user: fields.user!.normalize('NFC').trim() };
  return fields.seconds === undefined ? { who: target } : { who: target, seconds: fields.seconds };
}
