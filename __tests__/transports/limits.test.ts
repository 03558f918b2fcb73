import { connect } from 'node:net';
import type { RunningServer } from '../../server/server';
import { withChatServer } from '../helpers/chat-fixture';
import { http, SseReader } from '../helpers/http';
import { startTestRedis } from '../helpers/redis-server';
import { roomUrl, startChatServer } from '../helpers/start-server';
import { killServers, spawnServer } from '../helpers/spawn-server';
import { closeClients, refusedUpgrade, TestClient } from '../helpers/ws-client';

// PROTOCOL.md v2 "Handshake and names, amended" and "Room lifecycle and limits": each limit a
// named case, scaled down so the suite stays fast (the README gives the full-size figures).

let server: RunningServer;
let redisUrl: string;
withChatServer({ MAX_CONNECTIONS_PER_IP: '3' }, (redis, s) => {
  server = s;
  redisUrl = redis.url;
});
afterEach(closeClients);
afterAll(killServers);

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the WebSocket handshake', () => {
  it('refuses an unknown path with 404 and the JSON error body, instead of upgrading and closing', async () => {
    const refused = await refusedUpgrade(`ws://127.0.0.1:${server.port}/socket.io/?EIO=4`);
    expect(refused).toEqual({ status: 404, body: { error: { code: 'not_found', message: expect.stringContaining('/ws/ROOM') } } });
  });

  it('selects chat when offered and no protocol otherwise, never echoing what it does not speak', async () => {
    const chat = new TestClient(roomUrl(server, 'lobby'), {}, ['v10.stomp', 'chat']);
    await chat.opened();
    expect(chat.socket.protocol).toBe('chat');
    // Offered only protocols we do not speak: the answer names none (and such a client gives up).
    const other = new TestClient(roomUrl(server, 'lobby'), {}, ['v10.stomp']);
    const answered = await new Promise<string | undefined>((resolve) =>
      other.socket.once('upgrade', (res) => resolve(res.headers['sec-websocket-protocol'] as string | undefined)),
    );
    expect(answered).toBeUndefined();
  });
});

describe('MAX_CONNECTIONS_PER_IP', () => {
  it('counts WebSockets, SSE streams and held long polls of one address together, answering 429 past it', async () => {
    const ws = await TestClient.join(roomUrl(server, 'capped'));
    const sse = new SseReader(server.port, '/api/rooms/capped/events');
    await sse.waitFor(() => sse.ofType('ready').length === 1);
    const held = http(server.port, 'GET', '/api/rooms/capped/poll?since=0&timeout=2');
    await wait(150);
    const refused = await refusedUpgrade(roomUrl(server, 'capped'));
    expect([refused.status, refused.body.error.code]).toEqual([429, 'too_many_connections']);
    const sseRefused = await http(server.port, 'GET', '/api/rooms/capped/events');
    expect([sseRefused.status, sseRefused.json.error.code]).toEqual([429, 'too_many_connections']);
    const pollRefused = await http(server.port, 'GET', '/api/rooms/capped/poll?since=0&timeout=1');
    expect([pollRefused.status, pollRefused.json.error.code]).toEqual([429, 'too_many_connections']);
    // Plain requests are not connections; another address has its own count.
    expect((await http(server.port, 'GET', '/api/rooms/capped/messages')).status).toBe(200);
    await TestClient.join(roomUrl(server, 'capped'), { localAddress: '127.0.0.2' });
    // A connection that ends frees its place.
    await ws.close();
    sse.close();
    await held;
    await wait(100);
    await TestClient.join(roomUrl(server, 'capped'));
  });
});

