import type { RunningServer } from '../../server/server';
import { historyKey } from '../../server/engine/redis/keys';
import { withChatServer } from '../helpers/chat-fixture';
import { http } from '../helpers/http';
import type { TestRedis } from '../helpers/redis-server';
import { roomUrl, startChatServer } from '../helpers/start-server';
import { closeClients, refusedUpgrade, TestClient, type Frame } from '../helpers/ws-client';

let redis: TestRedis;
let server: RunningServer;
let roomNo = 0;
const newRoom = () => `room-${++roomNo}`;

withChatServer({}, (r, s) => {
  redis = r;
  server = s;
});
afterEach(async () => {
  await closeClients();
  await redis.flush();
});

const join = (room: string, query: Record<string, string | number> = {}, on = server) =>
  TestClient.join(roomUrl(on, room, query));

async function seed(room: string, count: number): Promise<void> {
  for (let i = 1; i <= count; i++) await server.history.append(room, { user: 'seed', text: `m${i}` });
}

describe('ChatSocketHandler: joining', () => {
  it('sends the history frame first, with the epoch and who you are, for an empty room too', async () => {
    const client = await join(newRoom(), { name: 'alice' });
    expect(client.frames[0]).toEqual({
      type: 'history',
      room: expect.any(String),
      // A room that never stored a message has no epoch yet: reads create nothing (v2).
      epoch: '',
      messages: [],
      gap: false,
      me: { name: 'alice', write: true, mod: false },
    });
  });

  it('replays the newest 100 of 150 messages, ids 51..150 oldest first, and LLEN stays 100', async () => {
    const room = newRoom();
    await seed(room, 150);
    const client = await join(room);
    const history = client.frames[0]!;
    expect((history.messages as Frame[]).map((m) => m.id)).toEqual(Array.from({ length: 100 }, (_, i) => 51 + i));
    expect(await redis.client().llen(historyKey(room))).toBe(100);
  });

  it('gives live message frames the room’s epoch, also to a member that joined it empty', async () => {
    const room = newRoom();
    const early = await join(room);
    expect(early.frames[0]!.epoch).toBe('');
    const { epoch } = await server.history.append(room, { user: 'u', text: 'first' });
    expect(await early.waitFor((f) => f.type === 'message')).toMatchObject({ id: 1, epoch });
  });

  it('catches up exactly from since + epoch after a disconnect', async () => {
    const room = newRoom();
    await seed(room, 1);
    const alice = await join(room, { name: 'alice' });
    const epoch = alice.frames[0]!.epoch as string;
    alice.send('one');
    await alice.waitFor((f) => f.type === 'message' && f.id === 2);
    await alice.close();
    const bob = await join(room, { name: 'bob' });
    bob.send('two');
    bob.send('three');
    await bob.waitForCount('message', 2);
    const back = await join(room, { name: 'alice', since: 2, epoch });
    expect(back.frames[0]).toMatchObject({ type: 'history', gap: false, epoch });
    expect((back.frames[0]!.messages as Frame[]).map((m) => m.text)).toEqual(['two', 'three']);
  });

  it('reports a too-old since as a gap with missed', async () => {
    const room = newRoom();
    await seed(room, 130);
    const client = await join(room, { since: 10 });
    expect(client.frames[0]).toMatchObject({ gap: true, missed: 20 });
    expect((client.frames[0]!.messages as Frame[])[0]!.id).toBe(31);
  });

  it('reports a stale epoch as a gap with the whole history', async () => {
    const room = newRoom();
    await seed(room, 3);
    const client = await join(room, { since: 2, epoch: 'old-epoch' });
    expect(client.frames[0]).toMatchObject({ gap: true });
    expect(client.frames[0]).not.toHaveProperty('missed');
    expect((client.frames[0]!.messages as Frame[]).map((m) => m.id)).toEqual([1, 2, 3]);
  });

  it('joins Unicode rooms', async () => {
    const client = await join('技术交流', { name: '小明' });
    client.send('你好');
    const message = await client.waitFor((f) => f.type === 'message');
    expect(message).toMatchObject({ room: '技术交流', user: '小明', text: '你好' });
  });

  it('never repeats or skips a message for a joiner while the room is busy', async () => {
    const room = newRoom();
    const sender = await join(room, { name: 'sender' });
    for (let i = 0; i < 60; i++) sender.send(`m${i}`);
    const joiners = await Promise.all([0, 1, 2].map(() => join(room)));
    await sender.waitForCount('message', 60);
    for (const joiner of joiners) {
      await joiner.waitFor(() => {
        const ids = [...(joiner.frames[0]!.messages as Frame[]).map((m) => m.id as number), ...joiner.messageIds()];
        return ids.length === 60;
      });
      const ids = [...(joiner.frames[0]!.messages as Frame[]).map((m) => m.id as number), ...joiner.messageIds()];
      expect(ids).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    }
  });
});

