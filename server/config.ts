import { availableParallelism } from 'node:os';
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
  /** REDIS_CLUSTER_NODES: seeds of a Redis Cluster; when any are given, the server uses it and not REDIS_URL. */
  readonly redisClusterNodes: readonly { readonly host: string; readonly port: number }[];
  /** `ENGINE`: `auto` (Redis when there is one, else memory), `redis` or `memory`. */
  readonly engine: EngineSetting;
  /** Where the memory engine keeps its snapshot between runs; empty: nowhere. */
  readonly memorySnapshotPath: string;
  readonly historyLimit: number;
  /** HISTORY_TTL: seconds after its last stored message that every key of a room expires; 0 keeps rooms forever. */
  readonly historyTtlSec: number;
  readonly maxMessageLength: number;
  readonly maxFrameBytes: number;
  /** Origins allowed to open a WebSocket; empty means "the server's own origin". */
  readonly allowedOrigins: readonly string[];
  /** Messages per second one connection (or one HTTP client address) may send; 0 turns it off. */
  readonly rateLimit: number;
  readonly maxBufferedBytes: number;
  readonly pingIntervalMs: number;
  readonly logLevel: LogLevel;
  /** Server processes `npm start` runs on one port (`WORKERS`; `auto`: one per core). */
  readonly workers: number;
  /** How many proxies stand in front: the client address is that many hops from the right of X-Forwarded-For (0: the socket's). */
  readonly trustProxy: number;
  /** Long-lived connections one client address may hold in this process (0: no limit). */
  readonly maxConnectionsPerIp: number;
  /** Long-lived connections this process holds in all (0: no limit). */
  readonly maxConnections: number;
  /** The origin users reach, e.g. https://chat.example.com; empty: the request's own scheme and Host. */
  readonly publicUrl: string;
  /** When set, /metrics needs `Authorization: Bearer METRICS_TOKEN`; unset, it answers loopback clients only. */
  readonly metricsToken: string;
  /** Identity: the token key, the claims checked, and what anonymous visitors may do. */
  readonly auth: AuthConfig;
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** Every default in one place, ws-style. */
export const DEFAULTS = Object.freeze({
  PORT: 3000,
  HOST: '127.0.0.1',
  REDIS_URL: 'redis://127.0.0.1:6379',
  REDIS_CLUSTER_NODES: '',
  ENGINE: 'auto' as EngineSetting,
  MEMORY_SNAPSHOT_PATH: 'data/memory.json',
  HISTORY_LIMIT: 100,
  HISTORY_TTL: 2592000,
  MAX_MESSAGE_LENGTH: 2000,
  MAX_FRAME_BYTES: 65536,
  ALLOWED_ORIGINS: '',
  RATE_LIMIT: 20,
  MAX_BUFFERED_BYTES: 1048576,
  PING_INTERVAL_MS: 25000,
  LOG_LEVEL: 'info' as LogLevel,
  TRUST_PROXY: 0,
  WORKERS: '1',
  MAX_CONNECTIONS_PER_IP: 100,
  MAX_CONNECTIONS: 50000,
  PUBLIC_URL: '',
  METRICS_TOKEN: '',
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
  REDIS_CLUSTER_NODES: z
    .string()
    .trim()
    .refine(
      (v) => v === '' || v.split(',').every((seed) => clusterSeed(seed.trim()) !== undefined),
      'REDIS_CLUSTER_NODES must be comma-separated host:port addresses of Redis Cluster nodes, such as 127.0.0.1:7000,127.0.0.1:7001',
    )
    .transform((v) => (v === '' ? [] : v.split(',').map((seed) => clusterSeed(seed.trim())!))),
  ENGINE: z.enum(['auto', 'redis', 'memory'], { message: 'ENGINE must be auto, redis or memory' }),
  MEMORY_SNAPSHOT_PATH: z.string(),
  HISTORY_LIMIT: integer('HISTORY_LIMIT', 1, 10000),
  HISTORY_TTL: integer('HISTORY_TTL', 0, 315_360_000),
  MAX_MESSAGE_LENGTH: integer('MAX_MESSAGE_LENGTH', 1, 1_000_000),
  MAX_FRAME_BYTES: integer('MAX_FRAME_BYTES', 1024, 16 * 1024 * 1024),
  ALLOWED_ORIGINS: z.string(),
  RATE_LIMIT: integer('RATE_LIMIT', 0, 1_000_000),
  MAX_BUFFERED_BYTES: integer('MAX_BUFFERED_BYTES', 1024, 1024 * 1024 * 1024),
  PING_INTERVAL_MS: integer('PING_INTERVAL_MS', 100, 3_600_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
    message: 'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent',
  }),
  TRUST_PROXY: integer('TRUST_PROXY', 0, 10),
  WORKERS: z
    .string()
    .trim()
    .regex(/^(auto|\d{1,3})$/, 'WORKERS must be a number of processes from 1 to 256, or auto (one per core)')
    .transform((v) => (v === 'auto' ? availableParallelism() : Number(v)))
    .refine((n) => n >= 1 && n <= 256, 'WORKERS must be a number of processes from 1 to 256, or auto (one per core)'),
  MAX_CONNECTIONS_PER_IP: integer('MAX_CONNECTIONS_PER_IP', 0, 10_000_000),
  MAX_CONNECTIONS: integer('MAX_CONNECTIONS', 0, 10_000_000),
  PUBLIC_URL: z
    .string()
    .trim()
    .regex(/^(https?:\/\/[^/\s?#]+\/?)?$/, 'PUBLIC_URL must be the origin users reach, such as https://chat.example.com'),
  METRICS_TOKEN: z.string(),
});

/** `host:port` or `[v6-address]:port`, with a port from 1 to 65535, else undefined. */
function clusterSeed(seed: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^\s:,[\]]+)):(\d{1,5})$/.exec(seed);
  if (!m) return undefined;
  const port = Number(m[3]);
  return port >= 1 && port <= 65535 ? { host: m[1] ?? m[2]!, port } : undefined;
}

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
    redisClusterNodes: Object.freeze(c.REDIS_CLUSTER_NODES),
    engine: c.ENGINE,
    memorySnapshotPath: env.MEMORY_SNAPSHOT_PATH === '' ? '' : c.MEMORY_SNAPSHOT_PATH,
    historyLimit: c.HISTORY_LIMIT,
    historyTtlSec: c.HISTORY_TTL,
    maxMessageLength: c.MAX_MESSAGE_LENGTH,
    maxFrameBytes: c.MAX_FRAME_BYTES,
    allowedOrigins: Object.freeze(allowedOrigins),
    rateLimit: c.RATE_LIMIT,
    maxBufferedBytes: c.MAX_BUFFERED_BYTES,
    pingIntervalMs: c.PING_INTERVAL_MS,
    logLevel: c.LOG_LEVEL,
    trustProxy: c.TRUST_PROXY,
    workers: c.WORKERS,
    maxConnectionsPerIp: c.MAX_CONNECTIONS_PER_IP,
    maxConnections: c.MAX_CONNECTIONS,
    publicUrl: c.PUBLIC_URL.replace(/\/+$/, ''),
    metricsToken: c.METRICS_TOKEN,
    auth: loadAuthConfig(env),
  });
}
