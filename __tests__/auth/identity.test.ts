import type { RunningServer } from '../../server/server';
import { withChatServer } from '../helpers/chat-fixture';
import { http, SseReader } from '../helpers/http';
import { roomUrl, startChatServer } from '../helpers/start-server';
import { signToken, TEST_SECRET, unsignedToken } from '../helpers/tokens';
import { closeClients, TestClient } from '../helpers/ws-client';

// PROTOCOL.md v2 "Identity and access", every row of its table on every transport, against a
// server whose backend signs tokens with AUTH_SECRET (ANONYMOUS defaults to none then).

let server: RunningServer;
let redisUrl: string;
withChatServer({ AUTH_SECRET: TEST_SECRET }, (redis, s) => {
  server = s;
  redisUrl = redis.url;
});
afterEach(closeClients);

const alice = () => signToken({ sub: 'u-alice', name: 'Alice', rooms: ['team-*'], read: ['news'] });
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** Every way a client reads or writes a room, each answering with the status it got. */
const transports = {
  async ws(s: RunningServer, room: string, headers: Record<string, string>) {
    const client = new TestClient(roomUrl(s, room), { headers });
    const closed = await client.closed;
    return { code: closed.code, error: client.ofType('error')[0] };
  },
  messages: (s: RunningServer, room: string, headers: Record<string, string>) =>
    http(s.port, 'GET', `/api/rooms/${room}/messages`, undefined, headers),
  poll: (s: RunningServer, room: string, headers: Record<string, string>) =>
    http(s.port, 'GET', `/api/rooms/${room}/poll?since=0&timeout=1`, undefined, headers),
  events: (s: RunningServer, room: string, headers: Record<string, string>) =>
    http(s.port, 'GET', `/api/rooms/${room}/events`, undefined, headers),
  post: (s: RunningServer, room: string, headers: Record<string, string>) =>
    http(s.port, 'POST', `/api/rooms/${room}/messages`, { text: 'hi' }, headers),
};
const httpTransports = ['messages', 'poll', 'events', 'post'] as const;

describe('a token required but missing, invalid, expired or badly signed', () => {
  const cases: Array<[string, () => Record<string, string>]> = [
    ['missing', () => ({})],
    ['not a JWT', () => bearer('garbage')],
    ['expired', () => bearer(signToken({ sub: 'u' }, { expiresIn: -10 }))],
    ['not yet valid', () => bearer(signToken({ sub: 'u' }, { notBefore: 3600 }))],
    ['signed with another key', () => bearer(signToken({ sub: 'u' }, {}, 'another-secret-that-is-long-enough-too!!'))],
    ['alg: none', () => bearer(unsignedToken({ sub: 'u' }))],
    ['with malformed claims', () => bearer(signToken({ sub: '' }))],
  ];

  it.each(cases)('%s: WebSocket gets an unauthorized frame, then close 4001', async (_, headers) => {
    const { code, error } = await transports.ws(server, 'team-a', headers());
    expect(code).toBe(4001);
    expect(error).toMatchObject({ code: 'unauthorized' });
  });

  it.each(cases)('%s: every HTTP transport answers 401 unauthorized', async (_, headers) => {
    for (const name of httpTransports) {
      const res = await transports[name](server, 'team-a', headers());
      expect([name, res.status, res.json?.error?.code]).toEqual([name, 401, 'unauthorized']);
    }
  });
});

describe('a room outside the token’s rooms, read and mod', () => {
  it('WebSocket gets a forbidden frame, then close 4003', async () => {
    const { code, error } = await transports.ws(server, 'elsewhere', bearer(alice()));
    expect(code).toBe(4003);
    expect(error).toMatchObject({ code: 'forbidden' });
  });

  it('every HTTP transport answers 403 forbidden', async () => {
    for (const name of httpTransports) {
      const res = await transports[name](server, 'elsewhere', bearer(alice()));
      expect([name, res.status, res.json?.error?.code]).toEqual([name, 403, 'forbidden']);
    }
  });
});

describe('a room the user may only read', () => {
  it('WebSocket joins with me.write false; a send gets forbidden with its cid and the connection stays', async () => {
    const client = await TestClient.join(roomUrl(server, 'news'), { headers: bearer(alice()) });
    expect(client.frames[0]).toMatchObject({ me: { name: 'Alice', uid: 'u-alice', write: false, mod: false } });
    client.send({ type: 'message', text: 'may I?', cid: 'c1' });
    expect(await client.waitFor((f) => f.type === 'error')).toMatchObject({ code: 'forbidden', cid: 'c1' });
    await server.history.append('news', { user: 'editor', text: 'still reading' });
    await client.waitFor((f) => f.type === 'message' && f.text === 'still reading');
  });

  it('reads over HTTP, and a POST is 403 forbidden', async () => {
    expect((await transports.messages(server, 'news', bearer(alice()))).status).toBe(200);
    const post = await transports.post(server, 'news', bearer(alice()));
    expect([post.status, post.json.error.code]).toEqual([403, 'forbidden']);
  });
});

