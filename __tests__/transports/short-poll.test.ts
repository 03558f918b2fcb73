import type { RunningServer } from '../../server/server';
import { historyKey } from '../../server/engine/redis/keys';
import { http } from '../helpers/http';
import { withChatServer } from '../helpers/chat-fixture';
import { startTestRedis, type TestRedis } from '../helpers/redis-server';
import { startChatServer } from '../helpers/start-server';

let redis: TestRedis;
let server: RunningServer;

withChatServer({}, (r, s) => {
  redis = r;
  server = s;
});
afterEach(() => redis.flush());

const get = (path: string) => http(server.port, 'GET', path);
const post = (room: string, body: unknown, headers?: Record<string, string>) =>
  http(server.port, 'POST', `/api/rooms/${room}/messages`, body as object, headers);

async function seed(room: string, count: number): Promise<void> {
  for (let i = 1; i <= count; i++) await server.history.append(room, { user: 'seed', text: `m${i}` });
}

describe('GET /api/rooms/:room/messages', () => {
  it('answers an empty room with its epoch and last 0', async () => {
    const res = await get('/api/rooms/lobby/messages');
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ room: 'lobby', epoch: expect.any(String), messages: [], last: 0, gap: false });
  });

  it('answers the messages after since, oldest first, with the room’s last id', async () => {
    await seed('r', 5);
    const { json: first } = await get('/api/rooms/r/messages');
    const res = await get(`/api/rooms/r/messages?since=3&epoch=${first.epoch}`);
    expect(res.json.messages.map((m: { id: number }) => m.id)).toEqual([4, 5]);
    expect(res.json).toMatchObject({ last: 5, gap: false });
  });

  it('keeps the newest N with limit', async () => {
    await seed('r', 5);
    const res = await get('/api/rooms/r/messages?limit=2');
    expect(res.json.messages.map((m: { id: number }) => m.id)).toEqual([4, 5]);
    expect(res.json.last).toBe(5);
  });

  it('reports a gap with missed for a too-old since, and a gap for a stale epoch', async () => {
    await seed('r', 110);
    expect((await get('/api/rooms/r/messages?since=4')).json).toMatchObject({ gap: true, missed: 6 });
    const stale = await get('/api/rooms/r/messages?since=109&epoch=old');
    expect(stale.json.gap).toBe(true);
    expect(stale.json.messages).toHaveLength(100);
  });

  it('reads Unicode room names', async () => {
    await server.history.append('技术交流', { user: 'u', text: '你好' });
    expect((await get('/api/rooms/技术交流/messages')).json.messages[0].text).toBe('你好');
  });

  it.each([
    ['a bad room', '/api/rooms/bad!room/messages'],
    ['a negative since', '/api/rooms/r/messages?since=-1'],
    ['a non-numeric since', '/api/rooms/r/messages?since=abc'],
    ['a malformed epoch', '/api/rooms/r/messages?since=1&epoch=a%20b'],
    ['a limit of 0', '/api/rooms/r/messages?limit=0'],
    ['a limit over HISTORY_LIMIT', '/api/rooms/r/messages?limit=101'],
  ])('answers %s with 400 bad_request', async (_what, path) => {
    const res = await get(path);
    expect(res.status).toBe(400);
    expect(res.json).toEqual({ error: { code: 'bad_request', message: expect.any(String) } });
  });

  it('answers unknown paths with 404 not_found in the same shape', async () => {
    const res = await get('/api/nothing');
    expect(res.status).toBe(404);
    expect(res.json.error.code).toBe('not_found');
  });
});

describe('POST /api/rooms/:room/messages', () => {
  it('stores a message and answers 201 with it', async () => {
    const res = await post('lobby', { user: 'alice', text: '  hello  ' });
    expect(res.status).toBe(201);
    expect(res.json).toEqual({ message: { id: 1, room: 'lobby', user: 'alice', text: 'hello', ts: expect.any(Number) } });
  });

  it('answers a repeated cid with 200 and the first message, stored once', async () => {
    const first = await post('lobby', { user: 'a', text: 'x', cid: 'p1' });
    const again = await post('lobby', { user: 'a', text: 'x', cid: 'p1' });
    expect(first.status).toBe(201);
    expect(again.status).toBe(200);
    expect(again.json).toEqual(first.json);
    expect(await redis.client().llen(historyKey('lobby'))).toBe(1);
  });

  it('names a guest when the user is missing', async () => {
    expect((await post('lobby', { text: 'x' })).json.message.user).toMatch(/^guest-/);
  });

  it.each([
    ['a body that is not JSON', 'not json', 400, 'bad_request'],
    ['a JSON array', [1, 2], 400, 'bad_request'],
    ['an unknown field', { text: 'x', admin: true }, 400, 'bad_request'],
    ['a __proto__ key', '{"text":"x","__proto__":{"admin":true}}', 400, 'bad_request'],
    ['a non-string text', { text: 5 }, 400, 'bad_request'],
    ['empty text', { text: ' ' }, 400, 'bad_request'],
    ['a user with control characters', { user: 'a\u0007', text: 'x' }, 400, 'bad_request'],
    ['text over MAX_MESSAGE_LENGTH', { text: 'x'.repeat(2001) }, 413, 'too_long'],
    ['a body over MAX_FRAME_BYTES', { text: 'x'.repeat(70_000) }, 413, 'too_long'],
  ])('answers %s with its status and code', async (_what, body, status, code) => {
    const res = await post('lobby', body);
    expect(res.status).toBe(status);
    expect(res.json).toEqual({ error: { code, message: expect.any(String) } });
  });

  it('answers a flood from one address with 429 rate_limited', async () => {
    const limited = await startChatServer(redis.url, { RATE_LIMIT: '1' });
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await http(limited.port, 'POST', '/api/rooms/r/messages', { text: `m${i}` })).status);
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(201));
    expect(statuses.slice(10)).toEqual([429, 429]);
    await limited.close();
  });

  it('answers 503 unavailable at once when Redis is down', async () => {
    const own = await startTestRedis();
    const fragile = await startChatServer(own.url);
    await own.kill();
    const res = await http(fragile.port, 'POST', '/api/rooms/r/messages', { text: 'lost?', cid: 'u1' });
    expect(res.status).toBe(503);
    expect(res.json.error.code).toBe('unavailable');
    await fragile.close();
    await own.stop();
  });
});
