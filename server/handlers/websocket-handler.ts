import type { IncomingHttpHeaders } from 'node:http';
import WebSocket from 'ws';
import { WebSocketClosedError } from '../errors';
import { isAllowedOrigin } from '../http/origin';
import type { Logger } from '../logger';
import { NO_METRICS, type ChatMetrics } from '../metrics';
import { flushPendingFrames, prepareTextFrame, unsentBytes, writePreparedFrame, type PreparedFrame } from './ws-frame';

/** What a handler knows of the request that opened it. */
export interface HandlerRequest {
  /** Route parameters, decoded (`/ws/:room` gives `params.room`). */
  readonly params: Readonly<Record<string, string>>;
  readonly query: Readonly<Record<string, string | string[] | undefined>>;
  readonly headers: IncomingHttpHeaders;
  /** The client's address (`ctx.ip`: TRUST_PROXY hops from the right of X-Forwarded-For). */
  readonly ip: string;
  /** The host asked for (`ctx.host`: X-Forwarded-Host behind a trusted proxy, else Host). */
  readonly host: string;
}

/** Settings every handler shares, from the server's configuration. */
export interface HandlerSettings {
  readonly logger: Logger;
  /** Origins allowed to connect; empty means the server's own origin (`publicUrl`, or the Host header). */
  readonly allowedOrigins: readonly string[];
  /** The server's own origin (`PUBLIC_URL`), when it is set. */
  readonly publicUrl?: string;
  /** Unsent bytes a socket may queue before it is closed with 1013. */
  readonly maxBufferedBytes: number;
  /** The largest frame accepted, in bytes (`MAX_FRAME_BYTES`); larger ones close with 1009. */
  readonly maxFrameBytes: number;
  /** Counts slow consumers (default: nothing). */
  readonly metrics?: ChatMetrics;
}

/** Received frames a connection may have waiting to be handled (PROTOCOL.md v2: 64). */
const MAX_WAITING_FRAMES = 64;

/** How long a closed slow consumer gets to go before it is cut off (it may never read the close frame). */
const TERMINATE_AFTER_MS = 2000;

/**
 * A WebSocket connection in Tornado's shape: override the hooks, call the methods.
 * One instance per connection. `onMessage` is never invoked before `open()` has finished, and
 * messages are handled one at a time in arrival order. A hook that throws is logged and closes
 * its own socket with 1011; other connections are untouched.
 *
 * @example
 * class EchoHandler extends WebSocketHandler {
 *   override onMessage(message: string) { this.writeMessage(message); }
 * }
 */
export abstract class WebSocketHandler {
  /** False once a heartbeat ping went unanswered; the heartbeat then terminates the socket. */
  isAlive = true;
  private logger: Logger | undefined;
  private chain: Promise<void> = Promise.resolve();
  /** Received frames not yet handled (the one being handled included). */
  private waiting = 0;
  /** Set when either side closed: frames not yet started are dropped (a flooder's leftovers cost nothing). */
  private closing = false;

  constructor(
    readonly socket: WebSocket,
    readonly request: HandlerRequest,
    protected readonly settings: HandlerSettings,
  ) {}

  /** This handler's logger, made on first use: most connections never log, and 10,000 child loggers cost memory. */
  protected get log(): Logger {
    return (this.logger ??= this.settings.logger.child({ module: 'chat:ws', handler: this.constructor.name }));
  }

  /** Invoked when the connection opens, before any message. May be async: messages wait for it. */
  open(): void | Promise<void> {}

  /** Invoked when a text frame arrives. `open()` has finished before this is called. */
  onMessage(_message: string): void | Promise<void> {}

  /** Invoked once when the connection has closed, after `open()` and any `onMessage` in progress. */
  onClose(_code: number, _reason: string): void | Promise<void> {}

  /** Invoked when a pong arrives. */
  onPong(): void {}

  /**
   * Override to decide which browser origins may connect. The default allows the origins in
   * `ALLOWED_ORIGINS`, or when that is empty the server's own origin. Requests without an
   * `Origin` header are not from a browser and never reach this check.
   */
  checkOrigin(origin: string): boolean {
    return isAllowedOrigin(origin, { allowedOrigins: this.settings.allowedOrigins, publicUrl: this.settings.publicUrl ?? '' }, this.request.host);
  }

  /** Override to change the largest message accepted, in bytes; larger frames close with 1009. */
  get maxMessageSize(): number {
    return this.settings.maxFrameBytes;
  }

  /** True once the socket is closing or closed: writes would throw. */
  get closed(): boolean {
    return this.closing || this.socket.readyState !== WebSocket.OPEN;
  }