describe('ChatSocketHandler: sending', () => {
  it('broadcasts to every member of the room and nobody else', async () => {
    const room = newRoom();
    const [a, b, c] = await Promise.all([join(room, { name: 'a' }), join(room, { name: 'b' }), join(room, { name: 'c' })]);
    const outsider = await join(newRoom(), { name: 'x' });
    a.send({ type: 'message', text: 'hello room' });
    for (const member of [a, b, c]) {
      expect(await member.waitFor((f) => f.type === 'message')).toMatchObject({ id: 1, room, user: 'a', text: 'hello room' });
    }
    await new Promise((r) => setTimeout(r, 100));
    expect(outsider.ofType('message')).toEqual([]);
  });

  it('takes a frame that is not a JSON object as the text of a message (wscat)', async () => {
    const client = await join(newRoom());
    client.send('  just text  ');
    client.send('[1,2]');
    const messages = await client.waitForCount('message', 2);
    expect(messages.map((m) => m.text)).toEqual(['just text', '[1,2]']);
  });

  it('does not lose a message sent right after connecting, before the history arrives', async () => {
    const room = newRoom();
    const client = new TestClient(roomUrl(server, room, { name: 'eager' }));
    await client.opened();
    client.send({ type: 'message', text: 'first!', cid: 'e1' });
    await client.waitFor((f) => f.type === 'ack');
    expect(await client.waitFor((f) => f.type === 'message')).toMatchObject({ text: 'first!' });
    expect(client.frames[0]!.type).toBe('history');
  });

  it('stores a repeated cid once and acks both sends with one id', async () => {
    const room = newRoom();
    const client = await join(room);
    client.send({ type: 'message', text: 'once', cid: 'dup-1' });
    client.send({ type: 'message', text: 'once', cid: 'dup-1' });
    const acks = await client.waitForCount('ack', 2);
    expect(acks).toEqual([
      { type: 'ack', cid: 'dup-1', id: 1 },
      { type: 'ack', cid: 'dup-1', id: 1 },
    ]);
    await new Promise((r) => setTimeout(r, 100));
    expect(client.ofType('message')).toHaveLength(1);
    expect(await redis.client().llen(historyKey(room))).toBe(1);
  });

  it('includes the cid in the broadcast message so a sender can match its own', async () => {
    const client = await join(newRoom());
    client.send({ type: 'message', text: 'mine', cid: 'c-77' });
    expect(await client.waitFor((f) => f.type === 'message')).toMatchObject({ cid: 'c-77' });
  });

  it.each([
    ['an unknown type', { type: 'shout', text: 'x', cid: 'k1' }, 'bad_request'],
    ['a wrong field type', { type: 'message', text: 42, cid: 'k2' }, 'bad_request'],
    ['an extra field', { type: 'message', text: 'x', admin: true, cid: 'k3' }, 'bad_request'],
    ['empty text', { type: 'message', text: '   ', cid: 'k4' }, 'bad_request'],
    ['control characters', { type: 'message', text: 'a\u0000b', cid: 'k5' }, 'bad_request'],
    ['text over MAX_MESSAGE_LENGTH', { type: 'message', text: 'x'.repeat(2001), cid: 'k6' }, 'too_long'],
  ])('answers %s with an error frame and keeps the connection open', async (_what, command, code) => {
    const client = await join(newRoom());
    client.send(command);
    const error = await client.waitFor((f) => f.type === 'error');
    expect(error).toEqual({ type: 'error', code, message: expect.any(String), cid: command.cid });
    client.send('still open');
    await client.waitFor((f) => f.type === 'message');
  });

  it('answers a bad cid with bad_request', async () => {
    const client = await join(newRoom());
    client.send({ type: 'message', text: 'x', cid: 'x'.repeat(65) });
    expect(await client.waitFor((f) => f.type === 'error')).toMatchObject({ code: 'bad_request' });
  });
});

