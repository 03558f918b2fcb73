import 'dotenv/config';
import { loadConfig, DEFAULTS, type Config } from './config';
import { startLocalRedis, redisAnswers, redisServerInstalled, type LocalRedis } from './engine/redis/local-redis';
import { createLogger, type Logger } from './logger';
import { startServer } from './server';

/** `npm start`: read the configuration, make sure Redis is there, serve, and shut down cleanly. */
async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    return fail((err as Error).message);
  }
  const logger = createLogger(config.logLevel);
  const localRedis = await ensureRedis(config, logger);
  if (localRedis) config = { ...config, redisUrl: localRedis.url };

  let server;
  try {
    server = await startServer(config, logger);
  } catch (err) {
    await localRedis?.stop();
    return fail((err as Error).message);
  }
  process.stdout.write(`Chat server listening on ${server.url}\n`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    await server.close();
    await localRedis?.stop();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

/**
 * When REDIS_URL was not set and nothing answers on the default address, start a redis-server
 * of our own (data under ./data) if one is installed; otherwise explain how to get one.
 */
async function ensureRedis(config: Config, logger: Logger): Promise<LocalRedis | undefined> {
  const url = new URL(config.redisUrl);
  const host = url.hostname || '127.0.0.1';
  const port = Number(url.port || 6379);
  if (config.redisUrlFromEnv) return undefined;
  if (await redisAnswers(host, port)) return undefined;
  if (!redisServerInstalled()) {
    fail(
      `No Redis answers at ${DEFAULTS.REDIS_URL}. Install one (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis) or set REDIS_URL to a Redis you have.`,
    );
  }
  const local = await startLocalRedis(host, port, 'data');
  logger.info({ url: local.url, dir: local.dir }, `started a local redis-server at ${local.url} with its data in ${local.dir}; it stops with the chat server`);
  return local;
}

function fail(message: string): never {
  process.stderr.write(`chat server: ${message}\n`);
  process.exit(1);
}

void main();
