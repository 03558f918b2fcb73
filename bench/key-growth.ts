/**
 * What reads of never-used rooms leave in Redis, and what a lobby read of a large `chat:rooms`
 * costs (the issue behind PROTOCOL.md v2 "Reads never write" and "The lobby and rooms read only
 * what they show").
 *
 *   node --import tsx bench/key-growth.ts REDIS_URL [READS] [INDEXED_ROOMS]
 *
 * Point it at a private, empty redis-server (`redis-server --port P --save "" --appendonly no`):
 * it flushes that database before and after. It reads READS random room names (default 20000)
 * through the engine, as a first join and as a resuming client would, and counts the keys
 * created; then fills `chat:rooms` with INDEXED_ROOMS entries (default 500000) and times the
 * lobby's `rooms()`, in the client and inside Redis (INFO commandstats).
 */
import { randomBytes } from 'node:crypto';
import { connectRedisEngine } from '../server/engine/redis/redis-engine';

async function main(): Promise<void> {
  const [url, readsArg = '20000', indexedArg = '500000'] = process.argv.slice(2);
  if (!url || !/^redis:\/\/(127\.0\.0\.1|localhost):\d+$/.test(url) || url.endsWith(':6379')) {
    throw new Error('give the URL of a private redis-server on loopback (never the one on 6379): it is flushed.');
  }
  const reads = Number(readsArg);
  const indexed = Number(indexedArg);

  const engine = await connectRedisEngine({ url, historyLimit: 100, processId: 'key-growth' });
  const redis = engine.redis;
  await redis.flushdb();

  for (let i = 0; i < reads; i++) {
    const room = `kg-${randomBytes(6).toString('hex')}`;
    await engine.history.since(room, i % 2 === 0 ? {} : { since: 0, epoch: 'AAAAAAAAAAA' });
  }
  const keysAfterReads = await redis.dbsize();

  const now = Date.now();
  for (let from = 0; from < indexed; from += 10_000) {
    const batch: string[] = [];
    for (let i = from; i < Math.min(indexed, from + 10_000); i++) batch.push(String(now - i), `room-${i}`);
    await redis.zadd('chat:rooms', ...batch);
  }
  await redis.config('RESETSTAT');
  const times: number[] = [];
  let listed = 0;
  for (let i = 0; i < 5; i++) {
    const started = process.hrtime.bigint();
    listed = (await engine.history.rooms()).length;
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  times.sort((a, b) => a - b);
  // How long Redis itself was busy per lobby read (it blocks every other client meanwhile).
  const commandStats = await redis.info('commandstats');
  const redisUsecPerLobbyRead = Number(/^cmdstat_zrev\w+:calls=\d+,usec=\d+,usec_per_call=([\d.]+)/m.exec(commandStats)?.[1]);

  process.stdout.write(
    JSON.stringify({ reads, keysCreated: keysAfterReads, indexedRooms: indexed, lobbyRoomsListed: listed, lobbyReadMsMedian: times[2], redisUsecPerLobbyRead }) + '\n',
  );
  await redis.flushdb();
  await engine.close();
}

main().catch((err: unknown) => {
  process.stderr.write(`key-growth: ${(err as Error).message}\n`);
  process.exit(1);
});
