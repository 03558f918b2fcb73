import { ChatClient, ChatClientError, type ChatClientOptions } from '../../client';
import { fakeTransports, settle } from './helpers/fake-transport';
import { fakeFetch, type FetchCall } from './helpers/fake-web';

// The room's HTTP requests beside the connection: presence, delete, kick. The connection itself
// runs on a fake transport, so every fetch the test sees is one of these.

const clients: ChatClient[] = [];
afterEach(() => clients.splice(0).forEach((chat) => chat.close()));

async function start(options: Partial<ChatClientOptions> = {}) {
  const web = fakeFetch();
  const chat = new ChatClient({
    url: 'http://chat.test/base',
    room: 'café',
    createTransport: fakeTransports().factory,
    fetch: web.fetch,
    ...options,
  });
  clients.push(chat);
  await settle();
  return { chat, web };
}

/** The next request the client makes, once it has made it. */
async function nextCall(web: { calls: FetchCall[] }, index = 0): Promise<FetchCall> {
  for (let i = 0; i < 50 && web.calls.length <= index; i++) await settle();
  const call = web.calls[index];
  if (!call) throw new Error('the client made no request');
  return call;
}

describe('chat.presence()', () => {
  it('GETs the room’s presence list and resolves with it', async () => {
    const { chat, web } = await start();
    const list = chat.presence();
    const call = await nextCall(web);
    expect(call.url).toBe('http://chat.test/base/api/rooms/caf%C3%A9/presence');
    expect(call.init.method).toBe('GET');
    expect(call.init.headers).toEqual({});
    call.answer(200, {
      room: 'café',
      online: 3,
      users: [
        { name: 'Ann', uid: 'u-ann', connections: 2 },
        { name: 'guest-1a2b', connections: 1 },
        { nonsense: true },
      ],
    });
    await expect(list).resolves.toEqual({
      room: 'café',
      online: 3,
      users: [
        { name: 'Ann', uid: 'u-ann', connections: 2 },
        { name: 'guest-1a2b', connections: 1 },
      ],
    });
  });

  it('carries the token as Authorization: Bearer', async () => {
    const { chat, web } = await start({ token: 'tok-1' });
    void chat.presence().catch(() => undefined);
    expect((await nextCall(web)).init.headers).toEqual({ Authorization: 'Bearer tok-1' });
  });

  it('asks getToken for the token of the moment', async () => {
    let n = 0;
    const { chat, web } = await start({ getToken: async () => `tok-${++n}` });
    void chat.presence().catch(() => undefined);
    const call = await nextCall(web);
    expect(call.init.headers).toEqual({ Authorization: `Bearer tok-${n}` });
  });

  it('rejects with token_unavailable when getToken gives no token, sending nothing (as a connection does)', async () => {
    const { chat } = await start({ getToken: async () => '' });
    await expect(chat.presence()).rejects.toMatchObject({ code: 'token_unavailable' });
  });

  it('rejects with the server’s code and sentence', async () => {
    const { chat, web } = await start();
    const list = chat.presence();
    (await nextCall(web)).answer(403, { error: { code: 'forbidden', message: 'You may not read this room.' } });
    await expect(list).rejects.toEqual(new ChatClientError('forbidden', 'You may not read this room.'));
    await expect(list).rejects.toBeInstanceOf(ChatClientError);
  });

  it('rejects with disconnected when no answer comes', async () => {
    const { chat, web } = await start();
    const list = chat.presence();
    (await nextCall(web)).failNetwork();
    await expect(list).rejects.toMatchObject({ code: 'disconnected' });
  });

  it('rejects with closed when the client is closed meanwhile, and at once after', async () => {
    const { chat, web } = await start();
    const list = chat.presence();
    await nextCall(web);
    chat.close();
    await expect(list).rejects.toMatchObject({ code: 'closed' });
    await expect(chat.presence()).rejects.toMatchObject({ code: 'closed' });
    expect(web.pending()).toEqual([]);
  });
});

