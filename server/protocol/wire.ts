import type { HistorySlice, Me, MessageDraft, PresenceChange, StoredMessage } from './types';

/**
 * The only place the wire JSON is spelled: WebSocket frames, HTTP answers and SSE events
 * (PROTOCOL.md). Answers that carry messages are built by concatenating the stored JSON, so a
 * message is never parsed and serialized again on its way out.
 */

// ---- stored messages ------------------------------------------------------------------------

/**
 * The fields of a message that the engine wraps as `{"id":N,` + fields + `,"ts":T` + cid field + `}`:
 * serialized here once, at the send.
 */
export function storedMessageParts(room: string, draft: MessageDraft): { fields: string; cidField: string } {
  return {
    fields: JSON.stringify(
      draft.uid === undefined ? { room, user: draft.user, text: draft.text } : { room, user: draft.user, uid: draft.uid, text: draft.text },
    ).slice(1, -1),
    cidField: draft.cid === undefined ? '' : `,"cid":${JSON.stringify(draft.cid)}`,
  };
}

/** Reads the id of a stored message from its canonical JSON without parsing it all. */
export function idOf(json: string): number {
  // Engines always write `{"id":N,` first.
  return parseInt(json.slice(6), 10);
}

/** JSON array of stored messages, by concatenation: they are JSON already. */
export function messagesJson(messages: readonly StoredMessage[]): string {
  let out = '[';
  for (let i = 0; i < messages.length; i++) {
    if (i > 0) out += ',';
    out += messages[i]!.json;
  }
  return out + ']';
}

function missedField(slice: HistorySlice): string {
  return slice.gap && slice.missed !== null ? `,"missed":${slice.missed}` : '';
}

// ---- WebSocket frames -----------------------------------------------------------------------

/** `,"me":{"name","uid"?,"write","mod"}`, or nothing. */
function meField(me: Me | undefined): string {
  if (!me) return '';
  const fields = me.uid === undefined ? { name: me.name, write: me.write, mod: me.mod } : { name: me.name, uid: me.uid, write: me.write, mod: me.mod };
  return `,"me":${JSON.stringify(fields)}`;
}

/** `{"type":"history","room","epoch","messages","gap"[,"missed"][,"me"]}`: the first frame, always. */
export function historyFrame(slice: HistorySlice, me?: Me): string {
  return (
    `{"type":"history","room":${JSON.stringify(slice.room)},"epoch":${JSON.stringify(slice.epoch)},` +
    `"messages":${messagesJson(slice.messages)},"gap":${slice.gap}${missedField(slice)}${meField(me)}}`
  );
}

/**
 * `{"type":"message","epoch":E,…message}` from a stored message's JSON. The epoch rides along so a
 * client that joined a room while it was empty (epoch "") learns the one its first message
 * created, and can tell a later reset from moving on.
 */
export function messageFrame(json: string, epoch: string): string {
  return `{"type":"message","epoch":${JSON.stringify(epoch)},${json.slice(1)}`;
}

/** `{"type":"ack","cid","id"}`: a send with a cid was stored (now or before). */
export function ackFrame(cid: string, id: number): string {
  return `{"type":"ack","cid":${JSON.stringify(cid)},"id":${id}}`;
}

/** `{"type":"error","code","message"[,"cid"]}`: a bad send or join; the connection may stay. */
export function errorFrame(code: string, message: string, cid?: string): string {
  const frame: Record<string, string> = { type: 'error', code, message };
  if (cid !== undefined) frame.cid = cid;
  return JSON.stringify(frame);
}

/**
 * A presence frame around its total, which only the engine knows (it sums every process):
 * `prefix + online + suffix` is `{"type":"presence","room","online"[,"joined"|"left"]}`.
 */
