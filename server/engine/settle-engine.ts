import type { Config } from '../config';
import { DEFAULTS } from '../config';
import { chooseEngine, needsRedisProbes, type EngineChoice } from './choose-engine';
import { formatSeeds } from './redis/connect';
import { redisAnswers, redisServerInstalled, startLocalRedis, type LocalRedis } from './redis/local-redis';

/** How `npm start` looks around before choosing; tests pass their own. */
export interface EngineProbes {
  redisAnswers(host: string, port: number): Promise<boolean>;
  redisServerInstalled(): boolean;
  startLocalRedis(host: string, port: number, dir: string): Promise<LocalRedis>;
}

const REAL_PROBES: EngineProbes = { redisAnswers, redisServerInstalled, startLocalRedis };

/** What `npm start` runs on: the configuration with a concrete engine, and the redis-server it started, if any. */
export interface SettledEngine {
  readonly config: Config;
  readonly choice: EngineChoice;
  readonly localRedis?: LocalRedis;
  /** For the start line: `redis at redis://…`, `redis cluster at host:port,…`, or `memory (one process; install Redis for more)`. */
  readonly description: string;
}

/**
 * Settles `ENGINE=auto` by PROTOCOL.md's rule: the configured Redis; else the one on the default
 * address; else a redis-server of our own (data under ./data); else, with none installed, the
 * memory engine. Throws a `TypeError` with a sentence where the rule gives no engine.
 */
export async function settleEngine(config: Config, probes: EngineProbes = REAL_PROBES): Promise<SettledEngine> {
  const clusterNodesSet = config.redisClusterNodes.length > 0;
  const facts = { engine: config.engine, redisUrlSet: config.redisUrlFromEnv, clusterNodesSet, workers: config.workers };
  const url = new URL(DEFAULTS.REDIS_URL);
  const host = url.hostname;
  const port = Number(url.port);
  const probe = needsRedisProbes(facts);
  const defaultRedisAnswers = probe && (await probes.redisAnswers(host, port));
  const choice = chooseEngine({
    ...facts,
    defaultRedisAnswers,
    redisServerInstalled: probe && !defaultRedisAnswers && probes.redisServerInstalled(),
  });
  if (choice === 'memory') {
    return { config: { ...config, engine: 'memory' }, choice, description: 'memory (one process; install Redis for more)' };
  }
  if (choice === 'redis-local') {
    const localRedis = await probes.startLocalRedis(host, port, 'data');
    return {
      config: { ...config, engine: 'redis', redisUrl: localRedis.url },
      choice,
      localRedis,
      description: `redis at ${localRedis.url} (started by this server, data in ${localRedis.dir})`,
    };
  }
  if (clusterNodesSet) {
    const seeds = formatSeeds(config.redisClusterNodes);
    return { config: { ...config, engine: 'redis' }, choice, description: `redis cluster at ${seeds}` };
  }
  return { config: { ...config, engine: 'redis' }, choice, description: `redis at ${config.redisUrl}` };
}
