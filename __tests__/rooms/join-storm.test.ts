import type { RunningServer } from '../../server/server';
import { withChatServer } from '../helpers/chat-fixture';
import type { TestRedis } from '../helpers/redis-server';
import { roomUrl } from '../helpers/start-server';
import { closeClients, TestClient } from '../helpers/ws-client';

// A deploy or a network blip brings every client of a process back at once, each with its
// cursor: the joins of one room share their history reads (issue 17).

let server: RunningServer;
let redis: TestRedis;
withChatServer({ MAX_CONNECTIONS_PER_IP: '0', RATE_LIMIT: '0' }, (r, s) => {
  redis = r;
  server = s;
});
afterEach(closeClients);

/** History reads so far: LLEN runs once per READ_SINCE script and nowhere on a join's other paths. */
async function historyReads(): Promise<number> {
  const info = await redis.client().info('commandstats');
  return Number(/cmdstat_llen:calls=(\d+)/.exec(info)?.[1] ?? 0);
}

describe('1,000 clients of one room joining at once', () => {
  it('share their history reads (under 0.25 per join), and each gets exactly its own catch-up', async () => {
    const room = 'storm';
    for (let i = 1; i <= 120; i++) await server.history.append(room, { user: 'u', text: `m${i}` });
    const { epoch } = await server.history.since(room);
    const before = await historyReads();
    const joins = Array.from({ length: 1000 }, (_, i) =>
      TestClient.join(roomUrl(server, room, i % 2 === 0 ? {} : { since: 100 + (i % 20), epoch })),
    );
    const clients = await Promise.all(joins);
    const reads = (await historyReads()) - before;
    expect(reads / 1000).toBeLessThan(0.25);
    clients.forEach((client, i) => {
      const history = client.frames[0]!;
      const ids = (history.messages as Array<{ id: number }>).map((m) => m.id);
      const from = i % 2 === 0 ? 21 : 101 + (i % 20);
      expect([i, history.gap, ids[0], ids.at(-1), ids.length]).toEqual([i, false, ids.length ? from : undefined, ids.length ? 120 : undefined, 121 - from]);
    });
    // And the room goes on for all of them, once each.
    await server.history.append(room, { user: 'u', text: 'after the storm' });
    await Promise.all(clients.map((c) => c.waitFor((f) => f.type === 'message' && f.id === 121)));
  }, 60_000);
});

describe('a server process killed and restarted under 1,000 clients with cursors', () => {
  it('brings every client back exactly (no gap, no repeat), at under 0.25 history reads per join', async () => {
    const { spawnServer, killServers } = await import('../helpers/spawn-server');
    const { ChatClient } = await import('../../client');
    const { default: WebSocket } = await import('ws');
    const room = 'restart-storm';
    const env = { REDIS_URL: redis.url, MAX_CONNECTIONS_PER_IP: '0', RATE_LIMIT: '0', LOG_LEVEL: 'warn' };
    let proc = await spawnServer(env);
    const port = proc.port;
    const chats = Array.from({ length: 1000 }, (_, i) => {
      const chat = new ChatClient({ url: `http://127.0.0.1:${port}`, room, name: `c${i}`, transports: ['ws'], WebSocket, reconnectMaxMs: 2000 });
      const ids: number[] = [];
      let gaps = 0;
      chat.on('history', (h) => {
        if (h.gap) gaps++;
        ids.push(...h.messages.map((m) => m.id));
      });
      chat.on('message', (m) => ids.push(m.id));
      return { chat, ids, gaps: () => gaps };
    });
    const until = async (check: () => boolean, what: string) => {
      const started = Date.now();
      while (!check()) {
        if (Date.now() - started > 30_000) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    try {
      await until(() => chats.every((c) => c.chat.state === 'open'), 'every client open');
      for (let i = 1; i <= 5; i++) await server.history.append(room, { user: 'u', text: `before ${i}` });
      await until(() => chats.every((c) => c.ids.length === 5), 'five messages each');
      await proc.kill('SIGKILL');
      for (let i = 6; i <= 10; i++) await server.history.append(room, { user: 'u', text: `while down ${i}` });
      const before = await historyReads();
      proc = await spawnServer({ ...env, PORT: String(port) });
      await until(() => chats.every((c) => c.ids.length === 10), 'ten messages each');
      const reads = (await historyReads()) - before;
      expect(reads / 1000).toBeLessThan(0.25);
      for (const c of chats) {
        expect(c.ids).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        expect(c.gaps()).toBe(0);
      }
    } finally {
      for (const c of chats) c.chat.close();
      await killServers();
    }
  }, 90_000);
});