export function presenceFrameParts(room: string, change: PresenceChange): { prefix: string; suffix: string } {
  const prefix = `{"type":"presence","room":${JSON.stringify(room)},"online":`;
  if (change && 'joined' in change) return { prefix, suffix: `,"joined":${JSON.stringify(change.joined)}}` };
  if (change && 'left' in change) return { prefix, suffix: `,"left":${JSON.stringify(change.left)}}` };
  return { prefix, suffix: '}' };
}

// ---- HTTP answers ---------------------------------------------------------------------------

/** Short and long polling: `{"room","epoch","messages","last","gap"[,"missed"]}`; `limit` keeps the newest N. */
export function pollAnswer(slice: HistorySlice, limit?: number): string {
  const messages = limit !== undefined && slice.messages.length > limit ? slice.messages.slice(-limit) : slice.messages;
  return pollBody(slice.room, slice.epoch, messages, slice.last, slice.gap, missedField(slice));
}

/** A long poll woken by one live message. */
export function pollAnswerForMessage(room: string, epoch: string, message: StoredMessage): string {
  return pollBody(room, epoch, [message], message.id, false, '');
}

function pollBody(
  room: string,
  epoch: string,
  messages: readonly StoredMessage[],
  last: number,
  gap: boolean,
  missed: string,
): string {
  return (
    `{"room":${JSON.stringify(room)},"epoch":${JSON.stringify(epoch)},"messages":${messagesJson(messages)},` +
    `"last":${last},"gap":${gap}${missed}}`
  );
}

/** `POST …/messages`: `{"message":{…}}`. */
export function sentAnswer(message: StoredMessage): string {
  return `{"message":${message.json}}`;
}

/** Every HTTP error: `{"error":{"code","message"}}`. */
export function errorBody(code: string, message: string): string {
  return JSON.stringify({ error: { code, message } });
}

// ---- Server-Sent Events ---------------------------------------------------------------------

/** The first bytes of every stream: how long an EventSource waits before it reconnects. */
export function sseRetry(ms: number): string {
  return `retry: ${ms}\n\n`;
}

/** The heartbeat comment. */
export const SSE_PING = ': ping\n\n';

/** A message as an SSE event; its id is the cursor `EPOCH:ID` that Last-Event-ID brings back. */
export function sseMessageEvent(epoch: string, id: number, json: string): string {
  return `id: ${epoch}:${id}\nevent: message\ndata: ${json}\n\n`;
}

/** A presence frame as an SSE event. */
export function ssePresenceEvent(frame: string): string {
  return `event: presence\ndata: ${frame}\n\n`;
}

/**
 * What a stream sends when it (re)connects: `event: gap` when it cannot resume, the replay,
 * then `event: ready` with the cursor as its id (and `me`), so a reconnect resumes from here
 * even when there was nothing to replay.
 */
export function sseHistory(slice: HistorySlice, me?: Me): string {
  let out = '';
  if (slice.gap) {
    out += `event: gap\ndata: {"missed":${slice.missed ?? 'null'},"epoch":${JSON.stringify(slice.epoch)}}\n\n`;
  }
  for (const m of slice.messages) out += sseMessageEvent(slice.epoch, m.id, m.json);
  // Always last, never instead of the gap: a stream whose room was reset and is empty must still
  // hear of the reset, or it drops the new messages until their ids pass its old cursor.
  return out + `id: ${slice.epoch}:${slice.last}\nevent: ready\ndata: {"epoch":${JSON.stringify(slice.epoch)},"last":${slice.last}${meField(me)}}\n\n`;
}

/** A kick: `event: kicked` with `{"code":"kicked","message"}`; the stream ends after it. */
export function sseKicked(message: string): string {
  return `event: kicked\ndata: ${JSON.stringify({ code: 'kicked', message })}\n\n`;
}

/** A stream that cannot be served now: `event: error` with `{"code","message"}`; it ends after it. */
export function sseError(code: string, message: string): string {
  return `event: error\ndata: ${JSON.stringify({ code, message })}\n\n`;
}
