import { Backoff } from './backoff';
import { isOnline, watchNetwork } from './environment';
import { isRefusal, type ChatErrorInfo, type ErrorCode } from './errors';
import { FAILURES_BEFORE_PROBE, TransportChooser } from './fallback';
import { tokenFor, type ResolvedOptions } from './options';
import { probeServer, type ProbeResult } from './probe';
import type { CloseInfo, CursorReader, Transport, TransportContext, TransportEvents, TransportName } from './transports/transport';
import type { HistoryAnswer, PresenceEvent, StoredEvent } from './wire';

/** The connection's state, as a page shows it (`data-state`). */
export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'offline' | 'closed';

/** What a `Connection` tells its owner. Nothing is told after `close()`. */
export interface ConnectionEvents {
  /** Invoked with each history answer of the active transport (the first one opens it). */
  history(answer: HistoryAnswer): void;
  /** Invoked for each live event of the active transport. */
  message(message: StoredEvent, epoch: string | undefined): void;
  presence(presence: PresenceEvent): void;
  /** Invoked for every error the server reports, and when `getToken` fails. */
  error(error: ChatErrorInfo): void;
  /** Invoked once a connection's first history was handled: sends may go out. */
  opened(transport: Transport): void;
  /** Invoked when the active transport is let go: nothing sent on it will be answered. */
  detached(): void;
  state(state: ConnectionState): void;
  /** Invoked when the server refused us for good (the error was reported first): the owner ends. */
  refused(code: ErrorCode): void;
}

/**
 * A room connection that stays up: it picks the transport (falling back as `TransportChooser`
 * decides), asks for a token before each attempt, gives up an attempt that brings no history in
 * time, reconnects after any close it did not ask for with jittered backoff, and waits while the
 * browser is offline. It knows nothing of messages: its owner reads the cursor and the outbox.
 *
 * @example
 * const connection = new Connection(options, cursor, () => name, events);
 * connection.start();
 * connection.openTransport?.send(draft);
 */
export class Connection {
  private readonly backoff: Backoff;
  private readonly chooser: TransportChooser;
  private readonly stopWatchingNetwork: () => void;
  private currentState: ConnectionState = 'connecting';
  private active: Transport | undefined;
  private isOpen = false;
  private lastToken: string | undefined;
  /** Bumped whenever an attempt is abandoned, so that its pending steps stop. */
  private attempt = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private connectTimer: ReturnType<typeof setTimeout> | undefined;
  private probeController: AbortController | undefined;
  private closed = false;

  constructor(
    private readonly options: ResolvedOptions,
    private readonly cursor: CursorReader,
    private readonly name: () => string,
    private readonly events: ConnectionEvents,
  ) {
    this.backoff = new Backoff({ baseMs: options.reconnectBaseMs, maxMs: options.reconnectMaxMs });
    this.chooser = new TransportChooser(options.transports);
    this.stopWatchingNetwork = watchNetwork((online) => this.onNetwork(online));
  }

  get state(): ConnectionState {
    return this.currentState;
  }

  /** The transport in use, or the one the next attempt will use. */
  get transport(): TransportName {
    return this.active?.name ?? this.chooser.current;
  }

  /** The active transport once it has delivered its history; sends go there. */
  get openTransport(): Transport | undefined {
    return this.isOpen ? this.active : undefined;
  }

  /** Makes the first attempt. */
  start(): void {
    if (this.closed) return;
    this.events.state(this.currentState);
    void this.connect();
  }

  /** Reconnects at once from the cursor (asked for: a new name, a new token). */
  restart(): void {
    const transport = this.active;
    if (!transport || this.closed) return;
    this.detach();
    transport.close();
    this.setState('reconnecting');
    void this.connect();
  }

  /** Reconnects when the active transport carries the name per connection (WebSocket, SSE). */
  nameChanged(): void {
    if (this.active?.carriesName) this.restart();
  }

