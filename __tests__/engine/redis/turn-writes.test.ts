import type { Socket } from 'node:net';
import Redis from 'ioredis';
import { batchWritesPerTurn } from '../../../server/engine/redis/turn-writes';
import { startTestRedis, type TestRedis } from '../../helpers/redis-server';

let redis: TestRedis;
let client: Redis;

beforeAll(async () => {
  redis = await startTestRedis();
});
afterEach(() => client?.disconnect());
afterAll(() => redis.stop());

type CountedSocket = Socket & { _write: (...args: unknown[]) => void; _writev: (...args: unknown[]) => void };

/** Counts the socket's writes to the kernel (`_write` one chunk, `_writev` many) from now on. */
function countWrites(socket: Socket): { writes: number } {
  const counted = { writes: 0 };
  const s = socket as CountedSocket;
  const [write, writev] = [s._write, s._writev];
  s._write = function (...args) {
    counted.writes++;
    return write.apply(this, args);
  };
  s._writev = function (...args) {
    counted.writes++;
    return writev.apply(this, args);
  };
  return counted;
}

const connect = async (batched: boolean) => {
  client = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
  if (batched) batchWritesPerTurn(client);
  await client.connect();
  return client;
};

describe('batchWritesPerTurn(redis): the commands of one turn leave in one write', () => {
  it('sends 20 commands issued in one turn in one write, each with its own reply', async () => {
    const redis = await connect(true);
    const counted = countWrites(redis.stream as Socket);
    const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => redis.echo(`m${i}`)));
    expect(replies).toEqual(Array.from({ length: 20 }, (_, i) => `m${i}`));
    expect(counted.writes).toBe(1);
  });

  it('is what makes the difference: without it the same 20 commands take more than one write', async () => {
    const redis = await connect(false);
    const counted = countWrites(redis.stream as Socket);
    await Promise.all(Array.from({ length: 20 }, (_, i) => redis.echo(`m${i}`)));
    expect(counted.writes).toBeGreaterThan(1);
  });

  it('keeps batching after a reconnect (ioredis makes a new socket)', async () => {
    const redis = await connect(true);
    const first = redis.stream;
    redis.disconnect(true);
    await new Promise<void>((done) => redis.once('ready', () => done()));
    expect(redis.stream).not.toBe(first);
    const counted = countWrites(redis.stream as Socket);
    await Promise.all(Array.from({ length: 10 }, (_, i) => redis.echo(`again${i}`)));
    expect(counted.writes).toBe(1);
  });

  it('sends commands of different turns in different writes, in order, without waiting for a later turn', async () => {
    const redis = await connect(true);
    const counted = countWrites(redis.stream as Socket);
    await redis.set('k', '1');
    await redis.incr('k');
    expect(await redis.get('k')).toBe('2');
    expect(counted.writes).toBe(3);
  });
});