  /**
   * Sends a text message; an object is sent as JSON. Throws `WebSocketClosedError` when the
   * socket is closed. Closes with 1013 when the peer has fallen too far behind.
   */
  writeMessage(message: string | object): void {
    const text = typeof message === 'string' ? message : JSON.stringify(message);
    this.writeFrame(prepareTextFrame(text));
  }

  /** Sends a frame prepared once for many sockets (see `prepareTextFrame`). */
  writeFrame(prepared: PreparedFrame): void {
    if (this.closed) throw new WebSocketClosedError();
    writePreparedFrame(this.socket, prepared);
    if (unsentBytes(this.socket) > this.settings.maxBufferedBytes) {
      (this.settings.metrics ?? NO_METRICS).slowConsumer();
      this.close(1013, 'too far behind: reconnect with your cursor');
    }
  }

  /** Sends a ping; the heartbeat uses it. */
  ping(): void {
    if (!this.closed) this.socket.ping();
  }

  /** Closes the connection with `code` and `reason`; a peer that does not answer is cut off. */
  close(code = 1000, reason = ''): void {
    if (this.closing) return;
    this.closing = true;
    if (this.socket.readyState === WebSocket.OPEN || this.socket.readyState === WebSocket.CONNECTING) {
      flushPendingFrames(this.socket); // what was written before the close goes before it
      this.socket.close(code, closeReason(reason));
      const timer = setTimeout(() => this.socket.terminate(), TERMINATE_AFTER_MS);
      timer.unref();
      this.socket.once('close', () => clearTimeout(timer));
    }
  }

  /** Resolves once `onClose` has run. */
  whenFinished(): Promise<void> {
    return this.chain;
  }

  /**
   * Starts the handler: listeners are attached synchronously (a frame sent right after the
   * handshake is not lost), then the origin is checked and `open()` runs. Called by the mount,
   * which learns of the close through `closed` (synchronously, before `onClose` runs): one
   * listener per socket rather than one per party that cares.
   */
  run(closed?: () => void): void {
    const socket = this.socket;
    socket.on('message', (data, isBinary) => {
      if (isBinary) {
        this.close(1003, 'binary frames are not accepted: send text');
        return;
      }
      const text = Buffer.isBuffer(data) ? data : Buffer.concat(data as Buffer[]);
      if (text.length > this.maxMessageSize) {
        this.close(1009, `frames are at most ${this.maxMessageSize} bytes`);
        return;
      }
      // A flood costs the flooder: past this many frames waiting, the connection is closed.
      if (this.waiting >= MAX_WAITING_FRAMES) {
        this.close(1008, 'too many messages queued');
        return;
      }
      this.enqueue(() => this.onMessage(text.toString('utf8')));
    });
    socket.on('pong', () => {
      this.isAlive = true;
      void this.runHook(() => this.onPong());
    });
    socket.on('error', (err) => this.log.debug({ err }, 'socket error'));
    // ws emits 'close' once: `on` spares the wrapper objects of `once`, per connection.
    socket.on('close', (code, reason) => {
      this.closing = true;
      closed?.();
      this.chain = this.chain.then(() => this.runHook(() => this.onClose(code, reason.toString())));
    });
    const origin = this.request.headers.origin;
    if (origin !== undefined && !this.checkOrigin(origin)) {
      this.close(1008, 'origin not allowed');
      return;
    }
    this.enqueue(() => this.open());
  }

  private enqueue(hook: () => void | Promise<void>): void {
    this.waiting++;
    this.chain = this.chain.then(async () => {
      try {
        if (!this.closing) await this.runHook(hook);
      } finally {
        this.waiting--;
      }
    });
  }

  private async runHook(hook: () => void | Promise<void>): Promise<void> {
    try {
      await hook();
    } catch (err) {
      if (err instanceof WebSocketClosedError) return;
      this.log.error({ err }, 'a handler hook threw; closing its socket');
      this.close(1011, 'internal error');
    }
  }
}

/**
 * A close reason within the 123 bytes RFC 6455 allows, cut on a character boundary: ws throws on
 * a longer one, and a reason with non-Latin text passes 123 bytes long before 123 characters.
 */
export function closeReason(reason: string): string {
  if (Buffer.byteLength(reason) <= 123) return reason;
  let out = '';
  for (const ch of reason) {
    if (Buffer.byteLength(out + ch) > 120) break;
    out += ch;
  }
  return `${out}…`; // the ellipsis is 3 bytes: 120 + 3
}