describe('ChatSocketHandler: presence', () => {
  it('tells members who joined and left, with the online count', async () => {
    const room = newRoom();
    const alice = await join(room, { name: 'alice' });
    await alice.waitFor((f) => f.type === 'presence' && f.joined === 'alice');
    const bob = await join(room, { name: 'bob' });
    expect(await alice.waitFor((f) => f.type === 'presence' && f.joined === 'bob')).toEqual({
      type: 'presence',
      room,
      online: 2,
      joined: 'bob',
    });
    await bob.close();
    expect(await alice.waitFor((f) => f.type === 'presence' && f.left === 'bob')).toMatchObject({ online: 1 });
  });
});

describe('ChatSocketHandler: close codes', () => {
  it.each([
    ['a bad room', 'bad room!', {}],
    ['a name with control characters', 'lobby', { name: 'a\u0001b' }],
    ['a name over 32 characters', 'lobby', { name: 'x'.repeat(33) }],
    ['a malformed since', 'lobby', { since: 'yesterday' }],
  ])('closes %s with 1008 after an error frame', async (_what, room, query) => {
    const client = new TestClient(roomUrl(server, room, query as Record<string, string>));
    const closed = await client.closed;
    expect(closed.code).toBe(1008);
    expect(client.frames).toEqual([{ type: 'error', code: 'bad_request', message: expect.any(String) }]);
  });

  it('closes a binary frame with 1003', async () => {
    const client = await join(newRoom());
    client.socket.send(Buffer.from('binary'), { binary: true });
    expect((await client.closed).code).toBe(1003);
  });

  it('closes a frame over MAX_FRAME_BYTES with 1009', async () => {
    const client = await join(newRoom());
    client.send('x'.repeat(70_000));
    expect((await client.closed).code).toBe(1009);
  });
});

