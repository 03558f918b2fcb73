import { startTestRedis, type TestRedis } from './helpers/redis-server';
import { roomUrl } from './helpers/start-server';
import { killServers, spawnServer, type ServerProcess } from './helpers/spawn-server';
import { closeClients, TestClient } from './helpers/ws-client';

let redis: TestRedis;
let one: ServerProcess;
let two: ServerProcess;

beforeAll(async () => {
  redis = await startTestRedis();
  [one, two] = await Promise.all([
    spawnServer({ REDIS_URL: redis.url, RATE_LIMIT: '0' }),
    spawnServer({ REDIS_URL: redis.url, RATE_LIMIT: '0' }),
  ]);
}, 40_000);
afterEach(closeClients);
afterAll(async () => {
  await killServers();
  await redis.stop();
});

describe('two server processes on one Redis', () => {
  it('share a room with one id sequence and give every member the same order', async () => {
    const room = 'shared';
    const members = await Promise.all([
      TestClient.join(roomUrl(one, room, { name: 'a1' })),
      TestClient.join(roomUrl(one, room, { name: 'a2' })),
      TestClient.join(roomUrl(two, room, { name: 'b1' })),
      TestClient.join(roomUrl(two, room, { name: 'b2' })),
    ]);
    const [senderOne, , senderTwo] = members;
    for (let i = 0; i < 50; i++) {
      senderOne!.send(`one-${i}`);
      senderTwo!.send(`two-${i}`);
    }
    const orders = await Promise.all(
      members.map(async (m) => (await m.waitForCount('message', 100, 15_000)).map((f) => `${f.id}:${f.text}`)),
    );
    const ids = orders[0]!.map((entry) => Number(entry.split(':')[0]));
    expect(ids).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    for (const order of orders) expect(order).toEqual(orders[0]);
    // Each sender's own messages keep the order it sent them in.
    const fromOne = orders[0]!.filter((e) => e.includes(':one-')).map((e) => e.split(':one-')[1]);
    expect(fromOne).toEqual(Array.from({ length: 50 }, (_, i) => String(i)));
  });

  it('counts online members across processes', async () => {
    const room = 'presence';
    const a = await TestClient.join(roomUrl(one, room, { name: 'ann' }));
    await TestClient.join(roomUrl(two, room, { name: 'ben' }));
    expect(await a.waitFor((f) => f.type === 'presence' && f.joined === 'ben')).toMatchObject({ online: 2 });
  });

  it('gives a member who moves to the other process exactly what it missed', async () => {
    const room = 'moving';
    const mover = await TestClient.join(roomUrl(one, room, { name: 'mover' }));
    const epoch = mover.frames[0]!.epoch as string;
    mover.send('before');
    await mover.waitFor((f) => f.type === 'message' && f.id === 1);
    await mover.close();
    const stayer = await TestClient.join(roomUrl(two, room, { name: 'stayer' }));
    stayer.send('while away 1');
    stayer.send('while away 2');
    await stayer.waitForCount('message', 2);
    const back = await TestClient.join(roomUrl(two, room, { name: 'mover', since: 1, epoch }));
    expect(back.frames[0]).toMatchObject({ gap: false });
    expect((back.frames[0]!.messages as Array<{ id: number }>).map((m) => m.id)).toEqual([2, 3]);
  });
});