describe('MAX_CONNECTIONS', () => {
  it('answers 503 unavailable past the process’s total, in the handshake', async () => {
    const small = await startChatServer(redisUrl, { MAX_CONNECTIONS: '2' });
    await TestClient.join(roomUrl(small, 'full'));
    await TestClient.join(roomUrl(small, 'full'), { localAddress: '127.0.0.2' });
    const refused = await refusedUpgrade(roomUrl(small, 'full'), { localAddress: '127.0.0.3' });
    expect([refused.status, refused.body.error.code]).toEqual([503, 'unavailable']);
  });

  it('answers an SSE stream and a long poll past the total with 503 unavailable too: one count for every transport', async () => {
    const small = await startChatServer(redisUrl, { MAX_CONNECTIONS: '2' });
    await TestClient.join(roomUrl(small, 'full'));
    const sse = new SseReader(small.port, '/api/rooms/full/events');
    await sse.waitFor(() => sse.ofType('ready').length === 1);
    const streamRefused = await http(small.port, 'GET', '/api/rooms/full/events');
    expect([streamRefused.status, streamRefused.json.error.code]).toEqual([503, 'unavailable']);
    const pollRefused = await http(small.port, 'GET', '/api/rooms/full/poll?since=0&timeout=1');
    expect([pollRefused.status, pollRefused.json.error.code]).toEqual([503, 'unavailable']);
    sse.close();
  });
});

describe('a flood over one WebSocket', () => {
  it('closes the flooder with 1008 past 64 frames waiting, drops what it left, and the room goes on', async () => {
    const flood = await startChatServer(redisUrl, { RATE_LIMIT: '0' });
    const room = 'flooded';
    const flooder = await TestClient.join(roomUrl(flood, room));
    const calm = await TestClient.join(roomUrl(flood, room), { localAddress: '127.0.0.2' });
    const frames = Array.from({ length: 2000 }, (_, i) => `f${i}`);
    for (const text of frames) flooder.send(text);
    expect(await flooder.closed).toEqual({ code: 1008, reason: 'too many messages queued' });
    await wait(300);
    const stored = (await http(flood.port, 'GET', `/api/rooms/${room}/messages`)).json.last as number;
    expect(stored).toBeLessThan(200); // the rest was dropped, not stored after the flooder left
    calm.send({ type: 'message', text: 'still here', cid: 'c1' });
    await calm.waitFor((f) => f.type === 'ack');
  });
});

describe('TRUST_PROXY', () => {
  it('takes the client address that many hops from the right, so a forged X-Forwarded-For changes nothing', async () => {
    const proxied = await startChatServer(redisUrl, { TRUST_PROXY: '1', RATE_LIMIT: '1' });
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) {
      const forged = { 'x-forwarded-for': `10.9.9.${i}, 203.0.113.7` }; // the proxy appended the real one
      statuses.push((await http(proxied.port, 'POST', '/api/rooms/proxied/messages', { text: `m${i}` }, forged)).status);
    }
    expect(statuses.filter((s) => s === 201)).toHaveLength(10);
    expect(statuses.slice(10)).toEqual([429, 429]);
    const another = { 'x-forwarded-for': '203.0.113.8' };
    expect((await http(proxied.port, 'POST', '/api/rooms/proxied/messages', { text: 'other' }, another)).status).toBe(201);
  });

  it('reads a WebSocket’s address and host as every HTTP transport does: one count per client, the forwarded host’s origin', async () => {
    const proxied = await startChatServer(redisUrl, { TRUST_PROXY: '1', MAX_CONNECTIONS_PER_IP: '1', PUBLIC_URL: '' });
    const behind = (client: string) => ({ 'x-forwarded-for': `10.0.0.1, ${client}` });
    const ws = await TestClient.join(roomUrl(proxied, 'proxied'), { headers: behind('203.0.113.7') });
    // The same client over SSE, or a second WebSocket, is past its one connection.
    expect((await http(proxied.port, 'GET', '/api/rooms/proxied/events', undefined, behind('203.0.113.7'))).status).toBe(429);
    expect((await refusedUpgrade(roomUrl(proxied, 'proxied'), { headers: behind('203.0.113.7') })).status).toBe(429);
    // Another client behind the same proxy has its own.
    const sse = new SseReader(proxied.port, '/api/rooms/proxied/events', behind('203.0.113.8'));
    await sse.waitFor(() => sse.ofType('ready').length === 1);
    sse.close();
    // The page's origin as the proxy forwards it is the server's own, for a POST and a WebSocket alike.
    const forwarded = { 'x-forwarded-for': '203.0.113.9', 'x-forwarded-host': 'chat.example', origin: 'http://chat.example' };
    expect((await http(proxied.port, 'POST', '/api/rooms/proxied/messages', { text: 'hi' }, forwarded)).status).toBe(201);
    const fromPage = await TestClient.join(roomUrl(proxied, 'proxied'), { headers: forwarded });
    await fromPage.close();
    await ws.close();
  });
});