describe('ChatSocketHandler: limits', () => {
  it('answers a flood with rate_limited while other members are unaffected', async () => {
    const limited = await startChatServer(redis.url, { RATE_LIMIT: '1' });
    const room = newRoom();
    const flooder = await join(room, { name: 'flood' }, limited);
    // From another address: the limit holds per connection and per address.
    const calm = await TestClient.join(roomUrl(limited, room, { name: 'calm' }), { localAddress: '127.0.0.2' });
    for (let i = 0; i < 15; i++) flooder.send({ type: 'message', text: `f${i}`, cid: `f${i}` });
    const errors = await flooder.waitForCount('error', 5);
    expect(errors[0]).toMatchObject({ code: 'rate_limited', cid: 'f10' });
    expect(flooder.ofType('ack')).toHaveLength(10); // a burst of 10 s' worth
    calm.send({ type: 'message', text: 'calm here', cid: 'c1' });
    await calm.waitFor((f) => f.type === 'ack');
    await limited.close();
  });

  it('holds RATE_LIMIT per client address across its connections and transports', async () => {
    const limited = await startChatServer(redis.url, { RATE_LIMIT: '1' });
    const room = newRoom();
    const sockets = await Promise.all([0, 1, 2].map(() => join(room, {}, limited)));
    sockets.forEach((socket, n) => {
      for (let i = 0; i < 5; i++) socket.send({ type: 'message', text: `s${n}-${i}`, cid: `s${n}-${i}` });
    });
    const outcomes = async () => (await Promise.all(sockets.map((s) => s.waitForCount('error', 1).then(() => s)))).length;
    expect(await outcomes()).toBe(3);
    const acks = sockets.reduce((sum, s) => sum + s.ofType('ack').length, 0);
    expect(acks).toBe(10); // one burst of 10 s' worth for the address, not 10 per socket
    const post = await http(limited.port, 'POST', `/api/rooms/${room}/messages`, { text: 'over http' });
    expect([post.status, post.json.error.code]).toEqual([429, 'rate_limited']);
    await limited.close();
  });

  it('closes a reader that fell MAX_BUFFERED_BYTES behind with 1013, and the room goes on', async () => {
    const small = await startChatServer(redis.url, {
      RATE_LIMIT: '0',
      MAX_BUFFERED_BYTES: '65536',
      MAX_MESSAGE_LENGTH: '8000',
    });
    const room = newRoom();
    const stalled = await join(room, {}, small);
    const reader = await join(room, {}, small);
    const tcp = (stalled.socket as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    tcp.pause();
    const text = 'y'.repeat(8000);
    const slowCloses = async () => (await small.metrics.registry.getSingleMetric('chat_slow_consumer_closes_total')!.get()).values[0]?.value ?? 0;
    // The kernel's loopback buffers absorb several MB before the server's own queue grows.
    for (let i = 0; i < 4000 && (await slowCloses()) === 0; i++) {
      await small.history.append(room, { user: 'bulk', text });
      if (i % 200 === 199) await reader.waitFor((f) => f.type === 'message' && f.id === i + 1);
    }
    expect(await slowCloses()).toBe(1);
    tcp.resume();
    expect((await stalled.closed).code).toBe(1013);
    const last = await small.history.append(room, { user: 'after', text: 'still flowing' });
    await reader.waitFor((f) => f.type === 'message' && f.id === last.message.id);
    await small.close();
  }, 60_000);
});

describe('ChatSocketHandler: origins', () => {
  it('lets in only the origins in ALLOWED_ORIGINS, and clients that send no Origin', async () => {
    const guarded = await startChatServer(redis.url, { ALLOWED_ORIGINS: 'https://chat.example,https://m.chat.example' });
    await TestClient.join(roomUrl(guarded, 'o'), { origin: 'https://chat.example' });
    await TestClient.join(roomUrl(guarded, 'o'), { origin: 'https://m.chat.example' });
    await TestClient.join(roomUrl(guarded, 'o'));
    // Refused in the handshake with 403 and the JSON error body, never upgraded (RFC 6455 §4.2.2).
    const hijacker = await refusedUpgrade(roomUrl(guarded, 'o'), { origin: 'https://evil.example' });
    expect(hijacker).toEqual({ status: 403, body: { error: { code: 'forbidden', message: expect.stringContaining('evil.example') } } });
    // Its own origin is no longer implied once origins are listed.
    const own = await refusedUpgrade(roomUrl(guarded, 'o'), { origin: `http://127.0.0.1:${guarded.port}` });
    expect(own.status).toBe(403);
    await closeClients();
    await guarded.close();
  });
});

describe('ChatSocketHandler: shutdown', () => {
  it('lets stores in flight finish before Redis is quit, so nothing acknowledged is lost', async () => {
    const doomed = await startChatServer(redis.url);
    const room = newRoom();
    const sender = await join(room, { name: 'last-words' }, doomed);
    for (let i = 0; i < 50; i++) sender.send({ type: 'message', text: `w${i}`, cid: `w${i}` });
    await sender.waitFor((f) => f.type === 'ack');
    await doomed.close();
    expect((await sender.closed).code).toBe(1001);
    const stored = (await redis.client().lrange(historyKey(room), 0, -1)).map((j) => JSON.parse(j).cid as string);
    const acked = sender.ofType('ack').map((f) => f.cid as string);
    expect(acked.length).toBeGreaterThan(0);
    for (const cid of acked) expect(stored).toContain(cid);
    // The one being stored when the server stopped was stored, not cut off with unavailable.
    expect(sender.ofType('error')).toEqual([]);
  });

  it('closes members with 1001 when the server stops', async () => {
    const doomed = await startChatServer(redis.url);
    const client = await join(newRoom(), {}, doomed);
    await doomed.close();
    expect((await client.closed).code).toBe(1001);
  });
});
