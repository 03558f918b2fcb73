import { historyKey, messageChannel } from '../../../server/engine/redis/keys';
import type { RunningServer } from '../../../server/server';
import { slotOf, startTestCluster, type TestCluster } from '../../helpers/redis-cluster';
import { killServers, spawnServer, type ServerProcess } from '../../helpers/spawn-server';
import { roomUrl, startChatServer, stopServers } from '../../helpers/start-server';
import { closeClients, TestClient, type Frame } from '../../helpers/ws-client';

/**
 * The chat server on Redis Cluster (REDIS_CLUSTER_NODES), end to end: two server processes (one
 * in this process, one started as `npm start` starts it), WebSocket members on both, rooms on
 * every shard, and a slot migration and master restarts under chat. The cluster keeps an
 * append-only file with fsync always, so a restarted master keeps what it acknowledged.
 */

let cluster: TestCluster;
let here: RunningServer;
let there: ServerProcess;

beforeAll(async () => {
  cluster = await startTestCluster({ appendOnly: true });
  const env = { REDIS_CLUSTER_NODES: cluster.seeds, RATE_LIMIT: '0' };
  // REDIS_URL is not used when REDIS_CLUSTER_NODES is set: an address where nothing answers proves it.
  [here, there] = await Promise.all([startChatServer('redis://127.0.0.1:1', env), spawnServer({ ...env, REDIS_URL: 'redis://127.0.0.1:1' })]);
}, 40_000);
afterEach(async () => {
  await closeClients();
  await cluster.flush();
});
afterAll(async () => {
  await killServers();
  await stopServers();
  await cluster.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Room names whose slots belong to different masters, one per master. */
async function roomsOnEveryMaster(prefix: string): Promise<Map<number, string>> {
  const found = new Map<number, string>();
  for (let i = 0; found.size < cluster.ports.length; i++) {
    const room = `${prefix}-${i}`;
    const owner = await cluster.ownerOf(slotOf(historyKey(room)));
    if (!found.has(owner)) found.set(owner, room);
  }
  return found;
}

/**
 * Sends `text` with `cid` until the server acknowledges it, resending the same cid after an
 * `unavailable` (the store may be down), as the client library does. Resolves with the id.
 */
async function sendAcked(client: TestClient, text: string, cid: string, timeoutMs = 20_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const from = client.frames.length;
    client.send({ type: 'message', text, cid });
    const answer = await client.waitFor(
      (f) => f.cid === cid && (f.type === 'ack' || f.type === 'error') && client.frames.indexOf(f) >= from,
      Math.max(1, deadline - Date.now()),
    );
    if (answer.type === 'ack') return answer.id as number;
    if (answer.code !== 'unavailable') throw new Error(`send refused: ${JSON.stringify(answer)}`);
    await sleep(100);
  }
}

/** Sends `count` messages one after the other, each acknowledged before the next. Resolves with their ids. */
async function chat(sender: TestClient, tag: string, count: number): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < count; i++) ids.push(await sendAcked(sender, `${tag} ${i}`, `${tag}-${i}`));
  return ids;
}

/**
 * Every sender chats on its own: `before` messages, then more for as long as `event` runs (it
 * starts once all have sent theirs), then `after` more once it is over, so that the room is
 * busy through the event and delivers live after it. Resolves with every acknowledged id, sorted.
 */
async function chatAround(senders: TestClient[], event: () => Promise<void>, before = 10, after = 10): Promise<number[]> {
  const ids = (await Promise.all(senders.map((s, n) => chat(s, `before-${n}`, before)))).flat();
  let over = false;
  const running = event().finally(() => (over = true));
  await Promise.all(
    senders.map(async (sender, n) => {
      for (let i = 0; !over; i++) ids.push(await sendAcked(sender, `during-${n} ${i}`, `during-${n}-${i}`));
    }),
  );
  await running;
  ids.push(...(await Promise.all(senders.map((s, n) => chat(s, `after-${n}`, after)))).flat());
  return ids.sort((a, b) => a - b);
}

