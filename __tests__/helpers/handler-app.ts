import Router from '@koa/router';
import Koa from 'koa';
import websockify from 'koa-websocket';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type WebSocket from 'ws';
import type { HandlerRequest, HandlerSettings, WebSocketHandler } from '../../server/handlers/websocket-handler';
import { createLogger } from '../../server/logger';
import { closeUnmatched, SocketRegistry } from '../../server/transports/websocket';

type HandlerClass = new (socket: WebSocket, request: HandlerRequest, settings: HandlerSettings) => WebSocketHandler;

export interface HandlerApp {
  readonly port: number;
  readonly server: Server;
  readonly sockets: SocketRegistry;
  close(): Promise<void>;
}

/** A bare koa-websocket app serving handler classes at paths: the base class with no chat in it. */
export async function serveHandlers(
  routes: Record<string, HandlerClass>,
  settings: Partial<HandlerSettings> & { pingIntervalMs?: number; maxPayload?: number } = {},
): Promise<HandlerApp> {
  const logger = createLogger('silent');
  const full: HandlerSettings = {
    logger,
    allowedOrigins: [],
    maxBufferedBytes: 1 << 20,
    maxFrameBytes: 65536,
    ...settings,
  };
  const app = websockify(new Koa(), { maxPayload: settings.maxPayload ?? 65536 });
  const sockets = new SocketRegistry(settings.pingIntervalMs ?? 60_000, logger);
  const router = new Router();
  for (const [path, Handler] of Object.entries(routes)) {
    sockets.mount(router, path, (socket, request) => new Handler(socket, request, full));
  }
  app.ws.use(router.routes() as unknown as websockify.Middleware<Koa.DefaultState, Koa.DefaultContext>);
  app.ws.use(closeUnmatched as unknown as websockify.Middleware<Koa.DefaultState, Koa.DefaultContext>);
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    server,
    sockets,
    async close() {
      await sockets.closeAll(1001, 'test over');
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}
