import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { createApp, type ChatApp } from './app';
import type { Config } from './config';
import type { Engine, HistoryStore } from './engine/engine';
import { createMemoryEngine } from './engine/memory/memory-engine';
import { connectRedisClusterEngine, connectRedisEngine } from './engine/redis/redis-engine';
import type { Logger } from './logger';
import { Metrics } from './metrics';
import { RoomHub } from './rooms/hub';
import { PresenceAnnouncer } from './rooms/presence-announcer';

/** A listening chat server. */
export interface RunningServer {
  readonly url: string;
  readonly port: number;
  readonly app: ChatApp;
  readonly http: Server;
  readonly hub: RoomHub;
  readonly engine: Engine;
  readonly metrics: Metrics;
  /** The engine's history store (tests and scripts append and read through it). */
  readonly history: HistoryStore;
  /** Closes members with 1001, lets stores in flight finish, closes the engine. */
  close(): Promise<void>;
}

/**
 * The composition root: connects the engine, builds the hub, the presence announcer and the
 * app, listens on `config.host:config.port`, and owns the one shutdown path.
 */
export async function startServer(config: Config, logger: Logger): Promise<RunningServer> {
  const log = logger.child({ module: 'chat:server' });
  const metrics = new Metrics();
  const logEngineError = throttled((err: unknown) => log.warn({ err: (err as Error).message }, 'engine error'));
  const processId = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const onError = (err: unknown) => {
    metrics.engineError();
    logEngineError(err);
  };
  // `auto` was settled by `npm start` (index.ts); a server started directly on `auto` uses Redis.
  const engine: Engine =
    config.engine === 'memory'
      ? createMemoryEngine({
          historyLimit: config.historyLimit,
          historyTtlSec: config.historyTtlSec,
          processId,
          onError,
          ...(config.memorySnapshotPath !== '' && { snapshotPath: config.memorySnapshotPath }),
        })
      : config.redisClusterNodes.length > 0
        ? await connectRedisClusterEngine({ nodes: config.redisClusterNodes, historyLimit: config.historyLimit, historyTtlSec: config.historyTtlSec, processId, onError })
        : await connectRedisEngine({ url: config.redisUrl, historyLimit: config.historyLimit, historyTtlSec: config.historyTtlSec, processId, onError });
  const presence = new PresenceAnnouncer({ store: engine.presence, log: logger.child({ module: 'chat:presence' }) });
  const hub = new RoomHub({
    history: engine.history,
    bus: engine.bus,
    presence,
    logger,
    onDelivered: (members) => metrics.delivered(members),
  });
  const app = createApp({ config, logger, engine, hub, metrics });

  const http = app.listenOn(config.port, config.host);
  try {
    await Promise.race([
      once(http, 'listening'),
      once(http, 'error').then(([err]) => Promise.reject(err as Error)),
    ]);
  } catch (err) {
    hub.close();
    await presence.close();
    await engine.close().catch(() => undefined);
    const code = (err as { code?: string }).code;
    throw new Error(
      code === 'EADDRINUSE'
        ? `Port ${config.port} on ${config.host} is already in use: stop what listens there or set PORT.`
        : `Cannot listen on ${config.host}:${config.port}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  const { port } = http.address() as AddressInfo;
  const shownHost = config.host.includes(':') ? `[${config.host}]` : config.host;
  let closing: Promise<void> | undefined;

  return {
    url: `http://${shownHost}:${port}`,
    port,
    app,
    http,
    hub,
    engine,
    metrics,
    history: engine.history,
    close: () =>
      (closing ??= (async () => {
        http.close();
        await app.closeTransports();
        http.closeAllConnections();
        hub.close();
        await presence.close();
        await engine.close();
      })()),
  };
}

function throttled(fn: (err: unknown) => void, everyMs = 5000): (err: unknown) => void {
  let last = 0;
  return (err) => {
    const now = Date.now();
    if (now - last < everyMs) return;
    last = now;
    fn(err);
  };
}
