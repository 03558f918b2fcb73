import { createServer, ServerResponse, type IncomingMessage, type Server } from 'node:http';
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
import { ConnectionLimits } from './http/connection-limits';
import { crossSiteGuard } from './http/cross-site';
import { errorResponses } from './http/error-responses';
import { bindsLoopback } from './http/origin';
import { loggableUrl, requestLog } from './http/request-log';
import { responseGuards } from './http/response-guards';
import type { Logger } from './logger';
import type { Metrics } from './metrics';
import type { RoomHub } from './rooms/hub';
import { apiRoutes } from './routes/api';
import { healthRoutes } from './routes/health';
import { pageRoutes } from './routes/pages';
import { mountTransports, type MountedTransport, type TransportName } from './transports/index';
import { verifyHandshake, type RequestFacts } from './transports/handshake';
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
  /** Listens on `host:port` with the request timeouts and the WebSocket server attached (koa-websocket's `listen`, with options it cannot pass). */
  listenOn(port: number, host: string): Server;
  /** The mounted transports, by name: their connection counts. */
  readonly transports: Readonly<Record<TransportName, MountedTransport>>;
  /** Ends every connection of every transport (WebSockets with 1001) and stops their timers. */
  closeTransports(): Promise<void>;
};

type WsMiddleware = websockify.Middleware<Koa.DefaultState, Koa.DefaultContext>;

/**
 * Builds the Koa app: middleware order, pages, health, and the four transports. It does not
 * listen: `listenOn()` does, attaching the WebSocket server to the HTTP server it makes.
 */
export function createApp(services: AppServices): ChatApp {
  const { config, logger, metrics, engine } = services;
  const origins = { allowedOrigins: config.allowedOrigins, publicUrl: config.publicUrl };
  const loopbackHostsOnly = bindsLoopback(config.host) && config.publicUrl === '';
  const limits = new ConnectionLimits(config.maxConnectionsPerIp, config.maxConnections);
  const wsOptions = {
    maxPayload: config.maxFrameBytes,
    perMessageDeflate: false,
    // Only the protocol we speak; a `bearer.TOKEN` offered beside it is read, never echoed.
    handleProtocols: (protocols: Set<string>) => (protocols.has('chat') ? 'chat' : false),
    // Koa's own ctx.ip and ctx.host (TRUST_PROXY included), as for every HTTP transport.
    verifyClient: verifyHandshake({ origins, limits, loopbackHostsOnly, factsOf: (req: IncomingMessage): RequestFacts => app.createContext(req, new ServerResponse(req)) }),
  };
  const app = websockify(new Koa(), wsOptions);
  // TRUST_PROXY proxies in front: ctx.ip is that many hops from the right of X-Forwarded-For.
  app.proxy = config.trustProxy > 0;
  app.maxIpsCount = config.trustProxy;
  app.use(requestLog(logger));
  app.use(errorResponses);
  app.use(responseGuards({ loopbackHostsOnly }));
  app.use(crossSiteGuard(origins));
  app.ws.use(async (ctx, next) => {
    logger.debug({ module: 'chat:ws', url: loggableUrl(ctx.url) }, 'websocket');
    await next();
  });
  app.on('error', (err: unknown, ctx?: Koa.Context) => {
    const url = ctx && loggableUrl(ctx.url);
    // A client that left in the middle of a streamed answer (an SSE stream it closed) is normal.
    if (clientWentAway(err)) return logger.debug({ url, code: (err as { code?: string }).code }, 'client went away');
    logger.error({ err, url }, 'request failed');
  });

  const http = new Router();
  const ws = new Router();
  const access = new Access(config.auth);
  const admission = new Admission(access, engine.bans);
  http.use(healthRoutes(engine, metrics, config.metricsToken).routes());
  http.use(
    pageRoutes({ history: engine.history, presence: engine.presence, access, maxMessageLength: config.maxMessageLength }).routes(),
  );
  const moderation = new Moderation(engine);
  http.use(
    apiRoutes({ admission, moderation, presence: engine.presence, maxFrameBytes: config.maxFrameBytes }).routes(),
  );
  const limiter = new KeyedRateLimiter(config.rateLimit);
  const sender = new MessageSender({ history: engine.history, maxMessageLength: config.maxMessageLength, metrics });
  const transports = mountTransports(
    { http, ws },
    { config, hub: services.hub, admission, moderation, history: engine.history, sender, limiter, limits, metrics, logger },
  );
  app.use(http.routes()).use(http.allowedMethods());
  app.ws.use(ws.routes() as unknown as WsMiddleware);
  app.ws.use(closeUnmatched as unknown as WsMiddleware);

  return Object.assign(app, {
    transports,
    listenOn(port: number, host: string): Server {
      // Slow or silent clients cannot hold the server: headers within 10 s, a whole request within
      // 30 s, checked every second (Node checks every 30 s by default, so a trickle lived ~40 s).
      const server = createServer(
        { headersTimeout: 10_000, requestTimeout: 30_000, connectionsCheckingInterval: 1000 },
        app.callback(),
      );
      app.ws.listen({ ...wsOptions, server } as Parameters<typeof app.ws.listen>[0]);
      // ws re-emits the HTTP server's errors (EADDRINUSE); the caller handles them on the server.
      (app.ws as unknown as { server: { on(event: 'error', fn: () => void): void } }).server.on('error', () => undefined);
      // A deploy brings thousands of reconnects at once: Node's default backlog (511) drops the
      // overflow, whose clients then wait 1 s and 3 s to retry.
      return server.listen({ port, host, backlog: LISTEN_BACKLOG });
    },
    async closeTransports() {
      limiter.close();
      await Promise.all(Object.values(transports).map((transport) => transport.close()));
    },
  });
}

/** Connections waiting to be accepted (the kernel caps it at net.core.somaxconn). */
const LISTEN_BACKLOG = 4096;

const CLIENT_GONE = new Set(['ERR_STREAM_PREMATURE_CLOSE', 'ECONNRESET', 'EPIPE', 'ECONNABORTED']);

function clientWentAway(err: unknown): boolean {
  return CLIENT_GONE.has((err as { code?: string }).code ?? '');
}
