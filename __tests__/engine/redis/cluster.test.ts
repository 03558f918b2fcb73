import type { Cluster } from 'ioredis';
import { historyKey, messageChannel, presenceChannel, controlChannel } from '../../../server/engine/redis/keys';
import { connectRedisClusterEngine, type RedisEngine } from '../../../server/engine/redis/redis-engine';
import { slotOf, startTestCluster, type TestCluster } from '../../helpers/redis-cluster';
import { BusRecorder } from '../bus-behaviour';
import { describeEngineBehaviour } from '../history-behaviour';

let cluster: TestCluster;
let client: Cluster;
const engines: RedisEngine<Cluster>[] = [];

const seeds = () => cluster.ports.map((port) => ({ host: '127.0.0.1', port }));
async function engine(historyLimit = 100, historyTtlSec = 0): Promise<RedisEngine<Cluster>> {
  const made = await connectRedisClusterEngine({ nodes: seeds(), historyLimit, historyTtlSec, processId: `test-${engines.length}` });
  engines.push(made);
  return made;
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  cluster = await startTestCluster();
  client = cluster.client();
}, 30_000);
afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.close()));
  await cluster.flush();
});
afterAll(() => cluster.stop());

describeEngineBehaviour('redis cluster', async ({ historyLimit, historyTtlSec }) => {
  const made = await connectRedisClusterEngine({ nodes: seeds(), historyLimit, historyTtlSec, processId: 'test' });
  return {
    engine: made,
    dispose: () => made.close(),
    // Redis expires keys on its own clock: the test waits (HISTORY_TTL 1 s keeps it short).
    elapse: (ms) => new Promise((r) => setTimeout(r, ms)),
    footprint: () => cluster.dbsize(),
  };
});

// What only the Cluster engine has: slots, shards, sharded pub/sub, and their moves.

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

/** `PUBSUB SHARDNUMSUB` / `PUBSUB NUMSUB` of one channel on one node. */
async function subscribers(port: number, kind: 'SHARDNUMSUB' | 'NUMSUB', channel: string): Promise<number> {
  const reply = (await cluster.node(port).call('PUBSUB', kind, channel)) as [string, number];
  return Number(reply[1]);
}

describe('connectRedisClusterEngine(options)', () => {
  it('keeps a room’s keys and channels on one slot, and rooms spread over the masters', async () => {
    const room = 'lobby';
    const slot = slotOf(historyKey(room));
    for (const key of [messageChannel(room), presenceChannel(room), controlChannel(room), `chat:{${room}}:seq`]) expect(slotOf(key)).toBe(slot);
    const e = await engine();
    const rooms = await roomsOnEveryMaster('spread');
    for (const [owner, name] of rooms) {
      await e.history.append(name, { user: 'u', text: `on ${owner}` });
      expect(await cluster.node(owner).llen(historyKey(name))).toBe(1);
    }
    expect((await e.history.rooms()).map((r) => r.room).sort()).toEqual([...rooms.values()].sort());
  });

  it('rejects with a sentence when no seed answers', async () => {
    await expect(
      connectRedisClusterEngine({ nodes: [{ host: '127.0.0.1', port: 1 }], historyLimit: 100, processId: 'x' }),
    ).rejects.toThrow(/^Cannot reach the Redis Cluster at 127\.0\.0\.1:1: /);
  });
});

describe('connectClusterCommandClient(seeds): DEPENDENCIES.md trap 10', () => {
  it('never sends a script again after its connection closed: the sender was told unavailable, and nothing is stored', async () => {
    const e = await engine();
    const room = 'in-flight';
    await e.history.append(room, { user: 'u', text: 'first' });
    const owner = cluster.node(await cluster.ownerOf(historyKey(room)));
    await owner.call('CLIENT', 'PAUSE', 1000, 'WRITE');
    const pending = e.history.append(room, { user: 'u', text: 'in flight', cid: 'c-1' });
    await sleep(200);
    await owner.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
    await expect(pending).rejects.toMatchObject({ code: 'unavailable' });
    await sleep(1000);
    expect((await e.history.since(room)).messages.map((m) => JSON.parse(m.json).text)).toEqual(['first']);
    expect((await e.history.append(room, { user: 'u', text: 'in flight', cid: 'c-1' })).message.id).toBe(2);
  });
});

