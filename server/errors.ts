/** The error codes of PROTOCOL.md, plus the HTTP-only ones. */
export type ErrorCode =
  | 'bad_request'
  | 'too_long'
  | 'rate_limited'
  | 'too_many_connections'
  | 'unavailable'
  | 'not_found'
  | 'unauthorized'
  | 'forbidden'
  | 'banned'
  | 'kicked'
  | 'internal';

const STATUS: Record<ErrorCode, number> = {
  bad_request: 400,
  too_long: 413,
  rate_limited: 429,
  too_many_connections: 429,
  unavailable: 503,
  not_found: 404,
  unauthorized: 401,
  forbidden: 403,
  banned: 403,
  kicked: 403,
  internal: 500,
};

/**
 * An error a client can act on: a protocol code, an HTTP status and a sentence.
 * `expose` (default true) says whether the message may be shown to the client (Koa's `err.expose`).
 *
 * @example
 * throw new ChatError('too_long', 'A message is at most 2000 characters.');
 */
export class ChatError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly expose: boolean;

  constructor(code: ErrorCode, message: string, options: { expose?: boolean; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'ChatError';
    this.code = code;
    this.status = STATUS[code];
    this.expose = options.expose ?? code !== 'internal';
  }
}

/** Thrown by `writeMessage()` on a socket that is closed or closing (Tornado's WebSocketClosedError). */
export class WebSocketClosedError extends Error {
  constructor() {
    super('The WebSocket is closed.');
    this.name = 'WebSocketClosedError';
  }
}

/** A moderator's ban holds for this visitor in this room (joins and sends, every transport). */
export function banned(): ChatError {
  return new ChatError('banned', 'A moderator banned you from this room for now.');
}

/** Wraps a Redis failure as the protocol's `unavailable`. */
export function unavailable(cause: unknown, what = 'The history store is unavailable'): ChatError {
  return new ChatError('unavailable', `${what}; try again shortly.`, { cause });
}
