import type Redis from 'ioredis';
import { RedisHistoryStore } from '../../../server/engine/redis/history-store';
import { cidKey, epochKey, historyKey, membersKey, presenceKey, roomsKey, seqKey } from '../../../server/engine/redis/keys';
import { connectCommandClient, connectSubscriber } from '../../../server/engine/redis/connect';
import { PRESENCE_TTL_MS, RedisPresenceStore } from '../../../server/engine/redis/presence-store';
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
afterEach(async () => {
  await store.flush(); // the room index's pending scores, so none lands after the flush
  await redis.flush();
});
afterAll(async () => {
  client.disconnect();
  await redis.stop();
});

describeEngineBehaviour('redis', async ({ historyLimit, historyTtlSec }) => {
  const engine = await connectRedisEngine({ url: redis.url, historyLimit, historyTtlSec, processId: 'test' });
  return {
    engine,
    dispose: () => engine.close(),
    // Redis expires keys on its own clock: the test waits (HISTORY_TTL 1 s keeps it short).
    elapse: (ms) => new Promise((r) => setTimeout(r, ms)),
    footprint: () => client.dbsize(),
  };
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

describe('RedisHistoryStore#delete(room, id, by)', () => {
  it('deletes the message it read: a room cleared and refilled between its read and its delete is read again', async () => {
    await store.append('r', { user: 'old', text: 'old text', cid: 'c-old' });
    let raced = false;
    // The client as the store sees it, but the first read of the entry is overtaken by a clear and a new message 1.
    const racing = new Proxy(client, {
      get(target, prop) {
        if (prop === 'readEntry') {
          return async (...args: Parameters<Redis['readEntry']>) => {
            const entry = await target.readEntry(...args);
            if (!raced) {
              raced = true;
              await target.del(historyKey('r'), seqKey('r'), epochKey('r'));
              await store.append('r', { user: 'new', text: 'new text', cid: 'c-new' });
            }
            return entry;
          };
        }
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const { event } = await new RedisHistoryStore(racing, 100).delete('r', 1, { user: 'mod' });
    expect(JSON.parse(event.json)).toMatchObject({ id: 2, target: 1 });
    const [tombstone] = (await store.since('r')).messages;
    expect(tombstone!.json).toMatch(/^\{"id":1,"room":"r","user":"new","deleted":true,"ts":\d+\}$/);
    // The cid that was pointed at the tombstone is the new message's, declared to the script.
    expect(await client.get(cidKey('r', 'c-new'))).toBe(tombstone!.json);
  });
});

describe('RedisHistoryStore#since(room, cursor)', () => {
  it('creates no key on reads of never-used rooms, whatever the cursor (v2: reads never write)', async () => {
    await store.since('empty');
    await store.since('empty', { since: 3 });
    await store.since('empty', { since: 0, epoch: 'stale-epoch' });
    await store.rooms();
    await expect(store.delete('empty', 1, { user: 'mod' })).rejects.toMatchObject({ code: 'not_found' });
    expect(await client.dbsize()).toBe(0);
  });

  it('reads a room whose epoch is gone as empty, and the next message starts it afresh', async () => {
    await fill('r', 3);
    const before = await store.since('r');
    await client.del(epochKey('r'));
    expect(await store.since('r', { since: 3, epoch: before.epoch })).toMatchObject({ epoch: '', last: 0, messages: [], gap: true });
    const next = await store.append('r', { user: 'u', text: 'x' });
    expect([next.message.id, await client.llen(historyKey('r'))]).toEqual([1, 1]);
    expect(next.epoch).not.toBe(before.epoch);
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

describe('HISTORY_TTL in Redis', () => {
  const pttl = (room: string) => Promise.all([historyKey(room), seqKey(room), epochKey(room)].map((key) => client.pttl(key)));

  it('gives every key of a room HISTORY_TTL at each append, and a cid min(600 s, HISTORY_TTL)', async () => {
    const minute = new RedisHistoryStore(client, 100, undefined, 60);
    await minute.append('r', { user: 'u', text: 'x', cid: 'c' });
    for (const ttl of await pttl('r')) expect(ttl).toBeGreaterThan(59_000);
    for (const ttl of await pttl('r')) expect(ttl).toBeLessThanOrEqual(60_000);
    expect(await client.ttl(cidKey('r', 'c'))).toBe(60);
    const long = new RedisHistoryStore(client, 100, undefined, 3600);
    await long.append('r', { user: 'u', text: 'x', cid: 'd' });
    expect(await client.ttl(cidKey('r', 'd'))).toBe(600);
    for (const ttl of await pttl('r')) expect(ttl).toBeGreaterThan(3_599_000);
  });

  it('gives the room HISTORY_TTL again on a delete, and keeps it forever with 0 (removing an earlier TTL)', async () => {
    const minute = new RedisHistoryStore(client, 100, undefined, 60);
    await minute.append('r', { user: 'u', text: 'x' });
    await minute.append('r', { user: 'u', text: 'y' });
    for (const key of [historyKey('r'), seqKey('r'), epochKey('r')]) await client.pexpire(key, 5000);
    await minute.delete('r', 1, { user: 'mod' });
    for (const ttl of await pttl('r')) expect(ttl).toBeGreaterThan(59_000);
    await store.append('r', { user: 'u', text: 'z' });
    expect(await pttl('r')).toEqual([-1, -1, -1]);
  });

  it('prunes chat:rooms of rooms idle past HISTORY_TTL at the next store, and their keys are gone', async () => {
    const second = new RedisHistoryStore(client, 100, undefined, 1);
    await second.append('old', { user: 'u', text: 'x', cid: 'c' });
    await new Promise((r) => setTimeout(r, 1100));
    expect(await client.zrange(roomsKey, 0, '-1')).toEqual(['old']); // nothing stored since: not pruned yet
    expect(await second.rooms()).toEqual([]); // but no longer listed
    await second.append('new', { user: 'u', text: 'x' });
    expect(await client.zrange(roomsKey, 0, '-1')).toEqual(['new']);
    expect((await client.keys('chat:{old}*')).sort()).toEqual([]);
  });

  it('answers rooms(limit) with the newest entries of a large chat:rooms', async () => {
    const now = Date.now();
    await client.zadd(roomsKey, ...Array.from({ length: 20_000 }, (_, i) => [String(now - i), `bulk-${i}`]).flat());
    expect(await store.rooms(3)).toEqual([
      { room: 'bulk-0', lastActivity: now },
      { room: 'bulk-1', lastActivity: now - 1 },
      { room: 'bulk-2', lastActivity: now - 2 },
    ]);
  });

  it('refuses a historyTtlSec that is not a whole number of seconds', () => {
    expect(() => new RedisHistoryStore(client, 100, undefined, -1)).toThrow(
      new TypeError('historyTtlSec must be an integer of at least 0 (0 keeps rooms forever)'),
    );
  });
});

describe('RedisPresenceStore: its hashes expire by themselves', () => {
  it('gives the count and member hashes PRESENCE_TTL_MS at each write, so a dead process leaves nothing behind', async () => {
    const one = new RedisPresenceStore(client, 'p1');
    await one.update('lobby', 1, undefined);
    await one.setMember('lobby', { name: 'ann', connections: 1 });
    for (const key of [presenceKey('lobby'), membersKey('lobby')]) {
      const ttl = await client.pttl(key);
      expect(ttl).toBeGreaterThan(PRESENCE_TTL_MS - 2000);
      expect(ttl).toBeLessThanOrEqual(PRESENCE_TTL_MS);
    }
    await client.pexpire(membersKey('lobby'), 1000);
    await one.refresh(new Map([['lobby', 1]]), new Map([['lobby', [{ name: 'ann', connections: 1 }]]]));
    expect(await client.pttl(membersKey('lobby'))).toBeGreaterThan(PRESENCE_TTL_MS - 2000);
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