  /** Ends everything: the transport, every timer and request, the network watch. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.attempt++;
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.connectTimer);
    this.reconnectTimer = this.connectTimer = undefined;
    this.probeController?.abort();
    this.stopWatchingNetwork();
    const transport = this.active;
    this.active = undefined;
    this.isOpen = false;
    transport?.close();
    this.setState('closed');
  }

  private async connect(): Promise<void> {
    if (this.closed || this.active) return;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    const attempt = ++this.attempt;
    if (!isOnline()) {
      this.setState('offline');
      return;
    }
    if (this.currentState !== 'connecting') this.setState('reconnecting');
    let token: string | undefined;
    try {
      token = await tokenFor(this.options);
    } catch (err) {
      if (attempt !== this.attempt || this.closed) return;
      const reason = err instanceof Error ? err.message : String(err);
      this.events.error({ code: 'token_unavailable', message: `getToken() failed: ${reason}` });
      this.setState('reconnecting');
      this.scheduleReconnect();
      return;
    }
    if (attempt !== this.attempt || this.closed || this.active) return;
    this.lastToken = token;
    const transport = this.options.createTransport(this.chooser.current, this.context(token));
    if (!transport) {
      this.chooser.moveOn();
      this.setState('reconnecting');
      this.scheduleReconnect();
      return;
    }
    this.active = transport;
    this.isOpen = false;
    this.connectTimer = setTimeout(() => this.giveUp(transport), this.options.connectTimeoutMs);
    transport.connect(this.cursor, this.listen(transport));
  }

  private context(token: string | undefined): TransportContext {
    const o = this.options;
    return {
      baseUrl: o.baseUrl,
      room: o.room,
      name: this.name,
      token,
      WebSocket: o.WebSocket,
      EventSource: o.EventSource,
      fetch: o.fetch,
      pollIntervalMs: o.pollIntervalMs,
      longPollTimeoutSec: o.longPollTimeoutSec,
    };
  }

  /** The transport's events, ignored once it is no longer the active one. */
  private listen(transport: Transport): TransportEvents {
    const current = () => this.active === transport;
    return {
      history: (answer) => current() && this.onHistory(transport, answer),
      message: (message, epoch) => current() && this.events.message(message, epoch),
      presence: (presence) => current() && this.events.presence(presence),
      error: (error) => current() && this.events.error(error),
      close: (info) => current() && this.onLost(transport, info),
    };
  }

  private onHistory(transport: Transport, answer: HistoryAnswer): void {
    const opening = !this.isOpen;
    if (opening) {
      this.isOpen = true;
      clearTimeout(this.connectTimer);
      this.chooser.opened();
      this.backoff.reset();
    }
    this.events.history(answer);
    // A listener may have closed the client or changed the name meanwhile.
    if (!opening || this.active !== transport) return;
    this.setState('open');
    this.events.opened(transport);
  }

  private onLost(transport: Transport, info: CloseInfo): void {
    this.detach();
    transport.close();
    if (isRefusal(info.code, info.opened, this.options.getToken !== undefined)) {
      this.events.refused(info.code!);
      return;
    }
    this.setState('reconnecting');
    if (!info.opened && this.chooser.failed() >= FAILURES_BEFORE_PROBE) {
      void this.probeThenReconnect();
      return;
    }
    this.scheduleReconnect();
  }

  /** No history in time: the attempt failed like any other that never opened. */
  private giveUp(transport: Transport): void {
    if (this.active === transport && !this.isOpen) this.onLost(transport, { opened: false });
  }

  /**
   * After repeated failures to connect, asks the server over plain HTTP whether it is the
   * transport that fails (move on to the next) or the server (stay), or whether it refuses us.
   */
  private async probeThenReconnect(): Promise<void> {
    const attempt = this.attempt;
    const { fetch, baseUrl, room } = this.options;
    let result: ProbeResult = { kind: 'unknown' };
    if (fetch) {
      this.probeController = new AbortController();
      result = await probeServer({ baseUrl, room, token: this.lastToken, fetch }, this.probeController.signal);
      this.probeController = undefined;
    }
    if (this.closed || attempt !== this.attempt || this.active) return;
    if (result.kind === 'refused') {
      this.events.error(result.error);
      this.events.refused(result.error.code);
      return;
    }
    if (result.kind === 'answers' && this.chooser.moveOn()) this.backoff.reset();
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed) return;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    if (!isOnline()) {
      this.setState('offline');
      return;
    }
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.connect();
    }, this.backoff.next());
  }

  /** Lets the active transport go; its owner puts back in line what was on the wire. */
  private detach(): void {
    this.active = undefined;
    this.isOpen = false;
    this.attempt++;
    clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
    this.events.detached();
  }

  private onNetwork(online: boolean): void {
    if (this.closed) return;
    if (!online) {
      // The browser knows the network is gone; a socket could take minutes to notice.
      clearTimeout(this.reconnectTimer);
      this.reconnectTimer = undefined;
      this.probeController?.abort();
      const transport = this.active;
      this.detach();
      transport?.close();
      this.setState('offline');
      return;
    }
    if (this.active || this.reconnectTimer !== undefined) return;
    this.backoff.reset();
    this.setState('reconnecting');
    this.scheduleReconnect();
  }

  private setState(state: ConnectionState): void {
    // Nothing follows closed.
    if (state === this.currentState || this.currentState === 'closed') return;
    this.currentState = state;
    this.events.state(state);
  }
}