/** What a member saw: its history frames and the ids of its message frames, in order. */
function seen(client: TestClient): { histories: Frame[]; ids: number[] } {
  return { histories: client.ofType('history'), ids: client.messageIds() };
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('the chat server on Redis Cluster (REDIS_CLUSTER_NODES)', () => {
  it('says so on its start line', () => {
    expect(there.output()).toContain(`engine: redis cluster at ${cluster.seeds}`);
  });

  it('runs rooms on every shard across two processes: every acknowledged message once, in id order, to every member', async () => {
    const rooms = await roomsOnEveryMaster('shard');
    await Promise.all(
      [...rooms.values()].map(async (room) => {
        const members = await Promise.all([
          TestClient.join(roomUrl(here, room, { name: 'h1' })),
          TestClient.join(roomUrl(here, room, { name: 'h2' })),
          TestClient.join(roomUrl(there, room, { name: 't1' })),
          TestClient.join(roomUrl(there, room, { name: 't2' })),
        ]);
        const [fromHere, fromThere] = await Promise.all([chat(members[0]!, `${room} here`, 10), chat(members[2]!, `${room} there`, 10)]);
        const acked = [...fromHere, ...fromThere].sort((a, b) => a - b);
        expect(acked).toEqual(range(1, 20));
        for (const member of members) {
          await member.waitForCount('message', 20);
          expect(seen(member).ids).toEqual(range(1, 20));
        }
      }),
    );
    // Each room's channel has a subscriber per process on its own master, and none anywhere with plain pub/sub.
    for (const [owner, room] of rooms) {
      expect(await cluster.node(owner).call('PUBSUB', 'SHARDNUMSUB', messageChannel(room))).toEqual([messageChannel(room), 2]);
      for (const port of cluster.ports) {
        expect(await cluster.node(port).call('PUBSUB', 'NUMSUB', messageChannel(room))).toEqual([messageChannel(room), 0]);
      }
    }
  });

  it('keeps a room going while its slot migrates to another master mid-chat: nothing lost, nothing repeated, no gap', async () => {
    const room = 'migrating';
    const members = await Promise.all([
      TestClient.join(roomUrl(here, room, { name: 'h1' })),
      TestClient.join(roomUrl(there, room, { name: 't1' })),
      TestClient.join(roomUrl(there, room, { name: 't2' })),
    ]);
    const from = await cluster.ownerOf(historyKey(room));
    const to = cluster.ports.find((p) => p !== from)!;
    const acked = await chatAround([members[0]!, members[1]!], () => cluster.migrateSlot(slotOf(historyKey(room)), from, to));
    expect(await cluster.ownerOf(historyKey(room))).toBe(to);
    expect(acked).toEqual(range(1, acked.length));
    for (const member of members) {
      await member.waitForCount('message', acked.length, 10_000);
      expect(seen(member)).toEqual({ histories: [expect.objectContaining({ gap: false })], ids: acked });
    }
    expect(await cluster.node(to).call('PUBSUB', 'SHARDNUMSUB', messageChannel(room))).toEqual([messageChannel(room), 2]);
  });

  it('keeps a room going while its master restarts mid-chat (append-only file): every acknowledged message once, in order, no gap', async () => {
    const room = 'restarting';
    const members = await Promise.all([
      TestClient.join(roomUrl(here, room, { name: 'h1' })),
      TestClient.join(roomUrl(there, room, { name: 't1' })),
    ]);
    const owner = await cluster.ownerOf(historyKey(room));
    const acked = await chatAround(members, () => cluster.restartMaster(owner, { downMs: 1000 }));
    expect(acked).toEqual(range(1, acked.length));
    for (const member of members) {
      await member.waitForCount('message', acked.length, 10_000);
      expect(seen(member)).toEqual({ histories: [expect.objectContaining({ gap: false })], ids: acked });
    }
  });

  it('shows members a gap when a master comes back without its data: the room starts a new epoch', async () => {
    const room = 'wiped';
    const members = await Promise.all([
      TestClient.join(roomUrl(here, room, { name: 'h1' })),
      TestClient.join(roomUrl(there, room, { name: 't1' })),
    ]);
    await chat(members[0]!, 'before', 3);
    const { epoch } = await here.history.since(room);
    expect(epoch).not.toBe('');
    await cluster.restartMaster(await cluster.ownerOf(historyKey(room)), { wipe: true });
    const after = await chat(members[1]!, 'after', 2);
    expect(after).toEqual([1, 2]);
    for (const member of members) {
      const reset = await member.waitFor((f) => f.type === 'history' && f.gap === true, 10_000);
      expect(reset.epoch).not.toBe(epoch);
      // From the reset on, the member has the new epoch's messages, each once, in order.
      const since = () => [
        ...(reset.messages as Array<{ id: number }>).map((m) => m.id),
        ...member.frames.slice(member.frames.indexOf(reset)).filter((f) => f.type === 'message').map((f) => f.id as number),
      ];
      await member.waitFor(() => since().includes(2), 10_000);
      await sleep(100);
      expect(since()).toEqual([1, 2]);
    }
  });
});