describe('chat.deleteMessage(id)', () => {
  it('DELETEs the message as JSON with the token, and resolves with the delete event', async () => {
    const { chat, web } = await start({ token: 'mod-token' });
    const deleted = chat.deleteMessage(7);
    const call = await nextCall(web);
    expect(call.url).toBe('http://chat.test/base/api/rooms/caf%C3%A9/messages/7');
    expect(call.init.method).toBe('DELETE');
    expect(call.init.headers).toEqual({ Authorization: 'Bearer mod-token', 'Content-Type': 'application/json' });
    const event = { id: 9, room: 'café', user: 'Mo', uid: 'u-mo', kind: 'delete', target: 7, ts: 1 };
    call.answer(200, { event });
    await expect(deleted).resolves.toEqual(event);
  });

  it('says JSON without a token too (the server’s cross-site rule for cookies)', async () => {
    const { chat, web } = await start();
    void chat.deleteMessage(1).catch(() => undefined);
    expect((await nextCall(web)).init.headers).toEqual({ 'Content-Type': 'application/json' });
  });

  it.each([
    [403, 'forbidden', 'Only moderators may delete messages.'],
    [404, 'not_found', 'No message 7 in this room’s history.'],
  ])('rejects an HTTP %i with a ChatClientError carrying %s', async (status, code, message) => {
    const { chat, web } = await start();
    const deleted = chat.deleteMessage(7);
    (await nextCall(web)).answer(status, { error: { code, message } });
    await expect(deleted).rejects.toMatchObject({ name: 'ChatClientError', code, message });
  });

  it('rejects an answer it cannot read', async () => {
    const { chat, web } = await start();
    const deleted = chat.deleteMessage(7);
    (await nextCall(web)).answer(200, { event: { id: 9, text: 'not a delete event' } });
    await expect(deleted).rejects.toMatchObject({ code: 'internal' });
  });

  it.each([0, -1, 1.5, Number.NaN])('throws a TypeError for the id %p without asking the server', async (id) => {
    const { chat, web } = await start();
    await expect(chat.deleteMessage(id)).rejects.toThrow(TypeError);
    expect(web.calls).toHaveLength(0);
  });
});

describe('chat.kick(who, seconds?)', () => {
  it('POSTs {"uid"} as JSON with the token and resolves with the room and the ban’s end', async () => {
    const { chat, web } = await start({ token: 'mod-token' });
    const kicked = chat.kick({ uid: 'u-7' }, 600);
    const call = await nextCall(web);
    expect(call.url).toBe('http://chat.test/base/api/rooms/caf%C3%A9/kick');
    expect(call.init.method).toBe('POST');
    expect(call.init.headers).toEqual({ Authorization: 'Bearer mod-token', 'Content-Type': 'application/json' });
    expect(JSON.parse(call.init.body!)).toEqual({ uid: 'u-7', seconds: 600 });
    call.answer(200, { room: 'café', bannedUntil: 1_800_000_000_000 });
    await expect(kicked).resolves.toEqual({ room: 'café', bannedUntil: 1_800_000_000_000 });
  });

  it('POSTs {"user"} for an anonymous visitor, with no ban unless asked', async () => {
    const { chat, web } = await start();
    const kicked = chat.kick({ user: 'guest-1a2b' });
    const call = await nextCall(web);
    expect(JSON.parse(call.init.body!)).toEqual({ user: 'guest-1a2b' });
    call.answer(200, { room: 'café', bannedUntil: null });
    await expect(kicked).resolves.toEqual({ room: 'café', bannedUntil: null });
  });

  it('rejects a refusal with its code', async () => {
    const { chat, web } = await start();
    const kicked = chat.kick({ uid: 'u-7' });
    (await nextCall(web)).answer(403, { error: { code: 'forbidden', message: 'Only moderators may kick.' } });
    await expect(kicked).rejects.toMatchObject({ code: 'forbidden', message: 'Only moderators may kick.' });
  });

  it('names the code after the status when the error body is not JSON', async () => {
    const { chat, web } = await start();
    const kicked = chat.kick({ uid: 'u-7' });
    (await nextCall(web)).answer(401, 'Unauthorized');
    await expect(kicked).rejects.toMatchObject({ code: 'unauthorized' });
  });

  it.each<[string, unknown, number | undefined]>([
    ['neither uid nor user', {}, undefined],
    ['both uid and user', { uid: 'u', user: 'n' }, undefined],
    ['an empty uid', { uid: '' }, undefined],
    ['a ban of 0 s', { uid: 'u' }, 0],
    ['a ban over a year', { uid: 'u' }, 31_536_001],
    ['a ban of 1.5 s', { uid: 'u' }, 1.5],
  ])('throws a TypeError for %s without asking the server', async (_what, who, seconds) => {
    const { chat, web } = await start();
    await expect(chat.kick(who as { uid: string }, seconds)).rejects.toThrow(TypeError);
    expect(web.calls).toHaveLength(0);
  });
});

describe('chat.newCid()', () => {
  it('makes a cid of this client’s own: isOwn knows the message sent under it', async () => {
    const { chat } = await start();
    const cid = chat.newCid();
    expect(cid).not.toBe(chat.newCid());
    void chat.send('hi', { cid }).catch(() => undefined);
    expect(chat.pending).toEqual([{ cid, text: 'hi' }]);
    expect(chat.isOwn({ id: 1, room: 'café', user: 'anyone', text: 'hi', ts: 1, cid })).toBe(true);
  });

  it('makes unguessable cids (128 random bits), and owns no cid it did not make, however alike', async () => {
    const { chat } = await start();
    const cids = Array.from({ length: 50 }, () => chat.newCid());
    for (const cid of cids) expect(cid).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(new Set(cids).size).toBe(50);
    const forged = `${cids[0]!.slice(0, 21)}${cids[0]!.endsWith('A') ? 'B' : 'A'}`;
    expect(chat.isOwn({ id: 9, room: 'café', user: 'mallory', text: 'x', ts: 1, cid: forged })).toBe(false);
  });
});
