import type { RunningServer } from '../../server/server';
import { withChatServer } from '../helpers/chat-fixture';
import { http, SseReader } from '../helpers/http';
import { roomUrl, startChatServer } from '../helpers/start-server';
import { signToken, TEST_SECRET } from '../helpers/tokens';
import { closeClients, TestClient } from '../helpers/ws-client';

// PROTOCOL.md v2 "The backend API", "Moderation" and "Presence list", on a server whose backend
// signs tokens (ANONYMOUS=write keeps anonymous visitors, who are kicked by name) and has an API key.

const API_KEY = 'k'.repeat(40);
const env = { AUTH_SECRET: TEST_SECRET, ANONYMOUS: 'write', API_KEYS: API_KEY, RATE_LIMIT: '2' };
let server: RunningServer;
let other: RunningServer;
let redisUrl: string;
withChatServer(env, (redis, s) => {
  server = s;
  redisUrl = redis.url;
});
// A second process on the same Redis: kicks and presence must reach across processes.
beforeAll(async () => {
  other = await startChatServer(redisUrl, env);
});
afterEach(closeClients);

const api = { 'x-api-key': API_KEY };
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const mod = () => signToken({ sub: 'u-mod', name: 'Mo', mod: ['*'] });
const member = (sub = 'u-bob', name = 'Bob') => signToken({ sub, name });
let counter = 0;
const newRoom = () => `mod-${++counter}`;
const post = (s: RunningServer, room: string, body: object, headers: Record<string, string> = {}) =>
  http(s.port, 'POST', `/api/rooms/${room}/messages`, body, headers);

describe('the backend API with an API key', () => {
  it('posts as any user, with a uid, outside the rate limit', async () => {
    const room = newRoom();
    for (let i = 0; i < 5; i++) {
      const res = await post(server, room, { user: 'Progress', uid: 'job-1', text: `${i * 25}%` }, api);
      expect(res.status).toBe(201);
      expect(res.json.message).toMatchObject({ user: 'Progress', uid: 'job-1' });
    }
  });

  it('treats Idempotency-Key like a cid: the same key stores once and answers the first message', async () => {
    const room = newRoom();
    const first = await post(server, room, { user: 'Job', text: 'done' }, { ...api, 'idempotency-key': 'run-42' });
    const again = await post(server, room, { user: 'Job', text: 'done' }, { ...api, 'idempotency-key': 'run-42' });
    expect([first.status, again.status]).toEqual([201, 200]);
    expect(again.json.message.id).toBe(first.json.message.id);
  });

  it('takes the key as Authorization: Bearer too', async () => {
    expect((await post(server, newRoom(), { user: 'Job', text: 'hi' }, bearer(API_KEY))).status).toBe(201);
  });

  it('answers a wrong key 401, never as anonymous', async () => {
    for (const headers of [{ 'x-api-key': 'x'.repeat(40) }, bearer('y'.repeat(40))]) {
      const res = await post(server, newRoom(), { user: 'Job', text: 'hi' }, headers);
      expect([res.status, res.json.error.code]).toEqual([401, 'unauthorized']);
    }
  });

  it('requires the user it posts as', async () => {
    const res = await post(server, newRoom(), { text: 'who?' }, api);
    expect([res.status, res.json.error.code]).toEqual([400, 'bad_request']);
  });
});

describe('DELETE /api/rooms/:room/messages/:id', () => {
  it('turns the message into a tombstone and stores a numbered delete event; deleting again makes no second', async () => {
    const room = newRoom();
    await post(server, room, { text: 'oops' });
    await post(server, room, { text: 'fine' });
    const res = await http(server.port, 'DELETE', `/api/rooms/${room}/messages/1`, undefined, api);
    expect(res.status).toBe(200);
    expect(res.json.event).toEqual({ id: 3, room, user: 'system', kind: 'delete', target: 1, ts: expect.any(Number) });
    const history = (await http(server.port, 'GET', `/api/rooms/${room}/messages`)).json.messages;
    expect(history[0]).toEqual({ id: 1, room, user: expect.any(String), deleted: true, ts: expect.any(Number) });
    expect(history[0]).not.toHaveProperty('text');
    const again = await http(server.port, 'DELETE', `/api/rooms/${room}/messages/1`, undefined, api);
    expect([again.status, again.json.event]).toEqual([200, res.json.event]);
    expect((await http(server.port, 'GET', `/api/rooms/${room}/messages`)).json.last).toBe(3);
  });

  it('names the moderator with a token as the deleter, with their uid', async () => {
    const room = newRoom();
    await post(server, room, { text: 'spam' });
    const res = await http(server.port, 'DELETE', `/api/rooms/${room}/messages/1`, undefined, bearer(mod()));
    expect(res.json.event).toMatchObject({ user: 'Mo', uid: 'u-mod', kind: 'delete', target: 1 });
  });

  it('answers 404 for an id not retained, 400 for one that is not an id, 403 without the right', async () => {
    const room = newRoom();
    await post(server, room, { text: 'x' });
    const del = (id: string, headers: Record<string, string>) => http(server.port, 'DELETE', `/api/rooms/${room}/messages/${id}`, undefined, headers);
    expect((await del('99', api)).json.error.code).toBe('not_found');
    expect((await del('0', api)).status).toBe(400);
    expect((await del('abc', api)).status).toBe(400);
    expect([(await del('1', bearer(member()))).status, (await del('1', {})).status]).toEqual([403, 403]);
  });
});

