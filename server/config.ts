import { z } from 'zod';
import { loadAuthConfig, type AuthConfig } from './auth/auth-config';
import type { EngineSetting } from './engine/choose-engine';

/** The server's settings, read once from the environment (PROTOCOL.md "Configuration"). */
export interface Config {
  readonly port: number;
  readonly host: string;
  readonly redisUrl: string;
  /** False when REDIS_URL was not given, so `npm start` may start a Redis of its own. */
  readonly redisUrlFromEnv: boolean;
  /** `ENGINE`: `auto` (Redis when there is one, else memory), `redis` or `memory`. */
  readonly engine: EngineSetting;
  /** Where the memory engine keeps its snapshot between runs; empty: nowhere. */
  readonly memorySnapshotPath: string;
  readonly historyLimit: number;
  readonly maxMessageLength: number;
  readonly maxFrameBytes: number;
  /** Origins allowed to open a WebSocket; empty means "the server's own origin". */
  readonly allowedOrigins: readonly string[];
  /** Messages per second one connection (or one HTTP client address) may send; 0 turns it off. */
  readonly rateLimit: number;
  readonly maxBufferedBytes: number;
  readonly pingIntervalMs: number;
  readonly logLevel: LogLevel;
  /** Behind a reverse proxy: take client addresses from X-Forwarded-For. */
  readonly trustProxy: boolean;
  /** Identity: the token key, the claims checked, and what anonymous visitors may do. */
  readonly auth: AuthConfig;
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** Every default in one place, ws-style. */
export const DEFAULTS = Object.freeze({
  PORT: 3000,
  HOST: '127.0.0.1',
  REDIS_URL: 'redis://127.0.0.1:6379',
  ENGINE: 'auto' as EngineSetting,
  MEMORY_SNAPSHOT_PATH: 'data/memory.json',
  HISTORY_LIMIT: 100,
  MAX_MESSAGE_LENGTH: 2000,
  MAX_FRAME_BYTES: 65536,
  ALLOWED_ORIGINS: '',
  RATE_LIMIT: 20,
  MAX_BUFFERED_BYTES: 1048576,
  PING_INTERVAL_MS: 25000,
  LOG_LEVEL: 'info' as LogLevel,
  TRUST_PROXY: '0',
});

const integer = (key: string, min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, `${key} must be an integer between ${min} and ${max}`)
    .transform(Number)
    .refine((n) => n >= min && n <= max, `${key} must be an integer between ${min} and ${max}`);

const schema = z.object({
  PORT: integer('PORT', 0, 65535),
  HOST: z.string().trim().min(1, 'HOST must be an address to bind, such as 127.0.0.1 or 0.0.0.0'),
  REDIS_URL: z
    .string()
    .trim()
    .regex(/^rediss?:\/\/\S+$/, 'REDIS_URL must be a redis:// or rediss:// URL, such as redis://127.0.0.1:6379'),
  ENGINE: z.enum(['auto', 'redis', 'memory'], { message: 'ENGINE must be auto, redis or memory' }),
  MEMORY_SNAPSHOT_PATH: z.string(),
  HISTORY_LIMIT: integer('HISTORY_LIMIT', 1, 10000),
  MAX_MESSAGE_LENGTH: integer('MAX_MESSAGE_LENGTH', 1, 1_000_000),
  MAX_FRAME_BYTES: integer('MAX_FRAME_BYTES', 1024, 16 * 1024 * 1024),
  ALLOWED_ORIGINS: z.string(),
  RATE_LIMIT: integer('RATE_LIMIT', 0, 1_000_000),
  MAX_BUFFERED_BYTES: integer('MAX_BUFFERED_BYTES', 1024, 1024 * 1024 * 1024),
  PING_INTERVAL_MS: integer('PING_INTERVAL_MS', 100, 3_600_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
    message: 'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent',
  }),
  TRUST_PROXY: z.enum(['0', '1'], { message: 'TRUST_PROXY must be 0 or 1' }),
});

/**
 * Reads the configuration from `env` (default `process.env`), applying the defaults.
 * Throws a `TypeError` with a sentence naming the key when a value is invalid.
 *
 * @example
 * const config = loadConfig({ PORT: '0', REDIS_URL: 'redis://127.0.0.1:6390' });
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const raw: Record<string, string> = {};
  for (const [key, fallback] of Object.entries(DEFAULTS)) {
    const value = env[key];
    raw[key] = value === undefined || value === '' ? String(fallback) : value;
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    throw new TypeError(parsed.error.issues.map((issue) => issue.message).join('; '));
  }
  const c = parsed.data;
  if (c.MAX_MESSAGE_LENGTH * 4 > c.MAX_FRAME_BYTES) {
    throw new TypeError(
      'MAX_FRAME_BYTES must be at least 4 × MAX_MESSAGE_LENGTH bytes, so that a message of the longest allowed text always fits in a frame',
    );
  }
  const allowedOrigins = c.ALLOWED_ORIGINS.split(',')
    .map((o) => o.trim().replace(/\/+$/, ''))
    .filter(Boolean);
  return Object.freeze({
    port: c.PORT,
    host: c.HOST,
    redisUrl: c.REDIS_URL,
    redisUrlFromEnv: Boolean(env.REDIS_URL),
    engine: c.ENGINE,
    memorySnapshotPath: env.MEMORY_SNAPSHOT_PATH === '' ? '' : c.MEMORY_SNAPSHOT_PATH,
    historyLimit: c.HISTORY_LIMIT,
    maxMessageLength: c.MAX_MESSAGE_LENGTH,
    maxFrameBytes: c.MAX_FRAME_BYTES,
    allowedOrigins: Object.freeze(allowedOrigins),
    rateLimit: c.RATE_LIMIT,
    maxBufferedBytes: c.MAX_BUFFERED_BYTES,
    pingIntervalMs: c.PING_INTERVAL_MS,
    logLevel: c.LOG_LEVEL,
    trustProxy: c.TRUST_PROXY === '1',
    auth: loadAuthConfig(env),
  });
}
