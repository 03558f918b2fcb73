import { Backoff } from './backoff';
import { Connection, type ConnectionState } from './connection';
import { Cursor, type CursorPosition } from './cursor';
import { Emitter } from './emitter';
import { ChatClientError, endsClient, isResendable, type ChatErrorInfo, type ErrorCode } from './errors';
import { checkName, resolveOptions, tokenFor, type ChatClientOptions, type ResolvedOptions } from './options';
import { isValidCid, Outbox, type PendingSend } from './outbox';
import { RoomApi, type KickTarget } from './room-api';
import type { SendOutcome, Transport, TransportName } from './transports/transport';
import type { DeleteEvent, HistoryAnswer, KickResult, Me, PresenceEvent, PresenceList, StoredEvent, TextMessage } from './wire';

export type { ConnectionState } from './connection';

/**
 * What the `history` event carries: the events missed since the cursor (all the retained
 * history on a first join), oldest first, never one handed on before.
 *
 * @example
 * chat.on('history', (h) => {
 *   if (h.gap) list.replaceChildren();       // what was shown is no longer contiguous (or was reset)
 *   h.messages.forEach(render);
 * });
 */
export interface HistoryEvent {
  readonly messages: readonly StoredEvent[];
  /** True when what you show must be replaced: messages were lost, or the history was reset. */
  readonly gap: boolean;
  /** With a gap: how many messages were lost, when the server knows. */
  readonly missed: number | null;
  /**
   * True when the room's history was reset (cleared, lost by Redis, expired): everything shown
   * belongs to a history that is gone, even messages with the same ids as the new ones. `gap` is
   * then true too.
   */
  readonly reset: boolean;
  readonly epoch: string;
  /** Who the server says you are (v2 servers); `null` until one says. */
  readonly me: Me | null;
}

/** The events of a `ChatClient` and their payloads. */
export interface ChatClientEvents {
  /** Invoked when a connection opens (and when the server resynchronizes it): what was missed. */
  history: HistoryEvent;
  /** Invoked for every stored event after the histories, in id order, once (delete events too). */
  message: StoredEvent;
  /** Invoked when someone joins or leaves, with the room's count of connections. */
  presence: PresenceEvent;
  /** Invoked when the connection state changes. */
  state: ConnectionState;
  /** Invoked for every error the server reports, and when `getToken` fails. */
  error: ChatErrorInfo;
}

/** Options of one `send`. */
export interface SendOptions {
  /** The cid to send under (default: a new one); a cid still pending returns that send's promise. */
  readonly cid?: string;
}

/** Sends on the wire at once, at most (the server closes a WebSocket that queues 64 frames). */
const MAX_IN_FLIGHT = 16;

/**
 * A chat room connection: the one implementation of the cursor, the outbox and transport
 * fallback (PROTOCOL.md "The client library"). It connects as soon as it is made (on the next
 * microtask, so listeners attached right after miss nothing), reconnects by itself with
 * jittered backoff, and runs in browsers and in Node ≥ 20.
 *
 * @example
 * import WebSocket from 'ws';
 * import { EventSource } from 'eventsource';
 *
 * const chat = new ChatClient({ url: 'http://127.0.0.1:3000', room: 'lobby', name: 'alice', WebSocket, EventSource });
 * chat.on('message', (m) => console.log(`${m.user}: ${m.text}`));
 * const stored = await chat.send('hi');
 * chat.close();
 */
export class ChatClient extends Emitter<ChatClientEvents> {
  private readonly options: ResolvedOptions;
  private readonly position: Cursor;
  private readonly outbox: Outbox;
  private readonly resendBackoff: Backoff;
  private readonly connection: Connection;
  private readonly api: RoomApi;
  /** Aborts the room API's requests in flight when the client ends. */
  private readonly requests = new AbortController();
  private currentName: string;
  private lastMe: Me | null = null;
  private lastError: ChatErrorInfo | undefined;
  private resendTimer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;

