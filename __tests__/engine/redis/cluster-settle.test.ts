import { loadConfig } from '../../../server/config';
import { settleEngine, type EngineProbes } from '../../../server/engine/settle-engine';

/** Probes that must not be asked: REDIS_CLUSTER_NODES names the engine by itself. */
const noProbes: EngineProbes = {
  redisAnswers: () => Promise.reject(new Error('probed the default address')),
  redisServerInstalled: () => {
    throw new Error('looked for redis-server');
  },
  startLocalRedis: () => Promise.reject(new Error('started a redis-server')),
};

describe('settleEngine(config, probes) with REDIS_CLUSTER_NODES', () => {
  it('uses that cluster only, without probing, and names it on the start line', async () => {
    const settled = await settleEngine(loadConfig({ REDIS_CLUSTER_NODES: '127.0.0.1:7000,[::1]:7001' }), noProbes);
    expect([settled.choice, settled.config.engine, settled.description]).toEqual([
      'redis-configured',
      'redis',
      'redis cluster at 127.0.0.1:7000,[::1]:7001',
    ]);
  });

  it('wins over REDIS_URL, and refuses ENGINE=memory beside it', async () => {
    const config = loadConfig({ REDIS_CLUSTER_NODES: '127.0.0.1:7000', REDIS_URL: 'redis://127.0.0.1:6390' });
    expect((await settleEngine(config, noProbes)).description).toBe('redis cluster at 127.0.0.1:7000');
    await expect(settleEngine(loadConfig({ REDIS_CLUSTER_NODES: '127.0.0.1:7000', ENGINE: 'memory' }), noProbes)).rejects.toThrow(
      /ENGINE=memory cannot be used with REDIS_CLUSTER_NODES set/,
    );
  });
});
