import type { WebSocketLike } from '../environment';
import { ChatClientError, type ErrorCode } from '../errors';
import { readServerFrame } from '../wire';
import { disconnected } from './http';
import type { CursorReader, MessageDraft, SendOutcome, Transport, TransportContext, TransportEvents } from './transport';

const OPEN = 1;

/** Close codes that are the server's answer to who we are or where we asked to go (PROTOCOL.md). */
const CLOSE_CODES: Record<number, ErrorCode> = {
  1008: 'bad_request',
  4001: 'unauthorized',
  4003: 'forbidden',
  4004: 'kicked',
};

interface WaitingAck {
  readonly size: number;
  resolve(outcome: SendOutcome): void;
  reject(error: ChatClientError): void;
}

/**
 * WebSocket (`/ws/:room?name&since&epoch`): the history frame opens the connection; sends are
 * `{"type":"message","text","cid"}` frames answered by an ack or an error frame with the cid.
 * A token travels as the subprotocol `bearer.TOKEN` beside `chat` (and, for `ws` in Node, as an
 * `Authorization` header too).
 */
export class WebSocketTransport implements Transport {
  readonly name = 'ws';
  readonly carriesName = true;
  private socket: WebSocketLike | undefined;
  private events: TransportEvents | undefined;
  private opened = false;
  private closed = false;
  /** The last error frame without a cid: the reason for the close that follows it. */
  private lastError: { code: ErrorCode; message: string } | undefined;
  private readonly acks = new Map<string, WaitingAck>();

  constructor(private readonly context: TransportContext) {}

  connect(cursor: CursorReader, events: TransportEvents): void {
    const { WebSocket, token } = this.context;
    this.events = events;
    const url = new URL(`ws/${encodeURIComponent(this.context.room)}`, this.context.baseUrl);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const { since, epoch } = cursor.query();
    const name = this.context.name();
    if (name !== '') url.searchParams.set('name', name);
    if (since !== undefined) url.searchParams.set('since', String(since));
    if (epoch !== undefined) url.searchParams.set('epoch', epoch);
    const protocols = token === undefined ? ['chat'] : ['chat', `bearer.${token}`];
    const options = token === undefined ? undefined : { headers: { Authorization: `Bearer ${token}` } };
    let socket: WebSocketLike;
    try {
      if (!WebSocket) throw new TypeError('No WebSocket implementation.');
      socket = new WebSocket(url.toString(), protocols, options);
    } catch {
      queueMicrotask(() => this.ended(1006, ''));
      return;
    }
    this.socket = socket;
    socket.onmessage = (event) => this.onFrame(event.data);
    socket.onclose = (event) => this.ended(event.code, event.reason);
    // A close always follows an error; the close says what happened.
    socket.onerror = () => {};
  }

  send(draft: MessageDraft): Promise<SendOutcome> {
    const socket = this.socket;
    if (!socket || socket.readyState !== OPEN || this.closed) return Promise.reject(disconnected(draft.cid));
    const frame = JSON.stringify({ type: 'message', text: draft.text, cid: draft.cid });
    return new Promise<SendOutcome>((resolve, reject) => {
      this.acks.get(draft.cid)?.reject(disconnected(draft.cid));
      this.acks.set(draft.cid, { size: frame.length, resolve, reject });
      socket.send(frame);
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.rejectAcks();
    const socket = this.socket;
    this.socket = undefined;
    if (!socket) return;
    socket.onmessage = null;
    socket.onclose = null;
    socket.close(1000);
  }

  private onFrame(data: unknown): void {
    const frame = readServerFrame(data);
    const events = this.events;
    if (!frame || !events || this.closed) return;
    switch (frame.type) {
      case 'history':
        this.opened = true;
        events.history(frame);
        return;
      case 'message':
        events.message(frame.message, frame.epoch);
        return;
      case 'presence':
        events.presence(frame.presence);
        return;
      case 'ack':
        this.settle(frame.cid)?.resolve({ id: frame.id });
        return;
      case 'error': {
        const waiting = frame.cid === undefined ? undefined : this.settle(frame.cid);
        if (waiting) {
          waiting.reject(new ChatClientError(frame.code, frame.message, frame.cid));
          return;
        }
        this.lastError = { code: frame.code, message: frame.message };
        events.error({ code: frame.code, message: frame.message });
      }
    }
  }

  private ended(closeCode: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.socket = undefined;
    if (closeCode === 1009) this.refuseLargest();
    this.rejectAcks();
    let code: ErrorCode | undefined = CLOSE_CODES[closeCode];
    if (code !== undefined) {
      // The error frame before the close names it best (`banned` rather than `forbidden`).
      if (this.lastError) code = this.lastError.code;
      else this.events?.error({ code, message: reason || `The server closed the connection (${closeCode}).` });
    } else if (this.lastError?.code === 'unavailable') {
      code = 'unavailable';
    }
    this.events?.close(code === undefined ? { opened: this.opened } : { opened: this.opened, code });
  }

  /**
   * 1009: a frame was over the server's limit. The largest send on the wire is over it too, so it
   * is refused; resending it would only close the next connection the same way.
   */
  private refuseLargest(): void {
    let largest: [string, WaitingAck] | undefined;
    for (const entry of this.acks) if (!largest || entry[1].size > largest[1].size) largest = entry;
    if (!largest) return;
    this.acks.delete(largest[0]);
    largest[1].reject(new ChatClientError('too_long', 'The message is larger than the server accepts.', largest[0]));
  }

  private settle(cid: string): WaitingAck | undefined {
    const waiting = this.acks.get(cid);
    this.acks.delete(cid);
    return waiting;
  }

  private rejectAcks(): void {
    const waiting = [...this.acks];
    this.acks.clear();
    for (const [cid, ack] of waiting) ack.reject(disconnected(cid));
  }
}
