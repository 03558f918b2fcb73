import type { CursorPosition } from './cursor';
import {
  globalImplementations,
  pageOrigin,
  type EventSourceConstructorLike,
  type FetchLike,
  type WebSocketConstructorLike,
} from './environment';
import type { OutboxStore } from './outbox';
import { canRun, createTransport } from './transports';
import { TRANSPORT_NAMES, type TransportFactory, type TransportName } from './transports/transport';

/**
 * Options of `new ChatClient(options)`. Only `room` is required (and `url` outside a browser).
 *
 * @example
 * const options: ChatClientOptions = { url: 'http://127.0.0.1:3000', room: 'lobby', name: 'alice', WebSocket, EventSource };
 */
export interface ChatClientOptions {
  /** The server's base URL (`http(s)://host:port`, a path prefix allowed). Default: the page's origin. */
  readonly url?: string;
  /** The room: 1–64 letters, marks, digits, `_` or `-` (normalized to NFC). */
  readonly room: string;
  /** The anonymous name (ignored by the server when a token is given). Default: the server picks `guest-xxxx`. */
  readonly name?: string;
  /** A token (JWT from your backend). */
  readonly token?: string;
  /** Asked for a token before every connection, reconnects included (instead of `token`). */
  readonly getToken?: () => Promise<string>;
  /** Transports in order of preference. Default: `['ws', 'sse', 'longpoll', 'poll']`. */
  readonly transports?: readonly TransportName[];
  /** A WebSocket implementation (`ws` in Node). Default: `globalThis.WebSocket`. */
  readonly WebSocket?: WebSocketConstructorLike;
  /** An EventSource implementation (`eventsource` in Node). Default: `globalThis.EventSource`. */
  readonly EventSource?: EventSourceConstructorLike;
  /** A fetch implementation. Default: `globalThis.fetch`. */
  readonly fetch?: FetchLike;
  /** Where to resume from (a cursor saved earlier). Default: a first join, which gets the retained history. */
  readonly cursor?: Partial<CursorPosition>;
  /** Keeps unsent messages across a page reload (e.g. in sessionStorage). Default: memory only. */
  readonly outbox?: OutboxStore;
  /** The ceiling of the first reconnect delay, doubling per attempt. Default: 1000. */
  readonly reconnectBaseMs?: number;
  /** The largest reconnect delay ceiling. Default: 15000. */
  readonly reconnectMaxMs?: number;
  /** How long a connection may take to bring its history before it is given up. Default: 20000. */
  readonly connectTimeoutMs?: number;
  /** Short polling's interval. Default: 2000. */
  readonly pollIntervalMs?: number;
  /** How long the server may hold a long poll. Default: 25. */
  readonly longPollTimeoutSec?: number;
  /** Makes transports; override to bring your own (tests pass a fake). Default: the built-in four. */
  readonly createTransport?: TransportFactory;
}

/** Every default in one place (ws style). */
export const DEFAULTS = {
  transports: TRANSPORT_NAMES,
  reconnectBaseMs: 1000,
  reconnectMaxMs: 15_000,
  connectTimeoutMs: 20_000,
  pollIntervalMs: 2000,
  longPollTimeoutSec: 25,
} as const;

/**
 * The token for the next request or connection: `token` as given, or a fresh one from
 * `getToken()`, which must give a non-empty string (else this rejects: a connection then reports
 * `token_unavailable`). One rule for the connection and the backend-API calls.
 */
export async function tokenFor(options: Pick<ResolvedOptions, 'token' | 'getToken'>): Promise<string | undefined> {
  if (!options.getToken) return options.token;
  const token = await options.getToken();
  if (typeof token !== 'string' || token === '') throw new Error('it gave no token');
  return token;
}

/** Options with every default applied and every value checked. */
export interface ResolvedOptions {
  readonly baseUrl: string;
  readonly room: string;
  readonly name: string;
  readonly token: string | undefined;
  readonly getToken: (() => Promise<string>) | undefined;
  readonly transports: readonly TransportName[];
  readonly WebSocket: WebSocketConstructorLike | undefined;
  readonly EventSource: EventSourceConstructorLike | undefined;
  readonly fetch: FetchLike | undefined;
  readonly cursor: Partial<CursorPosition>;
  readonly outbox: OutboxStore | undefined;
  readonly reconnectBaseMs: number;
  readonly reconnectMaxMs: number;
  readonly connectTimeoutMs: number;
  readonly pollIntervalMs: number;
  readonly longPollTimeoutSec: number;
  readonly createTransport: TransportFactory;
}

const ROOM_PATTERN = /^[\p{L}\p{M}\p{N}_-]{1,64}$/u;
/** The longest name the server takes, in characters (PROTOCOL.md "Names"). */
export const MAX_NAME_LENGTH = 32;
// Controls, bidirectional controls and zero-width characters: the server refuses names holding them.
const NAME_FORBIDDEN = /[\p{Cc}\u200B-\u200F\u202A-\u202E\u2066-\u2069\uFEFF]/u;

