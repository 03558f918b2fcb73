import type Redis from 'ioredis';
import type { HistoryStore } from '../../server/engine/engine';
import { connectCommandClient, connectSubscriber } from '../../server/engine/redis/connect';
import { RedisHistoryStore } from '../../server/engine/redis/history-store';
import { messageChannel } from '../../server/engine/redis/keys';
import { RedisPresenceStore } from '../../server/engine/redis/presence-store';
import { RedisRoomBus } from '../../server/engine/redis/room-bus';
import { createLogger } from '../../server/logger';
import { RoomHub } from '../../server/rooms/hub';
import { PresenceAnnouncer } from '../../server/rooms/presence-announcer';
import { startTestRedis, type TestRedis } from '../helpers/redis-server';
import { RoomRecorder } from '../helpers/room-recorder';

let redis: TestRedis;
let client: Redis;
let subscriber: Redis;
let store: RedisHistoryStore;
let hub: RoomHub;
const announcers: PresenceAnnouncer[] = [];

/** A hub over the test's Redis, reading history through `history`. */
function makeHub(history: HistoryStore, processId: string): RoomHub {
  const logger = createLogger('silent');
  const presence = new PresenceAnnouncer({ store: new RedisPresenceStore(client, processId), log: logger });
  announcers.push(presence);
  return new RoomHub({ history, bus: new RedisRoomBus(subscriber, client), presence, logger });
}


const until = async (check: () => boolean) => {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > 5000) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
};

beforeEach(async () => {
  redis = await startTestRedis();
  client = await connectCommandClient(redis.url);
  subscriber = await connectSubscriber(redis.url);
  store = new RedisHistoryStore(client, 5);
  hub = makeHub(store, 'test');
});
afterEach(async () => {
  hub.close();
  await Promise.all(announcers.splice(0).map((a) => a.close()));
  client.disconnect();
  subscriber.disconnect();
  await redis.stop();
});

describe('RoomHub#join(room, member, cursor)', () => {
  it('hands live messages to members in id order, never one they hold', async () => {
    const a = new RoomRecorder('a');
    await hub.join('r', a, {});
    for (let i = 0; i < 3; i++) await store.append('r', { user: 'u', text: `m${i}` });
    await until(() => a.ids.length === 3);
    expect(a.ids).toEqual([1, 2, 3]);
  });
});

describe('RoomHub#join(room, member, cursor) on a room new to this process', () => {
  it('gives a message published while the first history was read the room’s epoch', async () => {
    const other = new RedisHistoryStore(client, 5);
    let stored: { epoch: string } | undefined;
    // The message is stored after the history was read, before the join returns: it reaches the
    // member live, and its epoch must be the room's — the one its first message created, as the
    // room was empty (epoch "") when it was read (SSE ids and poll answers carry it).
    const racing = new (class extends RedisHistoryStore {
      override async since(...args: Parameters<RedisHistoryStore['since']>) {
        const slice = await super.since(...args);
        if (!stored) {
          stored = await other.append(args[0], { user: 'u', text: 'raced' });
          await new Promise((r) => setTimeout(r, 50));
        }
        return slice;
      }
    })(client, 5);
    const racingHub = makeHub(racing, 't2');
    const member = new RoomRecorder();
    try {
      const slice = await racingHub.join('fresh', member, {});
      expect(slice.epoch).toBe('');
      await until(() => member.ids.length === 1);
      expect(member.ids).toEqual([1]);
      expect(member.epochs).toEqual([stored!.epoch]);
      expect(stored!.epoch).not.toBe('');
    } finally {
      racingHub.close();
    }
  });
});

describe('RoomHub repair after pub/sub lost messages', () => {
  it('gives each member its own view of a gap: the one behind gets the gap, the one ahead only what it lacks', async () => {
    const behind = new RoomRecorder('behind');
    await hub.join('r', behind, {});
    // Pub/sub loses everything published while we are not subscribed.
    await subscriber.unsubscribe(messageChannel('r'));
    for (let i = 1; i <= 8; i++) await store.append('r', { user: 'u', text: `m${i}` });
    // A member joins meanwhile and is up to date from the list (ids 4..8 are retained).
    const ahead = new RoomRecorder('ahead');
    await hub.join('r', ahead, {});
    expect(ahead.ids).toEqual([4, 5, 6, 7, 8]);

    await subscriber.subscribe(messageChannel('r'));
    subscriber.emit('ready'); // what ioredis emits after it resubscribed
    await until(() => behind.histories.length === 2);
    await store.append('r', { user: 'u', text: 'm9' });
    await until(() => behind.ids.includes(9) && ahead.ids.includes(9));

    expect(behind.histories[1]).toMatchObject({ gap: true, missed: 3 });
    expect(behind.ids).toEqual([4, 5, 6, 7, 8, 9]);
    expect(ahead.histories).toHaveLength(1);
    expect(ahead.ids).toEqual([4, 5, 6, 7, 8, 9]);
  });

  it('repairs a lost message without a gap when the list still holds it', async () => {
    const a = new RoomRecorder('a');
    await hub.join('r', a, {});
    await subscriber.unsubscribe(messageChannel('r'));
    await store.append('r', { user: 'u', text: 'lost in pub/sub' });
    await subscriber.subscribe(messageChannel('r'));
    await store.append('r', { user: 'u', text: 'arrives' });
    await until(() => a.ids.length === 2);
    expect(a.ids).toEqual([1, 2]);
    expect(a.histories).toHaveLength(1);
  });
});
