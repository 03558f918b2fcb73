import type { RunningServer } from '../../server/server';
import { http } from '../helpers/http';
import { withChatServer } from '../helpers/chat-fixture';
import type { TestRedis } from '../helpers/redis-server';
import { request } from 'node:http';

let redis: TestRedis;
let server: RunningServer;

withChatServer({ MAX_CONNECTIONS_PER_IP: '0' }, (r, s) => {
  redis = r;
  server = s;
});
afterEach(() => redis.flush());

const poll = (room: string, query: string) => http(server.port, 'GET', `/api/rooms/${room}/poll?${query}`);
const members = () => [...server.hub.memberCounts().values()].reduce((a, b) => a + b, 0);

async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('GET /api/rooms/:room/poll', () => {
  it('answers at once without since, like a first join', async () => {
    await server.history.append('r', { user: 'u', text: 'old' });
    const res = await poll('r', '');
    expect(res.json).toMatchObject({ room: 'r', last: 1, gap: false });
    expect(res.json.messages).toHaveLength(1);
  });

  it('answers at once when a message after since already exists', async () => {
    await server.history.append('r', { user: 'u', text: 'a' });
    await server.history.append('r', { user: 'u', text: 'b' });
    const res = await poll('r', 'since=1');
    expect(res.json.messages.map((m: { text: string }) => m.text)).toEqual(['b']);
  });

  it('holds the request until a message is stored, then answers with it', async () => {
    const { json: first } = await poll('r', '');
    const pending = poll('r', `since=0&epoch=${first.epoch}&timeout=10`);
    await until(() => server.app.transports.longpoll.size === 1);
    const { epoch } = await server.history.append('r', { user: 'u', text: 'wake up' });
    const res = await pending;
    // The room was empty (epoch ""): the answer carries the epoch its first message created.
    expect(first.epoch).toBe('');
    expect(res.json).toMatchObject({ room: 'r', epoch, last: 1, gap: false });
    expect(res.json.messages.map((m: { text: string }) => m.text)).toEqual(['wake up']);
  });

  it('answers after timeout seconds with no messages', async () => {
    const started = Date.now();
    const res = await poll('r', 'since=0&timeout=1');
    expect(res.json).toMatchObject({ messages: [], last: 0, gap: false });
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(members()).toBe(0);
  });

  it('answers a gap at once', async () => {
    for (let i = 0; i < 105; i++) await server.history.append('r', { user: 'u', text: `m${i}` });
    const res = await poll('r', 'since=1&timeout=10');
    expect(res.json).toMatchObject({ gap: true, missed: 4 });
  });

  it.each(['timeout=61', 'timeout=-1', 'timeout=x', 'since=x'])('answers %s with 400', async (query) => {
    expect((await poll('r', query)).status).toBe(400);
  });

  it('holds 1000 concurrent polls and releases them all with one message', async () => {
    const { json: first } = await poll('crowd', '');
    const pending = Array.from({ length: 1000 }, () =>
      http(server.port, 'GET', `/api/rooms/crowd/poll?since=0&epoch=${first.epoch}&timeout=30`, undefined, {
        connection: 'close',
      }),
    );
    await until(() => server.app.transports.longpoll.size === 1000, 15_000);
    expect(server.hub.memberCounts().get('crowd')).toBe(1000);
    await server.history.append('crowd', { user: 'u', text: 'everyone' });
    const answers = await Promise.all(pending);
    expect(answers.every((a) => a.status === 200 && a.json.messages[0].text === 'everyone')).toBe(true);
    // One answer serialized once and shared by all.
    expect(new Set(answers.map((a) => a.text)).size).toBe(1);
    expect(server.app.transports.longpoll.size).toBe(0);
    expect(members()).toBe(0);
  }, 30_000);

  it('drops a request the client abandoned at once, leaving no member or deadline behind', async () => {
    const aborted = Array.from({ length: 50 }, () => {
      const req = request({ host: '127.0.0.1', port: server.port, path: '/api/rooms/gone/poll?since=0&timeout=60' });
      req.on('error', () => undefined);
      req.end();
      return req;
    });
    await until(() => server.app.transports.longpoll.size === 50);
    for (const req of aborted) req.destroy();
    await until(() => server.app.transports.longpoll.size === 0);
    await until(() => members() === 0);
    expect(server.hub.memberCounts().size).toBe(0);
  });
});
