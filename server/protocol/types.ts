/**
 * The shapes every layer shares (PROTOCOL.md "Message" and "The cursor"). Types only: the
 * validators are in `validate.ts` and the wire spelling in `wire.ts`.
 */

/** A stored chat message, as it travels on every transport. */
export interface Message {
  id: number;
  room: string;
  user: string;
  uid?: string;
  text: string;
  ts: number;
  cid?: string;
}

/**
 * A message as stored: its id and its canonical JSON, serialized exactly once (by the engine)
 * and reused on every transport, so fan-out never serializes per member.
 */
export interface StoredMessage {
  readonly id: number;
  readonly json: string;
}

/** What a client asks to store, after validation. */
export interface MessageDraft {
  user: string;
  /** The sender's stable id when a token (or the backend) vouched for them. */
  uid?: string;
  text: string;
  /** Remembered per room, and per uid when there is one: one user's cid never answers for another's. */
  cid?: string;
}

/** A client's catch-up cursor. */
export interface Cursor {
  since?: number;
  epoch?: string;
}

/** What a cursor gets back: the messages after it, oldest first, or a gap. */
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

/** A presence change, for the presence frame; undefined for a count-only frame. */
export type PresenceChange = { joined: string } | { left: string } | undefined;

/** Who a connection is, as the `history` frame and SSE's `ready` tell it (`uid` absent for anonymous). */
export interface Me {
  readonly name: string;
  readonly uid?: string;
  readonly write: boolean;
  readonly mod: boolean;
}