describe('slow clients', () => {
  it('drops a client whose request headers do not arrive within 10 s', async () => {
    const socket = connect(server.port, '127.0.0.1');
    socket.on('error', () => undefined);
    const started = Date.now();
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    const trickle = setInterval(() => socket.writable && socket.write('X-Slow: 1\r\n'), 1000);
    await new Promise<void>((resolve) => socket.once('close', () => resolve()));
    clearInterval(trickle);
    const heldMs = Date.now() - started;
    expect(heldMs).toBeGreaterThanOrEqual(9_500);
    expect(heldMs).toBeLessThan(13_000);
  }, 20_000);
});

describe('headers and origins', () => {
  it('sends nosniff and Referrer-Policy on every answer', async () => {
    for (const path of ['/api/rooms/lobby/messages', '/healthz', '/nowhere']) {
      const res = await http(server.port, 'GET', path);
      expect([path, res.headers['x-content-type-options'], res.headers['referrer-policy']]).toEqual([path, 'nosniff', 'same-origin']);
    }
  });

  it('on a loopback address without PUBLIC_URL, refuses a Host that is not a loopback name (DNS rebinding)', async () => {
    const rebound = await http(server.port, 'GET', '/api/rooms/lobby/messages', undefined, { host: `evil.example:${server.port}` });
    expect([rebound.status, rebound.json.error.code]).toEqual([403, 'forbidden']);
    const upgrade = await refusedUpgrade(roomUrl(server, 'lobby'), { headers: { host: 'evil.example' } });
    expect(upgrade.status).toBe(403);
    for (const host of [`localhost:${server.port}`, `127.0.0.1:${server.port}`, `[::1]:${server.port}`]) {
      expect((await http(server.port, 'GET', '/healthz', undefined, { host })).status).toBe(200);
    }
  });

  it('with PUBLIC_URL, takes it as its own origin and serves the Host it names', async () => {
    const public_ = await startChatServer(redisUrl, { PUBLIC_URL: 'https://chat.example.com' });
    const res = await http(public_.port, 'GET', '/healthz', undefined, { host: 'chat.example.com' });
    expect(res.status).toBe(200);
    await TestClient.join(roomUrl(public_, 'lobby'), { origin: 'https://chat.example.com' });
    expect((await refusedUpgrade(roomUrl(public_, 'lobby'), { origin: `http://127.0.0.1:${public_.port}` })).status).toBe(403);
  });
});

describe('/metrics', () => {
  it('answers loopback clients when METRICS_TOKEN is unset, and no one else', async () => {
    expect((await http(server.port, 'GET', '/metrics')).status).toBe(200);
    const proxied = await startChatServer(redisUrl, { TRUST_PROXY: '1' });
    const remote = await http(proxied.port, 'GET', '/metrics', undefined, { 'x-forwarded-for': '203.0.113.7' });
    expect([remote.status, remote.json.error.code]).toEqual([403, 'forbidden']);
  });

  it('needs Authorization: Bearer METRICS_TOKEN when it is set', async () => {
    const guarded = await startChatServer(redisUrl, { METRICS_TOKEN: 'metrics-secret' });
    expect((await http(guarded.port, 'GET', '/metrics')).status).toBe(401);
    expect((await http(guarded.port, 'GET', '/metrics', undefined, { authorization: 'Bearer wrong' })).status).toBe(401);
    const ok = await http(guarded.port, 'GET', '/metrics', undefined, { authorization: 'Bearer metrics-secret' });
    expect([ok.status, ok.text.includes('chat_connections')]).toEqual([200, true]);
  });
});

describe('the log', () => {
  it('does not log a client closing its SSE stream as an error', async () => {
    const redis = await startTestRedis();
    try {
      const logged = await spawnServer({ REDIS_URL: redis.url, LOG_LEVEL: 'info' });
      for (let i = 0; i < 5; i++) {
        const sse = new SseReader(logged.port, '/api/rooms/quiet/events');
        await sse.waitFor(() => sse.ofType('ready').length === 1);
        sse.close();
      }
      await wait(300);
      expect(logged.output()).not.toContain('"level":50');
    } finally {
      await killServers();
      await redis.stop();
    }
  });
});