/** Checks `options` and applies the defaults; throws a TypeError written as a sentence. */
export function resolveOptions(options: ChatClientOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw new TypeError('ChatClient needs an options object.');
  const room = typeof options.room === 'string' ? options.room.normalize('NFC') : '';
  if (!ROOM_PATTERN.test(room)) {
    throw new TypeError('The room must be 1 to 64 letters, digits, "_" or "-" (for example "lobby" or "dev-chat").');
  }
  if (options.token !== undefined && options.getToken !== undefined) {
    throw new TypeError('Give either token or getToken, not both.');
  }
  if (options.token !== undefined && (typeof options.token !== 'string' || options.token === '')) {
    throw new TypeError('The token must be a non-empty string.');
  }
  if (options.getToken !== undefined && typeof options.getToken !== 'function') {
    throw new TypeError('getToken must be a function that returns a promise of a token.');
  }
  const transports = options.transports ?? DEFAULTS.transports;
  if (!Array.isArray(transports) || transports.length === 0) {
    throw new TypeError(`transports must list at least one of ${TRANSPORT_NAMES.join(', ')}.`);
  }
  for (const name of transports) {
    if (!TRANSPORT_NAMES.includes(name)) {
      throw new TypeError(`Unknown transport ${JSON.stringify(name)}: use ${TRANSPORT_NAMES.join(', ')}.`);
    }
  }
  if (new Set(transports).size !== transports.length) throw new TypeError('transports must not name one twice.');
  const cursor = options.cursor ?? {};
  if (cursor.since !== undefined && !(Number.isSafeInteger(cursor.since) && cursor.since >= 0)) {
    throw new TypeError('cursor.since must be the id of the last message seen (an integer from 0).');
  }
  if (cursor.epoch !== undefined && !(typeof cursor.epoch === 'string' && /^[A-Za-z0-9_-]{0,64}$/.test(cursor.epoch))) {
    throw new TypeError('cursor.epoch must be the epoch the server sent (letters, digits, "_" or "-"), or "".');
  }
  const longPollTimeoutSec = positive(options, 'longPollTimeoutSec');
  if (!Number.isInteger(longPollTimeoutSec) || longPollTimeoutSec > 60) {
    throw new TypeError('longPollTimeoutSec must be an integer from 1 to 60 (the server holds a poll at most 60 s).');
  }
  const globals = globalImplementations();
  const found = {
    WebSocket: options.WebSocket ?? globals.WebSocket,
    EventSource: options.EventSource ?? globals.EventSource,
    fetch: options.fetch ?? globals.fetch,
  };
  // A transport of our own cannot run without its implementation; custom factories decide for themselves.
  const runnable = options.createTransport ? [...transports] : transports.filter((name) => canRun(name, found));
  if (runnable.length === 0) {
    throw new TypeError(
      `None of the transports ${transports.join(', ')} can run here: pass WebSocket (from "ws" in Node), EventSource (from "eventsource") or fetch in the options.`,
    );
  }
  return {
    baseUrl: resolveBaseUrl(options.url),
    room,
    name: options.name === undefined ? '' : checkName(options.name),
    token: options.token,
    getToken: options.getToken,
    transports: runnable,
    ...found,
    cursor,
    outbox: options.outbox,
    reconnectBaseMs: positive(options, 'reconnectBaseMs'),
    reconnectMaxMs: positive(options, 'reconnectMaxMs'),
    connectTimeoutMs: positive(options, 'connectTimeoutMs'),
    pollIntervalMs: positive(options, 'pollIntervalMs'),
    longPollTimeoutSec,
    createTransport: options.createTransport ?? createTransport,
  };
}

/**
 * Returns the trimmed name, `''` for a blank one (the server then picks `guest-xxxx`); throws a
 * TypeError for one the server would refuse.
 */
export function checkName(name: string): string {
  if (typeof name !== 'string') throw new TypeError('The name must be a string.');
  if (NAME_FORBIDDEN.test(name)) {
    throw new TypeError('The name must not contain control, bidirectional or zero-width characters.');
  }
  const trimmed = name.normalize('NFC').trim();
  if ([...trimmed].length > MAX_NAME_LENGTH) throw new TypeError(`A name is at most ${MAX_NAME_LENGTH} characters.`);
  return trimmed;
}

function resolveBaseUrl(url: string | undefined): string {
  const raw = url ?? pageOrigin();
  if (raw === undefined) throw new TypeError('Give the server\'s url (for example "http://127.0.0.1:3000"): there is no page origin to default to.');
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new TypeError(`The url ${JSON.stringify(raw)} is not a valid URL (for example "http://127.0.0.1:3000").`);
  }
  if (parsed.protocol === 'ws:') parsed.protocol = 'http:';
  if (parsed.protocol === 'wss:') parsed.protocol = 'https:';
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new TypeError(`The url must start with http:, https:, ws: or wss:, not ${parsed.protocol}.`);
  }
  parsed.search = '';
  parsed.hash = '';
  if (!parsed.pathname.endsWith('/')) parsed.pathname += '/';
  return parsed.toString();
}

type NumberOption = 'reconnectBaseMs' | 'reconnectMaxMs' | 'connectTimeoutMs' | 'pollIntervalMs' | 'longPollTimeoutSec';

function positive(options: ChatClientOptions, key: NumberOption): number {
  const value = options[key] ?? DEFAULTS[key];
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new TypeError(`${key} must be a positive number.`);
  }
  return value;
}
