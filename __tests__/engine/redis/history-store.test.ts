import type Redis from 'ioredis';
import { RedisHistoryStore } from '../../../server/engine/redis/history-store';
import { epochKey, historyKey, roomsKey, seqKey } from '../../../server/engine/redis/keys';
import { connectCommandClient, connectSubscriber } from '../../../server/engine/redis/connect';
import { startTestRedis, type TestRedis } from '../../helpers/redis-server';

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

async function fill(room: string, count: number): Promise<void> {
  for (let i = 1; i <= count; i++) await store.append(room, { user: 'u', text: `m${i}` });
}

describe('RedisHistoryStore#append(room, draft)', () => {
  it('assigns ids from 1 and stores the message as canonical JSON, newest first', async () => {
    const first = await store.append('lobby', { user: 'alice', text: 'hi' });
    const second = await store.append('lobby', { user: 'bob', text: 'yo' });
    expect([first.message.id, second.message.id]).toEqual([1, 2]);
    const parsed = JSON.parse(first.message.json);
    expect(Object.keys(parsed)).toEqual(['id', 'room', 'user', 'text', 'ts']);
    expect(parsed).toMatchObject({ id: 1, room: 'lobby', user: 'alice', text: 'hi' });
    expect(Math.abs(parsed.ts - Date.now())).toBeLessThan(5000);
    expect(await client.lrange(historyKey('lobby'), 0, -1)).toEqual([second.message.json, first.message.json]);
    expect(await client.zscore(roomsKey, 'lobby')).not.toBeNull();
  });

  it('keeps the newest 100: 150 messages leave LLEN 100 with ids 51..150', async () => {
    await fill('big', 150);
    expect(await client.llen(historyKey('big'))).toBe(100);
    const slice = await store.since('big');
    expect(slice.messages.map((m) => m.id)).toEqual(Array.from({ length: 100 }, (_, i) => 51 + i));
    expect(slice.last).toBe(150);
  });

  it('stores a repeated cid once and returns the first message', async () => {
    const first = await store.append('lobby', { user: 'a', text: 'once', cid: 'c-1' });
    const again = await store.append('lobby', { user: 'a', text: 'once', cid: 'c-1' });
    expect(first.duplicate).toBe(false);
    expect(again).toEqual({ ...first, duplicate: true });
    expect(await client.llen(historyKey('lobby'))).toBe(1);
    expect(JSON.parse(first.message.json).cid).toBe('c-1');
  });

  it('keeps cids per room', async () => {
    await store.append('a', { user: 'u', text: 'x', cid: 'same' });
    const other = await store.append('b', { user: 'u', text: 'x', cid: 'same' });
    expect(other.duplicate).toBe(false);
  });

  it('stores text with quotes, markup and Unicode exactly', async () => {
    const text = '"</script><b>x</b>\\ 技术 😀\n\ttab';
    const { message } = await store.append('lobby', { user: 'ü', text });
    expect(JSON.parse(message.json).text).toBe(text);
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
  it('gives an empty room an epoch, last 0 and no gap', async () => {
    const slice = await store.since('empty');
    expect(slice).toMatchObject({ room: 'empty', last: 0, messages: [], gap: false });
    expect(slice.epoch).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(await client.get(epochKey('empty'))).toBe(slice.epoch);
    expect((await store.since('empty')).epoch).toBe(slice.epoch);
  });

  it('returns exactly the messages after since, oldest first', async () => {
    await fill('r', 10);
    const { epoch } = await store.since('r');
    const slice = await store.since('r', { since: 7, epoch });
    expect(slice.messages.map((m) => m.id)).toEqual([8, 9, 10]);
    expect(slice.gap).toBe(false);
  });

  it('returns nothing and no gap for a client that is up to date', async () => {
    await fill('r', 3);
    expect(await store.since('r', { since: 3 })).toMatchObject({ messages: [], gap: false, last: 3 });
  });

  it('reports a gap with missed when since is older than the retained window', async () => {
    await fill('r', 150);
    const slice = await store.since('r', { since: 20 });
    expect(slice.gap).toBe(true);
    expect(slice.missed).toBe(30); // 21..50 were trimmed away
    expect(slice.messages.map((m) => m.id)).toEqual(Array.from({ length: 100 }, (_, i) => 51 + i));
  });

  it('treats since=50 as caught up to the window edge (no gap)', async () => {
    await fill('r', 150);
    const slice = await store.since('r', { since: 50 });
    expect(slice.gap).toBe(false);
    expect(slice.messages).toHaveLength(100);
  });

  it('reports since=0 with an epoch as a gap when messages were trimmed', async () => {
    await fill('r', 101);
    const { epoch } = await store.since('r');
    expect(await store.since('r', { since: 0, epoch })).toMatchObject({ gap: true, missed: 1 });
  });

  it('never reports a gap to a first join (no since)', async () => {
    await fill('r', 150);
    expect((await store.since('r')).gap).toBe(false);
  });

  it('reports a stale epoch as a gap with the whole history and missed unknown', async () => {
    await fill('r', 5);
    const slice = await store.since('r', { since: 3, epoch: 'stale-epoch' });
    expect(slice).toMatchObject({ gap: true, missed: null });
    expect(slice.messages.map((m) => m.id)).toEqual([1, 2, 3, 4, 5]);
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

  it('trusts since without an epoch as it is', async () => {
    await fill('r', 5);
    expect((await store.since('r', { since: 4 })).messages.map((m) => m.id)).toEqual([5]);
  });
});
