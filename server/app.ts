import Router from '@koa/router';
import Koa from 'koa';
import websockify from 'koa-websocket';
import { Access } from './auth/access';
import { Admission } from './chat/admission';
import { Moderation } from './chat/moderation';
import { KeyedRateLimiter } from './chat/rate-limit';
import { MessageSender } from './chat/send-message';
import type { Config } from './config';
import type { Engine } from './engine/engine';
import { crossSiteGuard } from './http/cross-site';
import { errorResponses } from './http/error-responses';
import { loggableUrl, requestLog } from './http/request-log';
import type { Logger } from './logger';
import type { Metrics } from './metrics';
import type { RoomHub } from './rooms/hub';
import { apiRoutes } from './routes/api';
import { healthRoutes } from './routes/health';
import { pageRoutes } from './routes/pages';
import { mountTransports, type MountedTransport, type TransportName } from './transports/index';
import { closeUnmatched } from './transports/websocket';

/** Everything the app is wired from; made by `startServer` (or a test). */
export interface AppServices {
  readonly config: Config;
  readonly logger: Logger;
  readonly engine: Engine;
  readonly hub: RoomHub;
  readonly metrics: Metrics;
}

export type ChatApp = websockify.App & {
  /** The mounted transports, by name: their connection counts. */
  readonly transports: Readonly<Record<TransportName, MountedTransport>>;
  /** Ends every connection of every transport (WebSockets with 1001) and stops their timers. */
  closeTransports(): Promise<void>;
};

type WsMiddleware = websockify.Middleware<Koa.DefaultState, Koa.DefaultContext>;

/**
 * Builds the Koa app: middleware order, pages, health, and the four transports. It does not
 * listen: koa-websocket creates its WebSocket server inside `app.listen()`.
 */
export function createApp(services: AppServices): ChatApp {
  const { config, logger, metrics, engine } = services;
  const app = websockify(new Koa(), {
    maxPayload: config.maxFrameBytes,
    perMessageDeflate: false,
    // Only the protocol we speak; a `bearer.TOKEN` offered beside it is read, never echoed.
    handleProtocols: (protocols: Set<string>) => (protocols.has('chat') ? 'chat' : false),
  });
  app.proxy = config.trustProxy;
  app.use(requestLog(logger));
  app.use(errorResponses);
  app.use(crossSiteGuard(config.allowedOrigins));
  app.ws.use(async (ctx, next) => {
    logger.debug({ module: 'chat:ws', url: loggableUrl(ctx.url) }, 'websocket');
    await next();
  });
  app.on('error', (err: unknown, ctx?: Koa.Context) =>
    logger.error({ err, url: ctx && loggableUrl(ctx.url) }, 'request failed'),
  );

  const http = new Router();
  const ws = new Router();
  const access = new Access(config.auth);
  const admission = new Admission(access, engine.bans);
  http.use(healthRoutes(engine, metrics).routes());
  http.use(
    pageRoutes({ history: engine.history, presence: engine.presence, access, maxMessageLength: config.maxMessageLength }).routes(),
  );
  const moderation = new Moderation(engine);
  http.use(
    apiRoutes({ admission, moderation, presence: engine.presence, maxFrameBytes: config.maxFrameBytes }).routes(),
  );
  const limiter = new KeyedRateLimiter(config.rateLimit);
  const sender = new MessageSender({ history: engine.history, admission, maxMessageLength: config.maxMessageLength, metrics });
  const transports = mountTransports(
    { http, ws },
    { config, hub: services.hub, admission, moderation, history: engine.history, sender, limiter, metrics, logger },
  );
  app.use(http.routes()).use(http.allowedMethods());
  app.ws.use(ws.routes() as unknown as WsMiddleware);
  app.ws.use(closeUnmatched as unknown as WsMiddleware);

  return Object.assign(app, {
    transports,
    async closeTransports() {
      limiter.close();
      await Promise.all(Object.values(transports).map((transport) => transport.close()));
    },
  });
}
