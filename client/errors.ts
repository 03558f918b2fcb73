/**
 * Error codes: the server's (PROTOCOL.md) and the client's own (`disconnected`, `closed`,
 * `token_unavailable`, `unsupported`). Other strings may come from newer servers.
 */
export type ErrorCode =
  | 'bad_request'
  | 'too_long'
  | 'rate_limited'
  | 'unavailable'
  | 'unauthorized'
  | 'forbidden'
  | 'banned'
  | 'kicked'
  | 'not_found'
  | 'too_many_connections'
  | 'internal'
  | 'disconnected'
  | 'closed'
  | 'token_unavailable'
  // Any other code a newer server sends; keeps the names above for completion in editors.
  | (string & {});

/**
 * What the `error` event carries: a code to act on, a sentence to show, and the `cid` of the
 * send it is about, when it is about one.
 *
 * @example
 * chat.on('error', (e) => console.warn(`${e.code}: ${e.message}`));
 */
export interface ChatErrorInfo {
  readonly code: ErrorCode;
  readonly message: string;
  readonly cid?: string;
}

/**
 * The error a `send()` promise rejects with: `code` says why (`too_long`, `rate_limited`,
 * `bad_request`, `forbidden`, or `closed` when the client was closed first).
 *
 * @example
 * try {
 *   await chat.send(text);
 * } catch (err) {
 *   if (err instanceof ChatClientError && err.code === 'rate_limited') showSlowDown();
 * }
 */
export class ChatClientError extends Error implements ChatErrorInfo {
  readonly code: ErrorCode;
  readonly cid?: string;

  constructor(code: ErrorCode, message: string, cid?: string) {
    super(message);
    this.name = 'ChatClientError';
    this.code = code;
    if (cid !== undefined) this.cid = cid;
  }
}

/** Codes after which a send may not have been stored: it stays in the outbox and is resent with its cid. */
const RESEND = new Set<ErrorCode>(['unavailable', 'disconnected', 'internal']);

/** True when a send that failed with `code` is resent (same cid) rather than rejected. */
export function isResendable(code: ErrorCode): boolean {
  return RESEND.has(code);
}

/** Codes that refuse the connection itself: retrying the same way cannot help. */
const REFUSALS = new Set<ErrorCode>(['unauthorized', 'forbidden', 'banned', 'kicked', 'bad_request']);

/**
 * True when a connection that ended with `code` must not be retried. An `unauthorized` after
 * the connection was open (a token that expired) is retried once when a fresh token can be
 * asked for.
 */
export function isRefusal(code: ErrorCode | undefined, opened: boolean, canRenewToken: boolean): boolean {
  if (code === undefined || !REFUSALS.has(code)) return false;
  return !(code === 'unauthorized' && opened && canRenewToken);
}

/** Send-level codes that also end the client: the user may no longer write here at all. */
export function endsClient(code: ErrorCode): boolean {
  return code === 'banned' || code === 'unauthorized';
}

/** The protocol code an HTTP status stands for when the answer carries none. */
export function codeForStatus(status: number): ErrorCode {
  switch (status) {
    case 400:
      return 'bad_request';
    case 401:
      return 'unauthorized';
    case 403:
      return 'forbidden';
    case 404:
      return 'not_found';
    case 413:
      return 'too_long';
    case 429:
      return 'rate_limited';
    case 503:
      return 'unavailable';
    default:
      // Anything else (a proxy's 502, a 408…) is worth another try later.
      return status === 500 ? 'internal' : 'unavailable';
  }
}
