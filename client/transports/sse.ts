import type { EventSourceLike, SseEventLike } from '../environment';
import { codeForStatus, type ErrorCode } from '../errors';
import {
  epochOfEventId,
  parseJson,
  readPresence,
  readServerError,
  readSseGap,
  readSseReady,
  readStoredEvent,
  type Me,
  type StoredEvent,
} from '../wire';
import { HttpSender, roomUrl } from './http';
import type { CursorReader, MessageDraft, SendOutcome, Transport, TransportContext, TransportEvents } from './transport';

/**
 * How long a replay may go without its closing `ready` event before it is taken as complete:
 * v1 servers send `ready` only when there is nothing to replay.
 */
export const REPLAY_SETTLE_MS = 50;

/** Statuses that say who we are or where we asked to go: the connection must not be retried as is. */
const REFUSED_STATUSES = new Set([400, 401, 403]);

interface Replay {
  epoch: string | undefined;
  gap: boolean;
  missed: number | null;
  readonly messages: StoredEvent[];
}

/**
 * Server-Sent Events (`/api/rooms/:room/events?since&epoch&name&token`) for receiving, POST for
 * sending. The replay (after a `gap` event when there is one) is gathered into one history,
 * which `ready` closes. The EventSource's own reconnect is not used: when the stream ends the
 * connection is over, and the client reconnects from its cursor with jittered backoff. A token
 * travels as the `token` query parameter: an EventSource cannot set headers.
 */
export class SseTransport implements Transport {
  readonly name = 'sse';
  readonly carriesName = true;
  private source: EventSourceLike | undefined;
  private events: TransportEvents | undefined;
  private readonly sender: HttpSender;
  private replay: Replay | undefined;
  private settleTimer: ReturnType<typeof setTimeout> | undefined;
  private opened = false;
  private closed = false;
  private lastErrorCode: ErrorCode | undefined;

  constructor(private readonly context: TransportContext) {
    this.sender = new HttpSender(context);
  }

  connect(cursor: CursorReader, events: TransportEvents): void {
    const { EventSource } = this.context;
    this.events = events;
    this.replay = { epoch: undefined, gap: false, missed: null, messages: [] };
    const { since, epoch } = cursor.query();
    const url = roomUrl(this.context, 'events', { since, epoch, name: this.context.name(), token: this.context.token });
    let source: EventSourceLike;
    try {
      if (!EventSource) throw new TypeError('No EventSource implementation.');
      source = new EventSource(url);
    } catch {
      queueMicrotask(() => this.ended(undefined));
      return;
    }
    this.source = source;
    const on = (type: string, handle: (event: SseEventLike) => void) =>
      source.addEventListener(type, (event) => {
        if (this.source === source && !this.closed) handle(event);
      });
    on('gap', (event) => this.onGap(event));
    on('message', (event) => this.onMessage(event));
    on('ready', (event) => this.onReady(event));
    on('presence', (event) => {
      const presence = readPresence(parseJson(event.data));
      if (presence) this.events?.presence(presence);
    });
    on('kicked', (event) => this.serverError(event.data, 'kicked'));
    on('error', (event) => {
      // `event: error` from the server carries data; a failed or ended connection does not.
      if (typeof event.data === 'string') this.serverError(event.data, 'unavailable');
      else this.ended(event.code);
    });
  }

  send(draft: MessageDraft): Promise<SendOutcome> {
    return this.sender.send(draft);
  }

  close(): void {
    this.stop()?.close();
  }

  /** Stops everything but the EventSource itself, and hands it back for closing. */
  private stop(): EventSourceLike | undefined {
    if (this.closed) return undefined;
    this.closed = true;
    clearTimeout(this.settleTimer);
    this.sender.close();
    const source = this.source;
    this.source = undefined;
    return source;
  }

  private onGap(event: SseEventLike): void {
    const gap = readSseGap(parseJson(event.data));
    if (!gap) return;
    // After the first history, a gap starts a resynchronization: a history of its own.
    this.replay = { epoch: gap.epoch, gap: true, missed: gap.missed, messages: [] };
  }

  private onMessage(event: SseEventLike): void {
    const message = readStoredEvent(parseJson(event.data));
    if (!message) return;
    const epoch = epochOfEventId(event.lastEventId);
    const replay = this.replay;
    if (!replay) {
      this.events?.message(message, epoch);
      return;
    }
    replay.epoch ??= epoch;
    replay.messages.push(message);
    this.settleTimer ??= setTimeout(() => this.finishReplay(undefined, null), REPLAY_SETTLE_MS);
  }

  private onReady(event: SseEventLike): void {
    const ready = readSseReady(parseJson(event.data));
    if (ready && this.replay) this.finishReplay(ready.epoch, ready.me);
  }

  private finishReplay(epoch: string | undefined, me: Me | null): void {
    clearTimeout(this.settleTimer);
    this.settleTimer = undefined;
    const replay = this.replay;
    if (!replay || this.closed) return;
    this.replay = undefined;
    this.opened = true;
    this.events?.history({
      epoch: epoch ?? replay.epoch ?? '',
      messages: replay.messages,
      gap: replay.gap,
      missed: replay.missed,
      me,
    });
  }

  private serverError(data: unknown, fallback: ErrorCode): void {
    const error = readServerError(parseJson(data)) ?? { code: fallback, message: fallback };
    this.lastErrorCode = error.code;
    this.events?.error({ code: error.code, message: error.message });
  }

  private ended(status: number | undefined): void {
    if (this.closed) return;
    const source = this.stop();
    // Closed once the EventSource has scheduled its own retry (right after this event), so that
    // close() cancels it rather than leaving a timer behind.
    if (source) queueMicrotask(() => source.close());
    let code = this.lastErrorCode;
    if (status !== undefined && REFUSED_STATUSES.has(status)) {
      code = codeForStatus(status);
      this.events?.error({ code, message: `The server refused the event stream (HTTP ${status}).` });
    }
    this.events?.close(code === undefined ? { opened: this.opened } : { opened: this.opened, code });
  }
}
