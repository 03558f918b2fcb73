import { loadConfig } from '../server/config';

describe('loadConfig(env)', () => {
  it('applies every default of PROTOCOL.md', () => {
    expect(loadConfig({})).toEqual({
      port: 3000,
      host: '127.0.0.1',
      redisUrl: 'redis://127.0.0.1:6379',
      redisUrlFromEnv: false,
      redisClusterNodes: [],
      engine: 'auto',
      memorySnapshotPath: 'data/memory.json',
      historyLimit: 100,
      historyTtlSec: 2592000,
      maxMessageLength: 2000,
      maxFrameBytes: 65536,
      allowedOrigins: [],
      rateLimit: 20,
      maxBufferedBytes: 1048576,
      pingIntervalMs: 25000,
      logLevel: 'info',
      trustProxy: 0,
      workers: 1,
      maxConnectionsPerIp: 100,
      maxConnections: 50000,
      publicUrl: '',
      metricsToken: '',
      auth: { key: null, anonymous: 'write', apiKeys: [] },
    });
  });

  it('reads values and splits ALLOWED_ORIGINS', () => {
    const config = loadConfig({
      PORT: '0',
      REDIS_URL: 'redis://10.0.0.1:6380/2',
      ALLOWED_ORIGINS: 'https://a.example, https://b.example/',
      RATE_LIMIT: '0',
      HISTORY_TTL: '0',
    });
    expect(config).toMatchObject({
      port: 0,
      redisUrlFromEnv: true,
      allowedOrigins: ['https://a.example', 'https://b.example'],
      rateLimit: 0,
      historyTtlSec: 0,
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it.each([
    ['PORT', '70000', 'PORT must be an integer between 0 and 65535'],
    ['HISTORY_LIMIT', 'ten', 'HISTORY_LIMIT must be an integer between 1 and 10000'],
    ['HISTORY_LIMIT', '0', 'HISTORY_LIMIT must be an integer between 1 and 10000'],
    ['HISTORY_TTL', '-1', 'HISTORY_TTL must be an integer between 0 and 315360000'],
    ['HISTORY_TTL', '315360001', 'HISTORY_TTL must be an integer between 0 and 315360000'],
    ['REDIS_URL', 'localhost:6379', 'REDIS_URL must be a redis:// or rediss:// URL'],
    ['LOG_LEVEL', 'loud', 'LOG_LEVEL must be one of'],
    ['REDIS_CLUSTER_NODES', '127.0.0.1', 'REDIS_CLUSTER_NODES must be comma-separated host:port addresses'],
    ['REDIS_CLUSTER_NODES', '127.0.0.1:7000,,127.0.0.1:7001', 'REDIS_CLUSTER_NODES must be comma-separated host:port addresses'],
    ['REDIS_CLUSTER_NODES', 'redis://127.0.0.1:7000', 'REDIS_CLUSTER_NODES must be comma-separated host:port addresses'],
    ['REDIS_CLUSTER_NODES', '127.0.0.1:70000', 'REDIS_CLUSTER_NODES must be comma-separated host:port addresses'],
  ])('rejects %s=%s with a sentence naming the key', (key, value, message) => {
    expect(() => loadConfig({ [key]: value })).toThrow(TypeError);
    expect(() => loadConfig({ [key]: value })).toThrow(message);
  });

  it('reads REDIS_CLUSTER_NODES as host:port seeds (IPv6 in brackets), beside REDIS_URL', () => {
    const config = loadConfig({ REDIS_CLUSTER_NODES: ' 10.0.0.1:7000, redis-b.internal:7001,[::1]:7002 ' });
    expect(config.redisClusterNodes).toEqual([
      { host: '10.0.0.1', port: 7000 },
      { host: 'redis-b.internal', port: 7001 },
      { host: '::1', port: 7002 },
    ]);
    expect(config.redisUrlFromEnv).toBe(false);
  });

  it('rejects a frame limit too small for the longest message', () => {
    expect(() => loadConfig({ MAX_MESSAGE_LENGTH: '20000', MAX_FRAME_BYTES: '65536' })).toThrow(/MAX_FRAME_BYTES must be at least/);
  });
});