  /**
   * Checks the options (a TypeError names what is wrong) and starts connecting.
   *
   * @example
   * const chat = new ChatClient({ room: 'lobby' }); // in a browser: the page's own server
   */
  constructor(options: ChatClientOptions) {
    super();
    this.options = resolveOptions(options);
    this.currentName = this.options.name;
    this.position = new Cursor(this.options.cursor);
    this.outbox = new Outbox(this.options.outbox);
    this.outbox.restore();
    this.resendBackoff = new Backoff({ baseMs: this.options.reconnectBaseMs, maxMs: this.options.reconnectMaxMs });
    this.connection = new Connection(this.options, this.position, () => this.currentName, {
      history: (answer) => this.onHistory(answer),
      message: (message, epoch) => this.onMessage(message, epoch),
      presence: (presence) => this.emit('presence', presence),
      error: (error) => this.report(error),
      opened: () => {
        this.outbox.releaseHeld();
        this.flush();
      },
      detached: () => this.outbox.requeueAll(),
      state: (state) => this.emit('state', state),
      refused: (code) => this.fail(code),
    });
    this.api = new RoomApi({
      baseUrl: this.options.baseUrl,
      room: this.options.room,
      fetch: this.options.fetch,
      token: () => tokenFor(this.options),
      signal: this.requests.signal,
    });
    queueMicrotask(() => this.connection.start());
  }

  /**
   * The connection state: `connecting` (first attempt), `open`, `reconnecting`, `offline`
   * (the browser says so) or `closed` (by `close()`, or refused: unauthorized, forbidden, banned).
   *
   * @example
   * statusElement.dataset.state = chat.state;
   */
  get state(): ConnectionState {
    return this.connection.state;
  }

  /**
   * The transport in use, or the one the next attempt will use.
   *
   * @example
   * statusElement.dataset.transport = chat.transport; // 'ws' | 'sse' | 'longpoll' | 'poll'
   */
  get transport(): TransportName {
    return this.connection.transport;
  }

  /**
   * Where the client is in the room's history; pass it as the `cursor` option to resume later.
   *
   * @example
   * const { epoch, since } = chat.cursor;
   */
  get cursor(): CursorPosition {
    return this.position.position;
  }

  /**
   * The room, normalized to NFC.
   *
   * @example
   * document.title = `#${chat.room}`;
   */
  get room(): string {
    return this.options.room;
  }

  /**
   * The anonymous name in use (`''` until one is given or the server names us).
   *
   * @example
   * nameInput.value = chat.name;
   */
  get name(): string {
    return this.currentName;
  }

  /**
   * Who the server says we are (v2 servers), or null until one says.
   *
   * @example
   * composer.disabled = chat.me?.write === false;
   */
  get me(): Me | null {
    return this.lastMe;
  }

  /**
   * The sends not stored yet, oldest first (including those restored from the `outbox` store).
   *
   * @example
   * for (const { cid, text } of chat.pending) showPending(cid, text);
   */
  get pending(): PendingSend[] {
    return this.outbox.pending;
  }

  /**
   * True when `message` was sent by this client (its cid is one this client made, or restored
   * from the outbox store) or by the user of our token (its uid). Names are never compared:
   * anyone may pick any name.
   *
   * @example
   * item.classList.toggle('mine', chat.isOwn(message));
   */
  isOwn(message: StoredEvent): boolean {
    if (message.uid !== undefined && message.uid === this.lastMe?.uid) return true;
    return message.text !== undefined && message.cid !== undefined && this.outbox.owns(message.cid);
  }

