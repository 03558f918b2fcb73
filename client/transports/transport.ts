import type { CursorQuery } from '../cursor';
import type { EventSourceConstructorLike, FetchLike, WebSocketConstructorLike } from '../environment';
import type { ChatErrorInfo, ErrorCode } from '../errors';
import type { HistoryAnswer, PresenceEvent, StoredEvent, TextMessage } from '../wire';

/** The transports, by the names PROTOCOL.md gives them. */
export type TransportName = 'ws' | 'sse' | 'longpoll' | 'poll';

/** Every transport, in the default order of preference. */
export const TRANSPORT_NAMES: readonly TransportName[] = ['ws', 'sse', 'longpoll', 'poll'];

/** A message to store: its text and the client's id for it. */
export interface MessageDraft {
  readonly text: string;
  readonly cid: string;
}

/** How a send went: the stored id, and the stored message when the answer carries it (HTTP). */
export interface SendOutcome {
  readonly id: number;
  readonly message?: TextMessage;
}

/** Why a connection ended. */
export interface CloseInfo {
  /** True when the connection had delivered its history. */
  readonly opened: boolean;
  /** The protocol's reason, when the server gave one (`unauthorized`, `forbidden`, `unavailable`…). */
  readonly code?: ErrorCode;
}

/** What a transport reports to the client. Nothing is reported after `close()` was called. */
export interface TransportEvents {
  /**
   * Invoked with the first history answer of a connection (the connection is then open), and
   * again when the server resynchronizes it (a gap opened while it was connected).
   */
  history(answer: HistoryAnswer): void;
  /** Invoked for each live event, in id order; `epoch` when the transport's wire carries it. */
  message(message: StoredEvent, epoch?: string): void;
  /** Invoked for each presence change. */
  presence(presence: PresenceEvent): void;
  /** Invoked for each error the server reports that is not the answer to a send. */
  error(error: ChatErrorInfo): void;
  /** Invoked once when the connection ends without `close()` having been called. */
  close(info: CloseInfo): void;
}

/** Reads the client's cursor at the moment a request is made. */
export interface CursorReader {
  query(): CursorQuery;
}

/**
 * One connection to a room over one transport (engine.io-client's shape): `connect` once,
 * `send` any number of times, `close` once. Sends reject with a `ChatClientError`
 * (`disconnected` when the connection went away before an answer).
 */
export interface Transport {
  readonly name: TransportName;
  /** True when the user's name travels with the connection (a new name needs a new connection). */
  readonly carriesName: boolean;
  connect(cursor: CursorReader, events: TransportEvents): void;
  send(draft: MessageDraft): Promise<SendOutcome>;
  close(): void;
}

/** What a transport is made from: where to connect, as whom, and with what. */
export interface TransportContext {
  /** The server's base URL, `http:` or `https:`, ending in `/`. */
  readonly baseUrl: string;
  readonly room: string;
  /** The anonymous name at the moment it is needed (`''`: let the server pick one). */
  readonly name: () => string;
  /** The token for this connection, if any. */
  readonly token: string | undefined;
  readonly WebSocket: WebSocketConstructorLike | undefined;
  readonly EventSource: EventSourceConstructorLike | undefined;
  readonly fetch: FetchLike | undefined;
  readonly pollIntervalMs: number;
  readonly longPollTimeoutSec: number;
}

/**
 * Makes the transport `name` for one connection, or returns undefined when it cannot run here
 * (no WebSocket implementation, say). Override to plug in transports of your own; tests use it
 * to pass a fake one.
 */
export type TransportFactory = (name: TransportName, context: TransportContext) => Transport | undefined;
