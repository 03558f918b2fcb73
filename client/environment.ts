/**
 * The little of WebSocket, EventSource and fetch the client uses, as structural types: the
 * project compiles without the DOM library, and any implementation that fits can be passed in
 * (the browser's own, `ws` and `eventsource` in Node, or a test double).
 */

// A handler slot compared like a method (bivariantly), so `ws` and DOM event types both fit.
type Handler<E> = { bivarianceHack(event: E): void }['bivarianceHack'];

/** What the client uses of a WebSocket. */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: Handler<unknown> | null;
  onmessage: Handler<{ readonly data: unknown }> | null;
  onclose: Handler<{ readonly code: number; readonly reason: string }> | null;
  onerror: Handler<unknown> | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

/**
 * A WebSocket constructor: the browser's, or `ws` in Node (which also takes the third argument
 * and sends its headers; a browser ignores it).
 */
export interface WebSocketConstructorLike {
  new (url: string, protocols: string[], options?: { headers?: Record<string, string> }): WebSocketLike;
}

/** An event an EventSource dispatches: a server event (`data`, `lastEventId`) or a connection error. */
export interface SseEventLike {
  readonly data?: unknown;
  readonly lastEventId?: string;
  /** The HTTP status of a refused connection (the `eventsource` package sets it; browsers do not). */
  readonly code?: number;
}

/** What the client uses of an EventSource. */
export interface EventSourceLike {
  readonly readyState: number;
  addEventListener(type: string, listener: Handler<SseEventLike>): void;
  close(): void;
}

/** An EventSource constructor: the browser's, or `EventSource` from the `eventsource` package in Node. */
export interface EventSourceConstructorLike {
  new (url: string): EventSourceLike;
}

/** The options the client passes to fetch. */
export interface FetchInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
  cache?: 'no-store';
}

/** What the client reads of a fetch Response. */
export interface ResponseLike {
  readonly status: number;
  readonly ok: boolean;
  text(): Promise<string>;
}

/** A fetch function: the global one by default. */
export type FetchLike = (url: string, init: FetchInit) => Promise<ResponseLike>;

type Globals = {
  WebSocket?: WebSocketConstructorLike;
  EventSource?: EventSourceConstructorLike;
  fetch?: FetchLike;
  location?: { origin?: string };
  navigator?: { onLine?: boolean };
  addEventListener?: (type: string, listener: () => void) => void;
  removeEventListener?: (type: string, listener: () => void) => void;
};

const globals = globalThis as unknown as Globals;

/** The implementations found on `globalThis` (a browser has all three; Node 20 only fetch). */
export function globalImplementations(): {
  WebSocket?: WebSocketConstructorLike;
  EventSource?: EventSourceConstructorLike;
  fetch?: FetchLike;
} {
  return {
    WebSocket: globals.WebSocket,
    EventSource: globals.EventSource,
    // A browser's fetch throws "Illegal invocation" when called without its global as `this`.
    fetch: typeof globals.fetch === 'function' ? globals.fetch.bind(globalThis) : undefined,
  };
}

/** The page's own origin, in a browser. */
export function pageOrigin(): string | undefined {
  const origin = globals.location?.origin;
  return typeof origin === 'string' && origin !== 'null' ? origin : undefined;
}

/** False only when the browser says it is offline; Node has no such notion and is always online. */
export function isOnline(): boolean {
  return globals.navigator?.onLine !== false;
}

/**
 * Calls `onChange` when the browser goes online or offline; returns a function that stops.
 * Does nothing where there is no such event (Node).
 */
export function watchNetwork(onChange: (online: boolean) => void): () => void {
  const add = globals.addEventListener;
  const remove = globals.removeEventListener;
  if (typeof add !== 'function' || typeof remove !== 'function') return () => {};
  const online = () => onChange(true);
  const offline = () => onChange(false);
  add.call(globalThis, 'online', online);
  add.call(globalThis, 'offline', offline);
  return () => {
    remove.call(globalThis, 'online', online);
    remove.call(globalThis, 'offline', offline);
  };
}