  /**
   * Sends `text`. It is queued with a cid while the connection is down and resent after every
   * reconnect until stored; the server stores a cid once. Resolves once, with the stored
   * message; rejects with a `ChatClientError` when the server refuses it (`too_long`,
   * `rate_limited`, `bad_request`, `forbidden`…) or the client is closed first (`closed`).
   *
   * @example
   * const message = await chat.send('hello');
   * console.log(message.id, message.cid);
   */
  send(text: string, options: SendOptions = {}): Promise<TextMessage> {
    if (this.closed) return Promise.reject(new ChatClientError('closed', 'The client is closed.'));
    if (typeof text !== 'string' || text.trim() === '') {
      return Promise.reject(new ChatClientError('bad_request', 'The message text is empty.'));
    }
    if (options.cid !== undefined && !isValidCid(options.cid)) {
      return Promise.reject(new TypeError('A cid is 1 to 64 characters with no control characters.'));
    }
    const stored = this.outbox.add(text, options.cid);
    this.flush();
    return stored;
  }

  /**
   * A new cid of this client's own, for a send whose cid you want before it goes out (to show
   * it as pending, say): pass it to `send(text, { cid })`. `isOwn` knows it as ours.
   *
   * @example
   * const cid = chat.newCid();
   * showPending(cid, text);
   * chat.send(text, { cid }).then((stored) => showStored(cid, stored));
   */
  newCid(): string {
    return this.outbox.newCid();
  }

  /**
   * Who is in the room now, on every server process (`GET /api/rooms/:room/presence`), with the
   * token as `Authorization: Bearer` when the client has one. Rejects with a `ChatClientError`:
   * the server's code (`forbidden`, `unavailable`…), `disconnected` when no answer came, `closed`
   * after `close()`.
   *
   * @example
   * chat.on('presence', async () => render((await chat.presence()).users));
   */
  presence(): Promise<PresenceList> {
    return this.api.presence();
  }

  /**
   * Deletes message `id` (moderators: `mod` in the token). Resolves with the delete event,
   * which also reaches every client of the room, this one included, as a `message`. A message
   * already deleted resolves with its first delete event; rejects with `forbidden` for a
   * non-moderator, `not_found` for an id no longer retained.
   *
   * @example
   * button.onclick = () => chat.deleteMessage(message.id).catch((e) => showNotice(e.message));
   */
  deleteMessage(id: number): Promise<DeleteEvent> {
    return this.api.deleteMessage(id);
  }

  /**
   * Ends every connection of a user in this room, on every server process (moderators), and
   * bans them for `seconds` (1 to 31536000) when given. `who` is `{ uid }` for a signed-in
   * user, `{ user: name }` for an anonymous one. Resolves with `{ room, bannedUntil }`.
   *
   * @example
   * await chat.kick({ uid: 'u-7' }, 3600); // out for an hour
   */
  kick(who: KickTarget, seconds?: number): Promise<KickResult> {
    return this.api.kick(who, seconds);
  }

  /**
   * Changes the anonymous name. Transports that carry the name per connection (WebSocket, SSE)
   * reconnect at once from the cursor, so nothing is missed or repeated. Throws a TypeError for
   * a name the server would refuse; a blank one lets the server pick.
   *
   * @example
   * nameInput.addEventListener('change', () => chat.setName(nameInput.value));
   */
  setName(name: string): void {
    const checked = checkName(name);
    if (checked === this.currentName) return;
    this.currentName = checked;
    this.connection.nameChanged();
  }

  /**
   * Ends everything: the connection, every timer and request (a Node process can exit). Sends
   * not stored yet reject with `closed`; an `outbox` store keeps them for a later client.
   *
   * @example
   * process.once('SIGINT', () => chat.close());
   */
  close(): void {
    this.end(new ChatClientError('closed', 'The client was closed before the message was stored.'));
  }

  private onHistory(answer: HistoryAnswer): void {
    const { messages, reset } = this.position.takeHistory(answer);
    if (answer.me) {
      this.lastMe = answer.me;
      // Keep the name the server gave an anonymous user, so a reconnect or a POST keeps it too.
      if (this.currentName === '' && !this.hasToken()) this.currentName = answer.me.name;
    }
    this.emit('history', {
      messages,
      gap: answer.gap || reset,
      missed: answer.gap ? answer.missed : null,
      reset,
      epoch: answer.epoch,
      me: this.lastMe,
    });
    for (const message of messages) if (message.text !== undefined) this.outbox.deliver(message);
    this.settleSkipped(reset);
  }

