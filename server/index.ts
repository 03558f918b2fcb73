import 'dotenv/config';
import cluster from 'node:cluster';
import { runPrimary, reportToPrimary } from './cluster';
import { loadConfig, type Config } from './config';
import { settleEngine, type SettledEngine } from './engine/settle-engine';
import { createLogger } from './logger';
import { startServer } from './server';

/**
 * `npm start`: read the configuration, settle the engine, then serve — in this process, or with
 * `WORKERS` over 1 in that many worker processes on one port — and shut down cleanly.
 */
async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    return fail((err as Error).message);
  }
  if (cluster.isWorker) return serve(config, undefined);
  let settled: SettledEngine;
  try {
    settled = await settleEngine(config);
  } catch (err) {
    return fail((err as Error).message);
  }
  const logger = createLogger(config.logLevel);
  const { localRedis } = settled;
  if (localRedis) logger.info({ url: localRedis.url, dir: localRedis.dir }, 'started a local redis-server; it stops with the chat server');
  if (config.workers === 1) return serve(settled.config, settled);

  runPrimary({
    workers: config.workers,
    // Workers run on the engine the primary settled, never settling again (nor starting a Redis).
    env: { ENGINE: 'redis', REDIS_URL: settled.config.redisUrl },
    logger,
    onReady: (url) =>
      process.stdout.write(`Chat server listening on ${url} · engine: ${settled.description} · ${config.workers} workers\n`),
    onStopped: (code) => {
      void (localRedis?.stop() ?? Promise.resolve()).then(() => process.exit(code));
    },
  });
}

/** One server process: alone (`settled` given) or as a worker of the primary. */
async function serve(config: Config, settled: SettledEngine | undefined): Promise<void> {
  const logger = createLogger(config.logLevel);
  let server;
  try {
    server = await startServer(config, logger);
  } catch (err) {
    await settled?.localRedis?.stop();
    if (cluster.isWorker) reportToPrimary({ type: 'failed', message: (err as Error).message });
    return fail((err as Error).message);
  }
  if (settled) process.stdout.write(`Chat server listening on ${server.url} · engine: ${settled.description}\n`);
  else reportToPrimary({ type: 'listening', url: server.url });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    let code = 0;
    try {
      await server.close();
    } catch (err) {
      // The memory engine could not write its snapshot: say so, and exit non-zero.
      logger.error({ err }, 'shutdown did not finish cleanly');
      process.stderr.write(`chat server: ${(err as Error).message}\n`);
      code = 1;
    }
    await settled?.localRedis?.stop();
    process.exit(code);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

function fail(message: string): never {
  process.stderr.write(`chat server: ${message}\n`);
  process.exit(1);
}

void main();
