import type {
  EventSourceLike,
  FetchInit,
  FetchLike,
  ResponseLike,
  SseEventLike,
  WebSocketLike,
} from '../../../client/environment';
import type { TransportContext } from '../../../client/transports/transport';

/** A WebSocket double: records how it was made and what was sent; the test plays the server. */
export class FakeWebSocket implements WebSocketLike {
  static made: FakeWebSocket[] = [];
  readyState = 0;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  readonly sent: string[] = [];
  closedWith: number | undefined;

  constructor(
    readonly url: string,
    readonly protocols: string[],
    readonly options?: { headers?: Record<string, string> },
  ) {
    FakeWebSocket.made.push(this);
  }

  static get last(): FakeWebSocket {
    const last = FakeWebSocket.made[FakeWebSocket.made.length - 1];
    if (!last) throw new Error('no WebSocket was made');
    return last;
  }

  send(data: string): void {
    this.sent.push(data);
  }

  close(code?: number): void {
    this.closedWith = code ?? 1005;
    this.readyState = 3;
  }

  /** The server accepts the connection. */
  accept(): void {
    this.readyState = 1;
    this.onopen?.({});
  }

  /** The server sends a frame (an object is sent as JSON). */
  frame(data: object | string): void {
    this.onmessage?.({ data: typeof data === 'string' ? data : JSON.stringify(data) });
  }

  /** The connection ends with `code`. */
  end(code: number, reason = ''): void {
    this.readyState = 3;
    this.onerror?.({});
    this.onclose?.({ code, reason });
  }
}

/** An EventSource double: the test dispatches server events and connection errors. */
export class FakeEventSource implements EventSourceLike {
  static made: FakeEventSource[] = [];
  readyState = 0;
  closed = false;
  private readonly listeners = new Map<string, Array<(event: SseEventLike) => void>>();

  constructor(readonly url: string) {
    FakeEventSource.made.push(this);
  }

  static get last(): FakeEventSource {
    const last = FakeEventSource.made[FakeEventSource.made.length - 1];
    if (!last) throw new Error('no EventSource was made');
    return last;
  }

  addEventListener(type: string, listener: (event: SseEventLike) => void): void {
    const list = this.listeners.get(type) ?? [];
    list.push(listener);
    this.listeners.set(type, list);
  }

  close(): void {
    this.closed = true;
    this.readyState = 2;
  }

  /** The server sends `event: TYPE`, `data: JSON`[, `id: ID`]. */
  event(type: string, data: object, id?: string): void {
    this.dispatch(type, { data: JSON.stringify(data), lastEventId: id ?? '' });
  }

  /** The connection fails or ends (`code`: the HTTP status, as the `eventsource` package reports it). */
  fail(code?: number): void {
    this.dispatch('error', code === undefined ? {} : { code });
  }

  private dispatch(type: string, event: SseEventLike): void {
    for (const listener of this.listeners.get(type) ?? []) listener(event);
  }
}

/** One request the fake fetch was given. */
export interface FetchCall {
  readonly url: string;
  readonly init: FetchInit;
  /** Answers it with `status` and a JSON body. */
  answer(status: number, body: unknown): void;
  /** Fails it like a network error. */
  failNetwork(): void;
}

/** A fetch double: every call waits until the test answers it; aborting rejects it. */
export function fakeFetch(): { fetch: FetchLike; calls: FetchCall[]; pending(): FetchCall[] } {
  const calls: FetchCall[] = [];
  const open = new Set<FetchCall>();
  const fetch: FetchLike = (url, init) =>
    new Promise<ResponseLike>((resolve, reject) => {
      const call: FetchCall = {
        url,
        init,
        answer(status, body) {
          open.delete(call);
          const text = JSON.stringify(body);
          resolve({ status, ok: status >= 200 && status < 300, text: async () => text });
        },
        failNetwork() {
          open.delete(call);
          reject(new TypeError('fetch failed'));
        },
      };
      calls.push(call);
      open.add(call);
      init.signal?.addEventListener('abort', () => {
        open.delete(call);
        reject(Object.assign(new Error('aborted'), { name: 'AbortError' }));
      });
    });
  return { fetch, calls, pending: () => [...open] };
}

/** A transport context for tests, with what they override. */
export function testContext(extra: Partial<TransportContext> = {}): TransportContext {
  return {
    baseUrl: 'http://chat.test/',
    room: 'lobby',
    name: () => 'alice',
    token: undefined,
    WebSocket: FakeWebSocket,
    EventSource: FakeEventSource,
    fetch: fakeFetch().fetch,
    pollIntervalMs: 2000,
    longPollTimeoutSec: 25,
    ...extra,
  };
}