describe('a delete on every transport', () => {
  it('reaches members live and members that catch up from their cursor after a disconnect', async () => {
    const room = newRoom();
    await post(server, room, { text: 'regret' });
    const ws = await TestClient.join(roomUrl(other, room));
    const sse = new SseReader(other.port, `/api/rooms/${room}/events`);
    await sse.waitFor(() => sse.ofType('ready').length === 1);
    const held = http(other.port, 'GET', `/api/rooms/${room}/poll?since=1&timeout=10`);
    await new Promise((r) => setTimeout(r, 200));
    const { json } = await http(server.port, 'DELETE', `/api/rooms/${room}/messages/1`, undefined, api);
    const event = json.event;
    expect(await ws.waitFor((f) => f.type === 'message' && f.kind === 'delete')).toMatchObject({ id: event.id, target: 1 });
    await sse.waitFor(() => sse.messageIds().includes(event.id));
    expect((await held).json.messages).toEqual([event]);
    sse.close();
    // Away during the delete: the cursor brings the event.
    const back = await TestClient.join(roomUrl(server, room, { since: 1, epoch: ws.frames[0]!.epoch as string }));
    expect(back.frames[0]!.messages).toEqual([event]);
    const poll = await http(server.port, 'GET', `/api/rooms/${room}/messages?since=1`);
    expect(poll.json.messages).toEqual([event]);
  });
});

describe('a moderator’s WebSocket commands', () => {
  it('deletes with {"type":"delete","id"} and kicks with {"type":"kick"}', async () => {
    const room = newRoom();
    const moderator = await TestClient.join(roomUrl(server, room), { headers: bearer(mod()) });
    const bob = await TestClient.join(roomUrl(other, room), { headers: bearer(member()) });
    bob.send({ type: 'message', text: 'buy now', cid: 'b1' });
    await moderator.waitFor((f) => f.type === 'message' && f.text === 'buy now');
    moderator.send({ type: 'delete', id: 1 });
    expect(await bob.waitFor((f) => f.kind === 'delete')).toMatchObject({ target: 1, user: 'Mo', uid: 'u-mod' });
    moderator.send({ type: 'kick', uid: 'u-bob' });
    expect((await bob.closed).code).toBe(4004);
    expect(bob.ofType('error').at(-1)).toMatchObject({ code: 'kicked' });
  });

  it('answers a non-moderator’s command with forbidden and keeps the connection', async () => {
    const room = newRoom();
    const bob = await TestClient.join(roomUrl(server, room), { headers: bearer(member()) });
    bob.send({ type: 'delete', id: 1 });
    bob.send({ type: 'kick', user: 'someone' });
    await bob.waitForCount('error', 2);
    expect(bob.ofType('error').map((f) => f.code)).toEqual(['forbidden', 'forbidden']);
    bob.send({ type: 'message', text: 'still here', cid: 'c1' });
    await bob.waitFor((f) => f.type === 'ack');
  });
});