describe('each way of passing a token', () => {
  const token = () => signToken({ sub: 'u-carrier', name: 'Carrier' });
  const meOf = async (url: string, options: ConstructorParameters<typeof TestClient>[1], protocols?: string[]) => {
    const client = new TestClient(url, options, protocols);
    return (await client.waitFor((f) => f.type === 'history')).me;
  };
  const carrier = { name: 'Carrier', uid: 'u-carrier', write: true, mod: false };

  it('WebSocket: Authorization header, bearer subprotocol beside chat, chat_token cookie, token query', async () => {
    const t = token();
    expect(await meOf(roomUrl(server, 'lobby'), { headers: bearer(t) })).toEqual(carrier);
    expect(await meOf(roomUrl(server, 'lobby'), {}, ['chat', `bearer.${t}`])).toEqual(carrier);
    expect(await meOf(roomUrl(server, 'lobby'), { headers: { cookie: `theme=dark; chat_token=${t}` } })).toEqual(carrier);
    expect(await meOf(roomUrl(server, 'lobby', { token: t }), {})).toEqual(carrier);
  });

  it('selects the chat subprotocol and never echoes the token', async () => {
    const client = new TestClient(roomUrl(server, 'lobby'), {}, ['chat', `bearer.${token()}`]);
    await client.opened();
    expect(client.socket.protocol).toBe('chat');
  });

  it('HTTP: Authorization header, cookie and token query each post as the token’s user, whatever user the body names', async () => {
    const t = token();
    const ways: Array<[string, Record<string, string>]> = [
      ['', bearer(t)],
      ['', { cookie: `chat_token=${t}` }],
      [`?token=${t}`, {}],
    ];
    for (const [query, headers] of ways) {
      const res = await http(server.port, 'POST', `/api/rooms/lobby/messages${query}`, { user: 'admin', text: 'hi' }, headers);
      expect(res.status).toBe(201);
      expect(res.json.message).toMatchObject({ user: 'Carrier', uid: 'u-carrier' });
    }
  });

  it('SSE: the token query, with me on the ready event', async () => {
    const sse = new SseReader(server.port, `/api/rooms/lobby/events?token=${token()}`);
    await sse.waitFor(() => sse.ofType('ready').length === 1);
    expect(JSON.parse(sse.ofType('ready')[0]!.data).me).toEqual(carrier);
    sse.close();
  });
});

describe('messages of users with a token', () => {
  it('carry uid, and the name the WebSocket asked for is ignored', async () => {
    const client = await TestClient.join(roomUrl(server, 'team-x', { name: 'mallory' }), { headers: bearer(alice()) });
    client.send({ type: 'message', text: 'hello', cid: 'c1' });
    const message = await client.waitFor((f) => f.type === 'message');
    expect(message).toMatchObject({ user: 'Alice', uid: 'u-alice', text: 'hello' });
  });

  it('remember a cid per user: the same cid from two users stores two messages', async () => {
    const bob = signToken({ sub: 'u-bob', rooms: ['team-*'] });
    const send = (t: string) => http(server.port, 'POST', '/api/rooms/team-cid/messages', { text: 'same cid', cid: 'shared' }, bearer(t));
    const [a, b] = [await send(alice()), await send(bob)];
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(a.json.message.id).not.toBe(b.json.message.id);
    expect((await send(alice())).json.message.id).toBe(a.json.message.id);
  });
});

