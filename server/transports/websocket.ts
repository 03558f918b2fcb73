import { once } from 'node:events';
import type Router from '@koa/router';
import type { Context } from 'koa';
import type WebSocket from 'ws';
import { ChatSocketHandler } from '../handlers/chat-handler';
import type { HandlerRequest, HandlerSettings, WebSocketHandler } from '../handlers/websocket-handler';
import type { Logger } from '../logger';
import type { MountedTransport, TransportContext, TransportRoutes } from './index';

/** Makes the handler for one connection. */
export type HandlerFactory = (socket: WebSocket, request: HandlerRequest) => WebSocketHandler;

/**
 * The open WebSocket handlers of this process: mounts them on routes, keeps them alive with
 * one heartbeat timer for all (the ws README's isAlive pattern), and closes them at shutdown.
 */
export class SocketRegistry {
  private readonly handlers = new Set<WebSocketHandler>();
  private readonly heartbeat: NodeJS.Timeout;

  constructor(
    pingIntervalMs: number,
    private readonly logger: Logger,
  ) {
    this.heartbeat = setInterval(() => this.beat(), pingIntervalMs);
    this.heartbeat.unref();
  }

  /** Serves `path` on `router` with a new handler per connection; `closed` runs as each one closes. */
  mount(router: Router, path: string, factory: HandlerFactory, closed?: () => void): void {
    router.get(path, (ctx: Context) => {
      const socket = (ctx as Context & { websocket: WebSocket }).websocket;
      const handler = factory(socket, {
        params: (ctx as Context & { params: Record<string, string> }).params,
        query: ctx.query,
        headers: ctx.headers,
        ip: ctx.ip,
        host: ctx.host,
      });
      this.handlers.add(handler);
      handler.run(() => {
        this.handlers.delete(handler);
        closed?.();
      });
    });
  }

  get size(): number {
    return this.handlers.size;
  }

  /** Closes every socket with `code` and resolves when their `onClose` hooks have run. */
  async closeAll(code: number, reason: string): Promise<void> {
    clearInterval(this.heartbeat);
    const handlers = [...this.handlers];
    for (const handler of handlers) handler.close(code, reason);
    const closed = (h: WebSocketHandler) =>
      h.socket.readyState === h.socket.CLOSED ? Promise.resolve() : once(h.socket, 'close');
    // whenFinished() is read after the close: by then onClose has joined the handler's queue.
    await Promise.all(handlers.map((h) => closed(h).then(() => h.whenFinished())));
  }

  private beat(): void {
    for (const handler of this.handlers) {
      if (!handler.isAlive) {
        this.logger.debug('terminating a WebSocket that answered no ping');
        handler.socket.terminate();
        continue;
      }
      handler.isAlive = false;
      handler.ping();
    }
  }
}

/**
 * The chat over WebSocket (`/ws/:room`): one `ChatSocketHandler` per connection, kept alive by
 * the registry's heartbeat.
 */
export function mountWebSocket({ ws }: TransportRoutes, context: TransportContext): MountedTransport {
  const { config, logger, metrics } = context;
  const sockets = new SocketRegistry(config.pingIntervalMs, logger);
  const settings: HandlerSettings = {
    logger,
    allowedOrigins: config.allowedOrigins,
    publicUrl: config.publicUrl,
    maxBufferedBytes: config.maxBufferedBytes,
    maxFrameBytes: config.maxFrameBytes,
    metrics,
  };
  const services = {
    hub: context.hub,
    admission: context.admission,
    moderation: context.moderation,
    sender: context.sender,
    rateLimit: config.rateLimit,
    limiter: context.limiter,
  };
  sockets.mount(
    ws,
    '/ws/:room',
    (socket, request) => {
      metrics.connectionOpened('websocket');
      return new ChatSocketHandler(socket, request, settings, services);
    },
    () => metrics.connectionClosed('websocket'),
  );
  return {
    get size() {
      return sockets.size;
    },
    close: () => sockets.closeAll(1001, 'server shutting down'),
  };
}

/**
 * The last WebSocket middleware, reached only when no route took the connection: koa-websocket
 * completes the handshake before routing, so it would otherwise stay open forever
 * (DEPENDENCIES.md trap 1).
 */
export function closeUnmatched(ctx: Context): void {
  const socket = (ctx as Context & { websocket: WebSocket }).websocket;
  socket.close(1008, `no WebSocket endpoint at ${ctx.path.slice(0, 80)}`);
}
