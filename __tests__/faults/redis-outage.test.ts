import { epochKey, historyKey, seqKey } from '../../server/engine/redis/keys';
import type { RunningServer } from '../../server/server';
import { http, SseReader } from '../helpers/http';
import { startTestRedis, type TestRedis } from '../helpers/redis-server';
import { roomUrl, startChatServer, stopServers } from '../helpers/start-server';
import { closeClients, TestClient } from '../helpers/ws-client';

let redis: TestRedis;
let server: RunningServer;

beforeEach(async () => {
  redis = await startTestRedis({ appendOnly: true });
  server = await startChatServer(redis.url, { RATE_LIMIT: '0' });
});
afterEach(async () => {
  await closeClients();
  await stopServers();
  await redis.stop();
});

const metric = async (name: string) => {
  const text = (await http(server.port, 'GET', '/metrics')).text;
  return Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
};

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > timeoutMs) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('a Redis outage', () => {
  it('answers a send with unavailable at once, keeps the socket open, and turns /healthz 503', async () => {
    const member = await TestClient.join(roomUrl(server, 'r', { name: 'a' }));
    expect((await http(server.port, 'GET', '/healthz')).status).toBe(200);
    await redis.kill();
    const started = Date.now();
    member.send({ type: 'message', text: 'during the outage', cid: 'out-1' });
    const error = await member.waitFor((f) => f.type === 'error');
    expect(Date.now() - started).toBeLessThan(1000);
    expect(error).toMatchObject({ code: 'unavailable', cid: 'out-1' });
    expect(member.socket.readyState).toBe(member.socket.OPEN);
    const health = await http(server.port, 'GET', '/healthz');
    expect(health.status).toBe(503);
    expect(health.json).toEqual({ status: 'unavailable', redis: 'down' });
    expect(await metric('chat_redis_errors_total')).toBeGreaterThan(0);
  });

  it('answers every transport’s join and send with 503 or unavailable, not a hang', async () => {
    await redis.kill();
    const post = await http(server.port, 'POST', '/api/rooms/r/messages', { text: 'x' });
    expect(post.status).toBe(503);
    expect((await http(server.port, 'GET', '/api/rooms/r/messages')).status).toBe(503);
    expect((await http(server.port, 'GET', '/api/rooms/r/poll?since=0&timeout=5')).status).toBe(503);
    // SSE answers 200 and one error event, then ends: a plain EventSource retries a 200 by itself.
    const sse = new SseReader(server.port, '/api/rooms/r/events');
    await sse.waitFor(() => sse.ended);
    expect([sse.status, sse.ofType('error').length]).toEqual([200, 1]);
    sse.close();
    const ws = new TestClient(roomUrl(server, 'r'));
    expect((await ws.closed).code).toBe(1013);
    expect(ws.frames[0]).toMatchObject({ type: 'error', code: 'unavailable' });
  });

  it('delivers, once Redis is back, every message stored after the outage to members who stayed, with no gap', async () => {
    const member = await TestClient.join(roomUrl(server, 'r', { name: 'stayer' }));
    const sender = await TestClient.join(roomUrl(server, 'r', { name: 'sender' }));
    sender.send({ type: 'message', text: 'before', cid: 'b1' });
    await member.waitFor((f) => f.type === 'message' && f.id === 1);
    await redis.kill();
    sender.send({ type: 'message', text: 'lost?', cid: 'd1' });
    await sender.waitFor((f) => f.type === 'error' && f.cid === 'd1');
    await redis.start();
    await until(async () => (await http(server.port, 'GET', '/healthz')).status === 200);
    // The same cid, resent: stored now, once.
    sender.send({ type: 'message', text: 'lost?', cid: 'd1' });
    for (let i = 0; i < 5; i++) await http(server.port, 'POST', '/api/rooms/r/messages', { text: `after ${i}` });
    await member.waitForCount('message', 7);
    expect(member.messageIds()).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(member.ofType('history')).toHaveLength(1); // no resync: nothing was lost
    expect(member.ofType('message').filter((f) => f.text === 'lost?')).toHaveLength(1);
  });

  it('repairs what pub/sub lost while the subscriber reconnected, from the list by id', async () => {
    const member = await TestClient.join(roomUrl(server, 'r', { name: 'stayer' }));
    const admin = redis.client();
    // Drop only the subscriber connection; the store keeps writing while it reconnects.
    await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
    for (let i = 1; i <= 10; i++) await server.history.append('r', { user: 'u', text: `m${i}` });
    await member.waitForCount('message', 10);
    expect(member.messageIds()).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(member.ofType('history')).toHaveLength(1);
  });

  it('resynchronizes members with a gap when the history was reset under them', async () => {
    const member = await TestClient.join(roomUrl(server, 'r', { name: 'stayer' }));
    await server.history.append('r', { user: 'u', text: 'old world' });
    await member.waitFor((f) => f.type === 'message');
    const epoch = member.frames[0]!.epoch;
    await redis.client().del(historyKey('r'), seqKey('r'), epochKey('r'));
    await server.history.append('r', { user: 'u', text: 'new world' });
    const resync = await member.waitFor((f) => f.type === 'history' && f.epoch !== epoch);
    expect(resync).toMatchObject({ gap: true });
    expect((resync.messages as Array<{ text: string }>).map((m) => m.text)).toEqual(['new world']);
  });
});
