import Router from '@koa/router';
import Koa from 'koa';
import websockify from 'koa-websocket';
import type Redis from 'ioredis';
import type { Config } from './config';
import { ChatError } from './errors';
import { ChatSocketHandler } from './handlers/chat-handler';
import type { HandlerSettings } from './handlers/websocket-handler';
import type { HistoryStore } from './engine/redis/history-store';
import type { Logger } from './logger';
import type { Metrics } from './metrics';
import type { RoomHub } from './rooms/hub';
import type { Presence } from './engine/redis/presence-store';
import { pageRoutes } from './routes/pages';
import { healthRoutes } from './routes/health';
import { mountLongPoll, WaitList } from './transports/long-poll';
import { mountShortPoll } from './transports/short-poll';
import { mountSse, SseStreams } from './transports/sse';
import { closeUnmatched, SocketRegistry } from './transports/websocket';
import { KeyedRateLimiter } from './chat/rate-limit';

/** Everything the app is wired from; made by `startServer` (or a test). */
export interface AppServices {
  readonly config: Config;
  readonly logger: Logger;
  readonly redis: Redis;
  readonly store: HistoryStore;
  readonly hub: RoomHub;
  readonly metrics: Metrics;
  readonly presence: Presence;
}

export type ChatApp = websockify.App & {
  sockets: SocketRegistry;
  streams: SseStreams;
  waitList: WaitList;
  metrics: Metrics;
  /** Ends SSE streams and held long polls, and stops the transports' timers. */
  closeHttpTransports(): void;
};

/**
 * Builds the Koa app with its HTTP and WebSocket routes. It does not listen: koa-websocket
 * creates its WebSocket server inside `app.listen()`.
 */
export function createApp(services: AppServices): ChatApp {
  const { config, logger, metrics } = services;
  const app = websockify(new Koa(), {
    maxPayload: config.maxFrameBytes,
    perMessageDeflate: false,
  }) as ChatApp;
  app.proxy = config.trustProxy;

  app.use(errorResponses);
  app.on('error', (err: unknown) => logger.error({ err }, 'request failed'));
  const http = new Router();
  http.use(healthRoutes(services.redis, metrics).routes());
  http.use(
    pageRoutes({ store: services.store, presence: services.presence, maxMessageLength: config.maxMessageLength }).routes(),
  );
  const limiter = new KeyedRateLimiter(config.rateLimit);
  app.streams = new SseStreams();
  app.waitList = new WaitList();
  mountShortPoll(http, {
    store: services.store,
    limiter,
    historyLimit: config.historyLimit,
    maxMessageLength: config.maxMessageLength,
    maxBodyBytes: config.maxFrameBytes,
    onStored: () => metrics.messagesStored.inc(),
    onRateLimited: () => metrics.rateLimited.inc(),
  });
  mountLongPoll(http, {
    hub: services.hub,
    store: services.store,
    waitList: app.waitList,
    onHold: (delta) => metrics.connections.inc({ transport: 'longpoll' }, delta),
  });
  mountSse(http, {
    hub: services.hub,
    streams: app.streams,
    maxBufferedBytes: config.maxBufferedBytes,
    onOpen: () => metrics.connections.inc({ transport: 'sse' }),
    onClose: () => metrics.connections.dec({ transport: 'sse' }),
  });
  app.use(http.routes()).use(http.allowedMethods());
  app.closeHttpTransports = () => {
    app.streams.close();
    app.waitList.close();
    limiter.close();
  };

  const settings: HandlerSettings = {
    logger,
    allowedOrigins: config.allowedOrigins,
    maxBufferedBytes: config.maxBufferedBytes,
    maxMessageSize: config.maxFrameBytes,
    onSlowConsumer: () => metrics.slowConsumers.inc(),
  };
  app.metrics = metrics;
  app.sockets = new SocketRegistry(config.pingIntervalMs, logger);
  const ws = new Router();
  app.sockets.mount(ws, '/ws/:room', (socket, request) => {
    metrics.connections.inc({ transport: 'websocket' });
    socket.once('close', () => metrics.connections.dec({ transport: 'websocket' }));
    return new ChatSocketHandler(socket, request, settings, {
      hub: services.hub,
      store: services.store,
      maxMessageLength: config.maxMessageLength,
      rateLimit: config.rateLimit,
      onEvent: (event) => {
        if (event === 'stored') metrics.messagesStored.inc();
        if (event === 'rate_limited') metrics.rateLimited.inc();
      },
    });
  });
  app.ws.use(ws.routes() as unknown as websockify.Middleware<Koa.DefaultState, Koa.DefaultContext>);
  app.ws.use(closeUnmatched as unknown as websockify.Middleware<Koa.DefaultState, Koa.DefaultContext>);
  return app;
}

/** Maps errors to `{"error":{"code","message"}}` and hides internals (Koa's ctx.onerror, in one place). */
async function errorResponses(ctx: Koa.Context, next: Koa.Next): Promise<void> {
  try {
    await next();
    if (ctx.status === 404 && ctx.body === undefined) {
      throw new ChatError('not_found', `Nothing is served at ${ctx.method} ${ctx.path}.`);
    }
  } catch (err) {
    const chatError =
      err instanceof ChatError
        ? err
        : new ChatError(statusCode(err), messageOf(err), { expose: exposed(err), cause: err });
    ctx.status = chatError.status;
    ctx.body = {
      error: { code: chatError.code, message: chatError.expose ? chatError.message : 'Internal server error.' },
    };
    if (!chatError.expose) ctx.app.emit('error', err, ctx);
  }
}

function statusCode(err: unknown): ChatError['code'] {
  const status = (err as { status?: number }).status;
  if (status === 413) return 'too_long';
  if (status === 400 || status === 415 || status === 422) return 'bad_request';
  if (status === 404) return 'not_found';
  return 'internal';
}

function exposed(err: unknown): boolean {
  return (err as { expose?: boolean }).expose === true;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
