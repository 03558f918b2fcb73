import 'dotenv/config';
import { loadConfig, type Config } from './config';
import { settleEngine, type SettledEngine } from './engine/settle-engine';
import { createLogger } from './logger';
import { startServer } from './server';

/** `npm start`: read the configuration, settle the engine, serve, and shut down cleanly. */
async function main(): Promise<void> {
  let config: Config;
  let settled: SettledEngine;
  try {
    config = loadConfig();
    settled = await settleEngine(config);
  } catch (err) {
    return fail((err as Error).message);
  }
  config = settled.config;
  const logger = createLogger(config.logLevel);
  const { localRedis } = settled;
  if (localRedis) logger.info({ url: localRedis.url, dir: localRedis.dir }, 'started a local redis-server; it stops with the chat server');

  let server;
  try {
    server = await startServer(config, logger);
  } catch (err) {
    await localRedis?.stop();
    return fail((err as Error).message);
  }
  process.stdout.write(`Chat server listening on ${server.url} · engine: ${settled.description}\n`);

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
    await localRedis?.stop();
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