describe('a token that expires while connected', () => {
  it('closes the WebSocket with 4001 and ends the SSE stream', async () => {
    const shortLived = signToken({ sub: 'u-brief' }, { expiresIn: 2 });
    const client = await TestClient.join(roomUrl(server, 'lobby'), { headers: bearer(shortLived) });
    const sse = new SseReader(server.port, `/api/rooms/lobby/events?token=${shortLived}`);
    await sse.waitFor(() => sse.ofType('ready').length === 1);
    const closed = await client.closed;
    expect(closed.code).toBe(4001);
    expect(client.ofType('error').at(-1)).toMatchObject({ code: 'unauthorized' });
    await sse.waitFor(() => sse.ended, 3000);
  }, 10_000);

  it('answers a held long poll when the token expires, not at its 60 s timeout, and refuses the next with 401', async () => {
    const shortLived = signToken({ sub: 'u-brief' }, { expiresIn: 2 });
    const started = Date.now();
    const held = await http(server.port, 'GET', '/api/rooms/quiet-expiry/poll?since=0&timeout=60', undefined, bearer(shortLived));
    expect(held.status).toBe(200);
    expect(held.json).toMatchObject({ messages: [] });
    expect(Date.now() - started).toBeLessThan(4000);
    const next = await http(server.port, 'GET', '/api/rooms/quiet-expiry/poll?since=0&timeout=60', undefined, bearer(shortLived));
    expect(next.status).toBe(401);
  }, 10_000);
});

describe('ANONYMOUS=read', () => {
  let readable: RunningServer;
  beforeAll(async () => {
    readable = await startChatServer(redisUrl, { AUTH_SECRET: TEST_SECRET, ANONYMOUS: 'read', RATE_LIMIT: '0' });
  });

  it('lets anyone read but only token holders write', async () => {
    const client = await TestClient.join(roomUrl(readable, 'open', { name: 'visitor' }));
    expect(client.frames[0]).toMatchObject({ me: { name: 'visitor', write: false, mod: false } });
    expect(client.frames[0]!.me).not.toHaveProperty('uid');
    client.send({ type: 'message', text: 'hi', cid: 'a1' });
    expect(await client.waitFor((f) => f.type === 'error')).toMatchObject({ code: 'forbidden', cid: 'a1' });
    expect((await transports.messages(readable, 'open', {})).status).toBe(200);
    expect((await transports.post(readable, 'open', {})).status).toBe(403);
    expect((await transports.post(readable, 'open', bearer(signToken({ sub: 'u' })))).status).toBe(201);
  });
});

describe('a server with no key', () => {
  let keyless: RunningServer;
  beforeAll(async () => {
    keyless = await startChatServer(redisUrl, { RATE_LIMIT: '0' });
  });

  it('refuses a request that offers a token with 401, and serves one without as in v1', async () => {
    const t = signToken({ sub: 'u' });
    const { code } = await transports.ws(keyless, 'lobby', bearer(t));
    expect(code).toBe(4001);
    for (const name of httpTransports) expect([name, (await transports[name](keyless, 'lobby', bearer(t))).status]).toEqual([name, 401]);
    expect((await transports.post(keyless, 'lobby', {})).status).toBe(201);
  });
});

describe('the cross-site rule for POST', () => {
  const post = (s: RunningServer, headers: Record<string, string>) =>
    http(s.port, 'POST', '/api/rooms/lobby/messages', JSON.stringify({ text: 'hi' }), headers);
  let open: RunningServer;
  beforeAll(async () => {
    open = await startChatServer(redisUrl, { RATE_LIMIT: '0' });
  });

  it('refuses what an HTML form on another site can send: a non-JSON body, or a foreign Origin', async () => {
    const cookie = { cookie: `chat_token=${signToken({ sub: 'u' })}` };
    for (const s of [open, server]) {
      const extra = s === server ? cookie : {};
      const form = await post(s, { ...extra, 'content-type': 'application/x-www-form-urlencoded' });
      expect([form.status, form.json.error.code]).toEqual([403, 'forbidden']);
      const foreign = await post(s, { ...extra, origin: 'https://evil.example' });
      expect([foreign.status, foreign.json.error.code]).toEqual([403, 'forbidden']);
      expect((await post(s, { ...extra, origin: `http://127.0.0.1:${s.port}` })).status).toBe(201);
    }
  });

  it('lets requests with Authorization: Bearer through, whatever their content type', async () => {
    const res = await post(server, { ...bearer(signToken({ sub: 'u' })), 'content-type': 'text/plain' });
    expect(res.status).toBe(201);
  });
});

describe('the lobby', () => {
  it('lists only the rooms the visitor may read, and asks for sign-in without a token', async () => {
    await server.history.append('team-secret', { user: 'u', text: 'x' });
    await server.history.append('elsewhere-secret', { user: 'u', text: 'x' });
    const anonymous = await http(server.port, 'GET', '/');
    expect(anonymous.status).toBe(401);
    expect(anonymous.text).not.toContain('secret');
    const member = await http(server.port, 'GET', '/', undefined, { cookie: `chat_token=${alice()}` });
    expect(member.status).toBe(200);
    expect(member.text).toContain('team-secret');
    expect(member.text).not.toContain('elsewhere-secret');
  });
});
