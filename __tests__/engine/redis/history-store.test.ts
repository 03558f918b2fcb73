import type Redis from 'ioredis';
import { RedisHistoryStore } from '../../../server/engine/redis/history-store';
import { cidKey, epochKey, historyKey, presenceKey, roomsKey, seqKey } from '../../../server/engine/redis/keys';
import { connectCommandClient, connectSubscriber } from '../../../server/engine/redis/connect';
import { RedisPresenceStore } from '../../../server/engine/redis/presence-store';
import { connectRedisEngine } from '../../../server/engine/redis/redis-engine';
import { startTestRedis, type TestRedis } from '../../helpers/redis-server';
import { describeEngineBehaviour } from '../history-behaviour';

let redis: TestRedis;
let client: Redis;
let store: RedisHistoryStore;

beforeAll(async () => {
  redis = await startTestRedis();
  client = await connectCommandClient(redis.url);
  store = new RedisHistoryStore(client, 100);
});
afterEach(() => redis.flush());
afterAll(async () => {
  client.disconnect();
  await redis.stop();
});

describeEngineBehaviour('redis', async ({ historyLimit }) => {
  const engine = await connectRedisEngine({ url: redis.url, historyLimit, processId: 'test' });
  return { engine, dispose: () => engine.close() };
});

// What only the Redis engine has: its keys, its channels, its connection.

async function fill(room: string, count: number): Promise<void> {
  for (let i = 1; i <= count; i++) await store.append(room, { user: 'u', text: `m${i}` });
}

describe('RedisHistoryStore#append(room, draft)', () => {
  it('LPUSHes the JSON newest first and scores the room in chat:rooms', async () => {
    const first = await store.append('lobby', { user: 'alice', text: 'hi' });
    const second = await store.append('lobby', { user: 'bob', text: 'yo' });
    expect(await client.lrange(historyKey('lobby'), 0, -1)).toEqual([second.message.json, first.message.json]);
    expect(await client.zscore(roomsKey, 'lobby')).not.toBeNull();
    expect(await client.get(seqKey('lobby'))).toBe('2');
    expect(await client.get(epochKey('lobby'))).toBe(first.epoch);
  });

  it('LTRIMs the list: 150 messages leave LLEN 100', async () => {
    await fill('big', 150);
    expect(await client.llen(historyKey('big'))).toBe(100);
  });

  it('remembers a cid in its own key for 10 minutes, and stores its message once', async () => {
    const first = await store.append('lobby', { user: 'a', text: 'once', cid: 'c-1' });
    await store.append('lobby', { user: 'a', text: 'once', cid: 'c-1' });
    expect(await client.llen(historyKey('lobby'))).toBe(1);
    expect(await client.get(cidKey('lobby', 'c-1'))).toBe(first.message.json);
    expect(await client.ttl(cidKey('lobby', 'c-1'))).toBeGreaterThan(590);
  });

  it('publishes each stored message on chat:{room}', async () => {
    const sub = await connectSubscriber(redis.url);
    const got: string[] = [];
    sub.on('message', (channel, payload) => got.push(`${channel} ${payload}`));
    await sub.subscribe('chat:{lobby}');
    const { message } = await store.append('lobby', { user: 'a', text: 'pub' });
    await new Promise((r) => setTimeout(r, 50));
    expect(got).toEqual([`chat:{lobby} ${message.json}`]);
    sub.disconnect();
  });

  it('fails with unavailable when Redis is down', async () => {
    const broken = await connectCommandClient(redis.url);
    broken.disconnect();
    const brokenStore = new RedisHistoryStore(broken, 100);
    await expect(brokenStore.append('lobby', { user: 'a', text: 'x' })).rejects.toMatchObject({ code: 'unavailable' });
    await expect(brokenStore.since('lobby')).rejects.toMatchObject({ code: 'unavailable', status: 503 });
  });
});

describe('RedisHistoryStore#since(room, cursor)', () => {
  it('creates the epoch key of an empty room on a read (v1)', async () => {
    const slice = await store.since('empty');
    expect(await client.get(epochKey('empty'))).toBe(slice.epoch);
  });

  it('gives a reset room a new epoch, so old cursors see the reset', async () => {
    await fill('r', 5);
    const before = await store.since('r');
    await client.del(historyKey('r'), seqKey('r'), epochKey('r'));
    await fill('r', 2);
    const after = await store.since('r', { since: 5, epoch: before.epoch });
    expect(after.epoch).not.toBe(before.epoch);
    expect(after).toMatchObject({ gap: true, missed: null });
    expect(after.messages.map((m) => m.id)).toEqual([1, 2]);
  });
});

describe('RedisPresenceStore#update(room, localCount, change)', () => {
  it('sums the counts of every process in chat:{room}:online', async () => {
    const [one, two] = [new RedisPresenceStore(client, 'p1'), new RedisPresenceStore(client, 'p2')];
    await one.update('lobby', 2, undefined);
    expect(await two.update('lobby', 3, undefined)).toBe(5);
    expect(Object.keys(await client.hgetall(presenceKey('lobby'))).sort()).toEqual(['p1', 'p2']);
    expect(await one.update('lobby', 0, undefined)).toBe(3);
  });
});