  private onMessage(message: StoredEvent, epoch: string | undefined): void {
    const verdict = this.position.take(message, epoch);
    if (verdict === 'seen') return;
    if (verdict === 'conflict') {
      // Another epoch without a gap announced: the history was reset under us.
      this.onHistory({ epoch: epoch ?? '', messages: [message], gap: true, missed: null, me: null });
      return;
    }
    this.emit('message', message);
    if (message.text !== undefined) this.outbox.deliver(message);
    this.settleSkipped(false);
  }

  /** Sends whose ack came but whose message the cursor went past (a gap, a reset) are done all the same. */
  private settleSkipped(reset: boolean): void {
    this.outbox.settleSkipped(reset ? undefined : this.position.since, (send, id) => ({
      id,
      room: this.options.room,
      user: this.lastMe?.name ?? this.currentName,
      text: send.text.trim(),
      ts: Date.now(),
      cid: send.cid,
    }));
  }

  private flush(): void {
    const transport = this.connection.openTransport;
    if (!transport) return;
    for (const draft of this.outbox.takeSendable(MAX_IN_FLIGHT)) {
      transport.send(draft).then(
        (outcome) => this.onSent(transport, draft.cid, outcome),
        (err: unknown) => this.onSendFailed(transport, draft.cid, err),
      );
    }
  }

  private onSent(transport: Transport, cid: string, outcome: SendOutcome): void {
    this.resendBackoff.reset();
    if (outcome.message) this.outbox.deliver(outcome.message);
    else {
      this.outbox.acked(cid, outcome.id);
      this.settleSkipped(false);
    }
    if (transport === this.connection.openTransport) this.flush();
  }

  private onSendFailed(transport: Transport, cid: string, err: unknown): void {
    const error = err instanceof ChatClientError ? err : new ChatClientError('disconnected', String(err), cid);
    const current = transport === this.connection.openTransport;
    if (isResendable(error.code)) {
      if (error.code !== 'disconnected') this.report({ code: error.code, message: error.message, cid });
      // A connection that went away resends everything on the next one; this one tries again soon.
      if (!current) return;
      this.outbox.requeue(cid, true);
      this.scheduleResend();
      return;
    }
    this.report({ code: error.code, message: error.message, cid });
    if (error.code === 'unauthorized' && this.options.getToken && current) {
      // The token expired: reconnect with a fresh one, and send again.
      this.outbox.requeue(cid, false);
      this.connection.restart();
      return;
    }
    this.outbox.fail(cid, error);
    if (endsClient(error.code)) this.fail(error.code);
    else if (current) this.flush();
  }

  private scheduleResend(): void {
    if (this.resendTimer !== undefined || this.closed) return;
    this.resendTimer = setTimeout(() => {
      this.resendTimer = undefined;
      this.outbox.releaseHeld();
      this.flush();
    }, this.resendBackoff.next());
  }

  private report(error: ChatErrorInfo): void {
    this.lastError = error;
    this.emit('error', error);
  }

  /** Refused for good (unauthorized, forbidden, banned…): the error was reported; stop. */
  private fail(code: ErrorCode): void {
    const message = this.lastError?.code === code ? this.lastError.message : `Refused: ${code}.`;
    this.end(new ChatClientError(code, message));
  }

  private end(reason: ChatClientError): void {
    if (this.closed) return;
    this.closed = true;
    this.requests.abort();
    clearTimeout(this.resendTimer);
    this.resendTimer = undefined;
    this.connection.close();
    this.outbox.rejectAll(reason);
  }

  private hasToken(): boolean {
    return this.options.token !== undefined || this.options.getToken !== undefined;
  }
}
