import { chooseEngine, needsRedisProbes, type EngineFacts, type EngineSetting } from '../../server/engine/choose-engine';

type Row = [EngineSetting, boolean, boolean, boolean, boolean, string];

const facts = ([engine, redisUrlSet, clusterNodesSet, defaultRedisAnswers, redisServerInstalled]: Row): EngineFacts => ({
  engine,
  redisUrlSet,
  clusterNodesSet,
  defaultRedisAnswers,
  redisServerInstalled,
});

// ENGINE, REDIS_URL set, REDIS_CLUSTER_NODES set, default Redis answers, redis-server installed → choice.
// Where the probes do not matter, every combination of them is tried.
const probes = [[false, false], [false, true], [true, false], [true, true]] as const;
const anyProbes = (engine: EngineSetting, url: boolean, cluster: boolean, choice: string): Row[] =>
  probes.map(([answers, installed]) => [engine, url, cluster, answers, installed, choice]);

const choices: Row[] = [
  ['auto', false, false, true, false, 'redis-default'],
  ['auto', false, false, true, true, 'redis-default'],
  ['auto', false, false, false, true, 'redis-local'],
  ['auto', false, false, false, false, 'memory'],
  ...anyProbes('auto', true, false, 'redis-configured'),
  ...anyProbes('auto', false, true, 'redis-configured'),
  ...anyProbes('auto', true, true, 'redis-configured'),
  ['redis', false, false, true, false, 'redis-default'],
  ['redis', false, false, true, true, 'redis-default'],
  ['redis', false, false, false, true, 'redis-local'],
  ...anyProbes('redis', true, false, 'redis-configured'),
  ...anyProbes('redis', false, true, 'redis-configured'),
  ...anyProbes('redis', true, true, 'redis-configured'),
  ...anyProbes('memory', false, false, 'memory'),
];

describe('chooseEngine(facts)', () => {
  it.each(choices)('ENGINE=%s, REDIS_URL set %s, cluster set %s, default answers %s, installed %s → %s', (...row) => {
    expect(chooseEngine(facts(row))).toBe(row[5]);
  });

  it.each([
    ...anyProbes('memory', true, false, 'ENGINE=memory cannot be used with REDIS_URL set: unset REDIS_URL to keep the history in memory, or set ENGINE=redis (or auto) to use that Redis'),
    ...anyProbes('memory', false, true, 'ENGINE=memory cannot be used with REDIS_CLUSTER_NODES set: unset REDIS_CLUSTER_NODES to keep the history in memory, or set ENGINE=redis (or auto) to use that Redis'),
    ...anyProbes('memory', true, true, 'ENGINE=memory cannot be used with REDIS_CLUSTER_NODES set: unset REDIS_CLUSTER_NODES to keep the history in memory, or set ENGINE=redis (or auto) to use that Redis'),
    ['redis', false, false, false, false, 'ENGINE=redis, but no Redis answers at redis://127.0.0.1:6379 and no redis-server is installed to start one: install Redis (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis), set REDIS_URL or REDIS_CLUSTER_NODES, or set ENGINE=memory or auto'],
  ] as Row[])('ENGINE=%s, REDIS_URL set %s, cluster set %s, default answers %s, installed %s → error', (...row) => {
    expect(() => chooseEngine(facts(row))).toThrow(new TypeError(row[5]));
  });

  it('refuses an unknown ENGINE with a sentence', () => {
    const engine = 'postgres' as EngineSetting;
    expect(() => chooseEngine({ ...facts(['auto', false, false, true, true, '']), engine })).toThrow(
      new TypeError('ENGINE must be auto, redis or memory, not "postgres"'),
    );
  });

  it('refuses WORKERS over 1 whenever the answer is the memory engine, and only then', () => {
    expect(() => chooseEngine({ ...facts(['memory', false, false, false, false, '']), workers: 4 })).toThrow(
      new TypeError('ENGINE=memory keeps the history in this one process, so WORKERS must be 1 (it is 4): set WORKERS=1, or use Redis (install redis-server, or set REDIS_URL)'),
    );
    expect(() => chooseEngine({ ...facts(['auto', false, false, false, false, '']), workers: 2 })).toThrow(
      new TypeError(
        'No Redis answers at redis://127.0.0.1:6379 and no redis-server is installed, which leaves ENGINE=auto the memory engine; it keeps the history in this one process, so WORKERS must be 1 (it is 2): set WORKERS=1, or use Redis (install redis-server, or set REDIS_URL)',
      ),
    );
    expect(chooseEngine({ ...facts(['auto', false, false, false, true, '']), workers: 8 })).toBe('redis-local');
    expect(chooseEngine({ ...facts(['memory', false, false, false, false, '']), workers: 1 })).toBe('memory');
  });
});

describe('needsRedisProbes(facts)', () => {
  it.each([
    ['auto', false, false, true],
    ['redis', false, false, true],
    ['memory', false, false, false],
    ['auto', true, false, false],
    ['auto', false, true, false],
    ['redis', true, false, false],
  ] as const)('ENGINE=%s, REDIS_URL set %s, cluster set %s → %s', (engine, redisUrlSet, clusterNodesSet, needed) => {
    expect(needsRedisProbes({ engine, redisUrlSet, clusterNodesSet })).toBe(needed);
  });
});
