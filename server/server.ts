import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import type Redis from 'ioredis';
import { createApp, type ChatApp } from './app';
import type { Config } from './config';
import { HistoryStore } from './engine/redis/history-store';
import type { Logger } from './logger';
import { Metrics } from './metrics';
import { connectCommandClient, connectSubscriber } from './engine/redis/connect';
import { RoomHub } from './rooms/hub';
import { Presence } from './engine/redis/presence-store';

/** A listening chat server. */
export interface RunningServer {
  readonly url: string;
  readonly port: number;
  readonly app: ChatApp;
  readonly http: Server;
  readonly hub: RoomHub;
  readonly store: HistoryStore;
  /** Closes members with 1001, lets stores in flight finish, quits Redis. */
  close(): Promise<void>;
}

/** Connects to Redis, builds the app and listens on `config.host:config.port`. */
export async function startServer(config: Config, logger: Logger): Promise<RunningServer> {
  const log = logger.child({ module: 'chat:server' });
  const metrics = new Metrics();
  const logRedisError = throttled((err: Error) => log.warn({ err: err.message }, 'Redis connection error'));
  const onRedisError = (err: Error) => {
    metrics.redisErrors.inc();
    logRedisError(err);
  };
  let redis: Redis | undefined;
  let subscriber: Redis | undefined;
  try {
    redis = await connectCommandClient(config.redisUrl, { onError: onRedisError });
    subscriber = await connectSubscriber(config.redisUrl, { onError: onRedisError });
  } catch (err) {
    redis?.disconnect();
    subscriber?.disconnect();
    throw new Error(`Cannot reach Redis at ${config.redisUrl}: ${(err as Error).message}`, { cause: err });
  }
  const store = new HistoryStore(redis, config.historyLimit, () => metrics.redisErrors.inc());
  const processId = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const presence = new Presence(redis, processId);
  const hub = new RoomHub({ subscriber, store, presence, logger, onDelivered: (n) => metrics.messagesDelivered.inc(n) });
  const app = createApp({ config, logger, redis, store, hub, metrics, presence });

  const http = app.listen(config.port, config.host);
  await once(http, 'listening');
  const { port } = http.address() as AddressInfo;
  const shownHost = config.host.includes(':') ? `[${config.host}]` : config.host;
  let closing: Promise<void> | undefined;

  return {
    url: `http://${shownHost}:${port}`,
    port,
    app,
    http,
    hub,
    store,
    close: () =>
      (closing ??= (async () => {
        http.close();
        app.closeHttpTransports();
        await app.sockets.closeAll(1001, 'server shutting down');
        http.closeAllConnections();
        await hub.close();
        await Promise.all([quit(redis), quit(subscriber)]);
      })()),
  };
}

/** QUIT politely when Redis answers; otherwise stop reconnecting at once. */
async function quit(client: Redis): Promise<void> {
  if (client.status === 'ready') {
    await Promise.race([client.quit().catch(() => undefined), new Promise((r) => setTimeout(r, 1000).unref())]);
  }
  client.disconnect(false);
}

function throttled(fn: (err: Error) => void, everyMs = 5000): (err: Error) => void {
  let last = 0;
  return (err) => {
    const now = Date.now();
    if (now - last < everyMs) return;
    last = now;
    fn(err);
  };
}