describe('POST /api/rooms/:room/kick', () => {
  it('ends the user’s connections on every process and transport: 4004, event: kicked, 403 for a held poll', async () => {
    const room = newRoom();
    const ws = await TestClient.join(roomUrl(other, room), { headers: bearer(member()) });
    const sse = new SseReader(other.port, `/api/rooms/${room}/events`, bearer(member()));
    await sse.waitFor(() => sse.ofType('ready').length === 1);
    const held = http(other.port, 'GET', `/api/rooms/${room}/poll?since=0&timeout=10`, undefined, bearer(member()));
    const bystander = await TestClient.join(roomUrl(other, room), { headers: bearer(member('u-ann', 'Ann')) });
    await new Promise((r) => setTimeout(r, 200));
    const res = await http(server.port, 'POST', `/api/rooms/${room}/kick`, { uid: 'u-bob' }, api);
    expect(res.json).toEqual({ room, bannedUntil: null });
    expect((await ws.closed).code).toBe(4004);
    await sse.waitFor(() => sse.ended);
    expect(sse.ofType('kicked')).toHaveLength(1);
    const poll = await held;
    expect([poll.status, poll.json.error.code]).toEqual([403, 'kicked']);
    expect(bystander.socket.readyState).toBe(bystander.socket.OPEN);
    // A kick without a ban: they may come back.
    await TestClient.join(roomUrl(server, room), { headers: bearer(member()) });
  });

  it('kicks an anonymous visitor by name', async () => {
    const room = newRoom();
    const anon = await TestClient.join(roomUrl(other, room, { name: 'troll' }));
    await http(server.port, 'POST', `/api/rooms/${room}/kick`, { user: 'troll' }, bearer(mod()));
    expect((await anon.closed).code).toBe(4004);
  });

  it('bans with seconds: joins and sends are refused with banned on every transport, on every process', async () => {
    const room = newRoom();
    const bob = await TestClient.join(roomUrl(server, room), { headers: bearer(member()) });
    const res = await http(server.port, 'POST', `/api/rooms/${room}/kick`, { uid: 'u-bob', seconds: 600 }, api);
    expect(res.json.bannedUntil).toBeGreaterThan(Date.now() + 590_000);
    expect((await bob.closed).code).toBe(4004);
    for (const s of [server, other]) {
      const again = new TestClient(roomUrl(s, room), { headers: bearer(member()) });
      expect((await again.closed).code).toBe(4003);
      expect(again.ofType('error')[0]).toMatchObject({ code: 'banned' });
      for (const path of ['messages', 'poll?since=0&timeout=1', 'events']) {
        const r = await http(s.port, 'GET', `/api/rooms/${room}/${path}`, undefined, bearer(member()));
        expect([path, r.status, r.json.error.code]).toEqual([path, 403, 'banned']);
      }
      const send = await post(s, room, { text: 'let me in' }, bearer(member()));
      expect([send.status, send.json.error.code]).toEqual([403, 'banned']);
    }
    // Elsewhere and for others, nothing changed.
    expect((await post(server, newRoom(), { text: 'hi' }, bearer(member()))).status).toBe(201);
    expect((await post(server, room, { text: 'hi' }, bearer(member('u-ann', 'Ann')))).status).toBe(201);
  });

  it('refuses malformed orders with 400, out-of-range bans with 400, and non-moderators with 403', async () => {
    const room = newRoom();
    const kick = (body: object, headers: Record<string, string> = api) => http(server.port, 'POST', `/api/rooms/${room}/kick`, body, headers);
    for (const body of [{}, { uid: 'u', user: 'x' }, { uid: 'u', seconds: 0 }, { uid: 'u', seconds: 31_536_001 }, { uid: 'u', why: 'spam' }]) {
      const res = await kick(body);
      expect([JSON.stringify(body), res.status, res.json.error.code]).toEqual([JSON.stringify(body), 400, 'bad_request']);
    }
    expect((await kick({ uid: 'u' }, bearer(member()))).status).toBe(403);
    expect((await kick({ uid: 'u' }, {})).status).toBe(403);
  });

  it('refuses a moderator banned from the room with banned, for kicks and deletes, while the backend goes on', async () => {
    const room = newRoom();
    const stored = await post(server, room, { user: 'Someone', text: 'hi' }, api);
    const otherMod = signToken({ sub: 'u-mod2', name: 'Mo2', mod: ['*'] });
    expect((await http(server.port, 'POST', `/api/rooms/${room}/kick`, { uid: 'u-mod2', seconds: 60 }, bearer(mod()))).status).toBe(200);
    const kicked = await http(server.port, 'POST', `/api/rooms/${room}/kick`, { uid: 'u-bob' }, bearer(otherMod));
    expect([kicked.status, kicked.json.error.code]).toEqual([403, 'banned']);
    const deleted = await http(server.port, 'DELETE', `/api/rooms/${room}/messages/${stored.json.message.id}`, undefined, bearer(otherMod));
    expect([deleted.status, deleted.json.error.code]).toEqual([403, 'banned']);
    expect((await http(server.port, 'DELETE', `/api/rooms/${room}/messages/${stored.json.message.id}`, undefined, api)).status).toBe(200);
    // Elsewhere the banned moderator moderates as before.
    expect((await http(server.port, 'POST', `/api/rooms/${newRoom()}/kick`, { uid: 'u-bob' }, bearer(otherMod))).status).toBe(200);
  });
});

describe('GET /api/rooms/:room/presence', () => {
  it('lists who is online across processes: names, uids and connection counts, anonymous by name', async () => {
    const room = newRoom();
    await TestClient.join(roomUrl(server, room), { headers: bearer(member()) });
    await TestClient.join(roomUrl(other, room), { headers: bearer(member()) });
    await TestClient.join(roomUrl(other, room, { name: 'visitor' }));
    const sse = new SseReader(server.port, `/api/rooms/${room}/events?name=visitor`);
    await sse.waitFor(() => sse.ofType('ready').length === 1);
    await new Promise((r) => setTimeout(r, 100));
    const res = await http(server.port, 'GET', `/api/rooms/${room}/presence`);
    expect(res.json).toEqual({
      room,
      online: 4,
      users: [
        { name: 'Bob', uid: 'u-bob', connections: 2 },
        { name: 'visitor', connections: 2 },
      ],
    });
    sse.close();
  });

  it('is refused to whoever may not read the room', async () => {
    const reader = await startChatServer(redisUrl, { AUTH_SECRET: TEST_SECRET });
    const res = await http(reader.port, 'GET', '/api/rooms/secret/presence', undefined, bearer(signToken({ sub: 'u', rooms: ['other'] })));
    expect([res.status, res.json.error.code]).toEqual([403, 'forbidden']);
  });
});