describe('ClusterRoomBus: sharded pub/sub', () => {
  it('SSUBSCRIBEs on the master that owns the room, never with plain SUBSCRIBE', async () => {
    const e = await engine();
    const rec = new BusRecorder();
    e.bus.listen(rec);
    const rooms = await roomsOnEveryMaster('shard');
    for (const room of rooms.values()) await e.bus.subscribe(room);
    for (const [owner, room] of rooms) {
      expect(await subscribers(owner, 'SHARDNUMSUB', messageChannel(room))).toBe(1);
      expect(await subscribers(owner, 'SHARDNUMSUB', controlChannel(room))).toBe(1);
      for (const port of cluster.ports) {
        expect(await subscribers(port, 'NUMSUB', messageChannel(room))).toBe(0);
        if (port !== owner) expect(await subscribers(port, 'SHARDNUMSUB', messageChannel(room))).toBe(0);
      }
    }
    const room = rooms.values().next().value!;
    await e.bus.unsubscribe(room);
    expect(await subscribers(await cluster.ownerOf(historyKey(room)), 'SHARDNUMSUB', messageChannel(room))).toBe(0);
  });

  it('publishes messages, presence frames, deletes and kicks with SPUBLISH only', async () => {
    const e = await engine();
    const rec = new BusRecorder();
    e.bus.listen(rec);
    await e.bus.subscribe('r');
    await Promise.all(cluster.ports.map((port) => cluster.node(port).config('RESETSTAT')));
    await e.history.append('r', { user: 'u', text: 'x' });
    await e.presence.update('r', 1, { joined: 'u' });
    await e.history.delete('r', 1, { user: 'mod' });
    await e.bus.kick('r', { uid: 'u:1' });
    await rec.waitFor(4);
    const stats = (await Promise.all(cluster.ports.map((port) => cluster.node(port).info('commandstats')))).join('\n');
    expect(stats).not.toMatch(/^cmdstat_publish:/m);
    expect(stats).toMatch(/^cmdstat_spublish:calls=4,/m);
  });

  it('follows a slot migration: resubscribes on the new owner, says resubscribed, and delivers again', async () => {
    const [writer, reader] = [await engine(), await engine()];
    const rec = new BusRecorder();
    reader.bus.listen(rec);
    const room = 'moving';
    await reader.bus.subscribe(room);
    const first = await writer.history.append(room, { user: 'u', text: 'before' });
    await rec.waitFor(1);
    const from = await cluster.ownerOf(historyKey(room));
    const to = cluster.ports.find((p) => p !== from)!;
    await cluster.migrateSlot(slotOf(historyKey(room)), from, to);
    await until(() => rec.resubscriptions > 0, 'resubscribed() after the migration');
    expect(await subscribers(to, 'SHARDNUMSUB', messageChannel(room))).toBe(1);
    expect(await subscribers(from, 'SHARDNUMSUB', messageChannel(room))).toBe(0);
    const second = await writer.history.append(room, { user: 'u', text: 'after' });
    expect(second.message.id).toBe(2);
    expect(await rec.waitFor(2)).toEqual([`message ${room} ${first.message.json}`, `message ${room} ${second.message.json}`]);
    expect(await client.llen(historyKey(room))).toBe(2);
  });

  it('follows a master restart: fails fast while it is down, resubscribes, says resubscribed, and delivers again', async () => {
    const [writer, reader] = [await engine(), await engine()];
    const rec = new BusRecorder();
    reader.bus.listen(rec);
    const room = 'restarted';
    await reader.bus.subscribe(room);
    await writer.history.append(room, { user: 'u', text: 'before' });
    await rec.waitFor(1);
    const owner = await cluster.ownerOf(historyKey(room));
    const down = cluster.restartMaster(owner, { downMs: 1500 });
    await sleep(300);
    const started = Date.now();
    await expect(writer.history.append(room, { user: 'u', text: 'while down', cid: 'c-1' })).rejects.toMatchObject({ code: 'unavailable' });
    expect(Date.now() - started).toBeLessThan(1500);
    await down;
    // ioredis retries the master's subscriber connection with a backoff: wait until Redis has it.
    await untilAsync(async () => (await subscribers(owner, 'SHARDNUMSUB', messageChannel(room))) === 1, 'the SSUBSCRIBE again');
    await until(() => rec.resubscriptions > 0, 'resubscribed() after the restart');
    // Without persistence the master came back empty: the room starts a new epoch at id 1, and the
    // send that was refused while it was down was not stored behind its sender's back.
    const after = await writer.history.append(room, { user: 'u', text: 'after' });
    expect(after.message.id).toBe(1);
    expect(await rec.waitFor(2)).toEqual([expect.stringContaining('"text":"before"'), `message ${room} ${after.message.json}`]);
    expect((await writer.history.since(room)).messages.map((m) => JSON.parse(m.json).text)).toEqual(['after']);
    expect(await writer.healthy()).toBe(true);
  });
});

async function untilAsync(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}
