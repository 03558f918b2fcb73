import { loadConfig } from '../../server/config';
import type { LocalRedis } from '../../server/engine/redis/local-redis';
import { settleEngine, type EngineProbes } from '../../server/engine/settle-engine';

/** Probes that answer as told and write down what was asked. */
function probes(answers: { defaultAnswers: boolean; installed: boolean }) {
  const asked: string[] = [];
  const fake: EngineProbes = {
    redisAnswers: async (host, port) => {
      asked.push(`ping ${host}:${port}`);
      return answers.defaultAnswers;
    },
    redisServerInstalled: () => {
      asked.push('which redis-server');
      return answers.installed;
    },
    startLocalRedis: async (host, port, dir) => {
      asked.push(`start ${host}:${port} in ${dir}`);
      return { url: `redis://${host}:${port}`, dir: `/abs/${dir}`, stop: async () => undefined, kill: async () => undefined } as LocalRedis;
    },
  };
  return { fake, asked };
}

describe('settleEngine(config, probes) for ENGINE=auto', () => {
  it('uses the Redis on the default address when one answers', async () => {
    const { fake, asked } = probes({ defaultAnswers: true, installed: true });
    const settled = await settleEngine(loadConfig({}), fake);
    expect([settled.choice, settled.config.engine, settled.config.redisUrl]).toEqual(['redis-default', 'redis', 'redis://127.0.0.1:6379']);
    expect(asked).toEqual(['ping 127.0.0.1:6379']);
  });

  it('starts a redis-server of its own, data under ./data, when none answers and one is installed', async () => {
    const { fake, asked } = probes({ defaultAnswers: false, installed: true });
    const settled = await settleEngine(loadConfig({}), fake);
    expect([settled.choice, settled.config.engine]).toEqual(['redis-local', 'redis']);
    expect(asked).toEqual(['ping 127.0.0.1:6379', 'which redis-server', 'start 127.0.0.1:6379 in data']);
    expect(settled.localRedis).toBeDefined();
  });

  it('falls back to the memory engine only when no Redis answers and none is installed', async () => {
    const { fake } = probes({ defaultAnswers: false, installed: false });
    const settled = await settleEngine(loadConfig({}), fake);
    expect([settled.choice, settled.config.engine, settled.description]).toEqual([
      'memory',
      'memory',
      'memory (one process; install Redis for more)',
    ]);
  });

  it('never falls back when REDIS_URL is set: that Redis only, without probing', async () => {
    const { fake, asked } = probes({ defaultAnswers: false, installed: false });
    const settled = await settleEngine(loadConfig({ REDIS_URL: 'redis://127.0.0.1:6390' }), fake);
    expect([settled.choice, settled.config.redisUrl]).toEqual(['redis-configured', 'redis://127.0.0.1:6390']);
    expect(asked).toEqual([]);
  });
});

describe('settleEngine(config, probes) for ENGINE=memory and ENGINE=redis', () => {
  it('ENGINE=memory probes nothing', async () => {
    const { fake, asked } = probes({ defaultAnswers: true, installed: true });
    expect((await settleEngine(loadConfig({ ENGINE: 'memory' }), fake)).choice).toBe('memory');
    expect(asked).toEqual([]);
  });

  it('ENGINE=redis with no Redis anywhere stops with a sentence', async () => {
    const { fake } = probes({ defaultAnswers: false, installed: false });
    await expect(settleEngine(loadConfig({ ENGINE: 'redis' }), fake)).rejects.toThrow(/ENGINE=redis, but no Redis answers/);
  });
});
