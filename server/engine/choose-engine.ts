/**
 * PROTOCOL.md "Engines": which engine `npm start` runs. A pure decision; the caller gathers the
 * facts (probing the default Redis address and the PATH only when `needsRedisProbes` says so),
 * acts on the answer, and treats a configured Redis that does not answer as an error at connect
 * time, never as a reason to fall back.
 */

/** `ENGINE`. */
export type EngineSetting = 'auto' | 'redis' | 'memory';

/**
 * - `redis-default`: the Redis at the default address (redis://127.0.0.1:6379), which answers;
 * - `redis-configured`: the one `REDIS_CLUSTER_NODES` names, else `REDIS_URL`'s;
 * - `redis-local`: start a `redis-server` of our own on the default address, data under ./data;
 * - `memory`: the memory engine.
 */
export type EngineChoice = 'redis-default' | 'redis-configured' | 'redis-local' | 'memory';

export interface EngineFacts {
  readonly engine: EngineSetting;
  /** REDIS_URL was given (non-empty). */
  readonly redisUrlSet: boolean;
  /** REDIS_CLUSTER_NODES was given (non-empty). */
  readonly clusterNodesSet: boolean;
  /** A Redis answers PING at the default address (read only when `needsRedisProbes`). */
  readonly defaultRedisAnswers: boolean;
  /** `redis-server` is on the PATH (read only when `needsRedisProbes`). */
  readonly redisServerInstalled: boolean;
  /** WORKERS, resolved to a number (default 1): the memory engine serves one process only. */
  readonly workers?: number;
}

const ENGINES: readonly string[] = ['auto', 'redis', 'memory'];

/**
 * True when the choice depends on the probes (the default address, the PATH): ENGINE is not
 * `memory` and neither REDIS_URL nor REDIS_CLUSTER_NODES is set. Otherwise the caller may
 * skip them and pass false.
 */
export function needsRedisProbes(facts: Pick<EngineFacts, 'engine' | 'redisUrlSet' | 'clusterNodesSet'>): boolean {
  return facts.engine !== 'memory' && !facts.redisUrlSet && !facts.clusterNodesSet;
}

/**
 * Decides the engine. Throws a `TypeError` with a sentence where the rule gives no engine:
 * an unknown ENGINE; ENGINE=memory beside REDIS_URL or REDIS_CLUSTER_NODES (they contradict
 * each other, and guessing which one was meant would lose history one way or the other);
 * ENGINE=redis with no Redis answering and none installed; the memory engine with WORKERS over 1.
 *
 * @example
 * chooseEngine({ engine: 'auto', redisUrlSet: false, clusterNodesSet: false,
 *                defaultRedisAnswers: false, redisServerInstalled: false }); // 'memory'
 */
export function chooseEngine(facts: EngineFacts): EngineChoice {
  const { engine, redisUrlSet, clusterNodesSet } = facts;
  if (!ENGINES.includes(engine)) {
    throw new TypeError(`ENGINE must be auto, redis or memory, not ${JSON.stringify(engine)}`);
  }
  const configured = clusterNodesSet ? 'REDIS_CLUSTER_NODES' : redisUrlSet ? 'REDIS_URL' : undefined;
  if (engine === 'memory') {
    if (configured) {
      throw new TypeError(
        `ENGINE=memory cannot be used with ${configured} set: unset ${configured} to keep the history in memory, or set ENGINE=redis (or auto) to use that Redis`,
      );
    }
    return memory(facts, 'ENGINE=memory keeps the history in this one process');
  }
  // Whenever a Redis is configured, that Redis only: one that does not answer is an error at connect time.
  if (configured) return 'redis-configured';
  if (facts.defaultRedisAnswers) return 'redis-default';
  if (facts.redisServerInstalled) return 'redis-local';
  if (engine === 'redis') {
    throw new TypeError(
      'ENGINE=redis, but no Redis answers at redis://127.0.0.1:6379 and no redis-server is installed to start one: install Redis (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis), set REDIS_URL or REDIS_CLUSTER_NODES, or set ENGINE=memory or auto',
    );
  }
  return memory(
    facts,
    'No Redis answers at redis://127.0.0.1:6379 and no redis-server is installed, which leaves ENGINE=auto the memory engine; it keeps the history in this one process',
  );
}

function memory(facts: EngineFacts, why: string): 'memory' {
  const workers = facts.workers ?? 1;
  if (workers > 1) {
    throw new TypeError(
      `${why}, so WORKERS must be 1 (it is ${workers}): set WORKERS=1, or use Redis (install redis-server, or set REDIS_URL)`,
    );
  }
  return 'memory';
}
