import type Redis from 'ioredis';
import { connectCommandClient } from '../../../server/engine/redis/connect';
import { roomsKey } from '../../../server/engine/redis/keys';
import { RoomIndex } from '../../../server/engine/redis/room-index';
import { startTestRedis, type TestRedis } from '../../helpers/redis-server';

let redis: TestRedis;
let client: Redis;
let index: RoomIndex | undefined;

beforeAll(async () => {
  redis = await startTestRedis();
  client = await connectCommandClient(redis.url);
});
afterEach(async () => {
  await index?.close();
  await redis.flush();
});
afterAll(async () => {
  client.disconnect();
  await redis.stop();
});

const FLUSH_MS = 200;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** ZADD calls redis-server has answered so far. */
const zaddCalls = async () => Number(/cmdstat_zadd:calls=(\d+)/.exec(await redis.client().info('commandstats'))?.[1] ?? 0);
const score = (room: string) => client.zscore(roomsKey, room).then(Number);

describe('RoomIndex: chat:rooms scored by last store, in one ZADD a second for busy rooms', () => {
  it('scores a room at its first store at once, so a new room is in the lobby right away', async () => {
    index = new RoomIndex(client, 0, FLUSH_MS);
    index.touch('new', 1_000);
    expect(await score('new')).toBe(1_000);
  });

  it('writes a room’s later stores of the same window at the flush, with the newest time', async () => {
    index = new RoomIndex(client, 0, FLUSH_MS);
    index.touch('busy', 1_000);
    index.touch('busy', 1_500);
    index.touch('busy', 1_700);
    expect(await score('busy')).toBe(1_000);
    await sleep(FLUSH_MS * 1.5);
    expect(await score('busy')).toBe(1_700);
  });

  it('writes 100 busy rooms’ scores in one ZADD per window, not one per store', async () => {
    index = new RoomIndex(client, 0, FLUSH_MS);
    const rooms = Array.from({ length: 100 }, (_, i) => `room-${i}`);
    for (const room of rooms) index.touch(room, 1_000); // first stores: one write each
    await score('room-0');
    const before = await zaddCalls();
    for (let t = 1; t <= 10; t++) for (const room of rooms) index.touch(room, 1_000 + t);
    await sleep(FLUSH_MS * 1.5);
    expect((await zaddCalls()) - before).toBe(1);
    expect(await Promise.all(rooms.map(score))).toEqual(rooms.map(() => 1_010));
  });

  it('writes a room that went quiet for a window at once again on its next store', async () => {
    index = new RoomIndex(client, 0, FLUSH_MS);
    index.touch('r', 1_000);
    await sleep(FLUSH_MS * 2.5); // a window with nothing pending: "r" is no longer "written"
    index.touch('r', 9_000);
    expect(await score('r')).toBe(9_000);
  });

  it('does not list again a room cleared before its pending score was written; its next room (a new epoch) is listed at once', async () => {
    index = new RoomIndex(client, 0, FLUSH_MS);
    index.touch('r', 1_000);
    index.touch('r', 2_000);
    await score('r');
    await client.zrem(roomsKey, 'r'); // an operator's clear
    await sleep(FLUSH_MS * 1.5);
    expect(await client.zscore(roomsKey, 'r')).toBeNull();
    index.touch('r', 3_000, true); // the store that began the room anew
    expect(await score('r')).toBe(3_000);
  });

  it('lists a busy room again whose entry was lost (a master back without chat:rooms), within ten windows', async () => {
    index = new RoomIndex(client, 0, 50);
    let t = 1_000;
    index.touch('busy', t);
    await score('busy');
    await client.zrem(roomsKey, 'busy');
    const deadline = Date.now() + 50 * 14;
    while ((await client.zscore(roomsKey, 'busy')) === null && Date.now() < deadline) {
      index.touch('busy', (t += 10)); // never quiet for a whole window
      await sleep(20);
    }
    expect(await client.zscore(roomsKey, 'busy')).not.toBeNull();
  });

  it('lays this process’s pending scores over a read, so its own lobby is never behind', () => {
    index = new RoomIndex(client, 0, 60_000);
    index.touch('a', 1_000);
    index.touch('a', 5_000);
    index.touch('c', 900);
    index.touch('c', 950);
    const read = [
      { room: 'b', lastActivity: 2_000 },
      { room: 'a', lastActivity: 1_000 },
    ];
    expect(index.overlay(read, 10)).toEqual([
      { room: 'a', lastActivity: 5_000 },
      { room: 'b', lastActivity: 2_000 },
      { room: 'c', lastActivity: 950 },
    ]);
    expect(index.overlay(read, 1)).toEqual([{ room: 'a', lastActivity: 5_000 }]);
  });

  it('prunes rooms idle past HISTORY_TTL when it writes', async () => {
    index = new RoomIndex(client, 60_000, FLUSH_MS);
    await client.zadd(roomsKey, String(Date.now() - 120_000), 'expired', String(Date.now() - 1_000), 'live');
    index.touch('fresh');
    expect((await client.zrange(roomsKey, 0, '-1')).sort()).toEqual(['fresh', 'live']);
  });

  it('writes what is pending when closed (a graceful stop loses no score)', async () => {
    index = new RoomIndex(client, 0, 60_000);
    index.touch('r', 1_000);
    index.touch('r', 2_000);
    await index.close();
    expect(await score('r')).toBe(2_000);
  });
});
