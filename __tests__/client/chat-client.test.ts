import { ChatClient, ChatClientError, type ChatClientOptions, type FetchInit } from '../../client';
import { fakeTransports, msg, settle } from './helpers/fake-transport';
import { fakeFetch, FakeWebSocket } from './helpers/fake-web';
import { record } from './helpers/record';

beforeEach(() => {
  jest.useFakeTimers({ doNotFake: ['queueMicrotask', 'nextTick'] });
  FakeWebSocket.made = [];
});
afterEach(() => jest.useRealTimers());

const down = () => Promise.reject(new TypeError('fetch failed'));

async function start(options: Partial<ChatClientOptions> = {}, carriesName?: (name: string) => boolean) {
  const transports = fakeTransports(carriesName);
  const chat = new ChatClient({ url: 'http://chat.test', room: 'lobby', name: 'alice', createTransport: transports.factory, fetch: down, ...options });
  const seen = record(chat);
  await settle();
  return { chat, transports, seen };
}

describe('new ChatClient(options)', () => {
  it.each<[string, Partial<ChatClientOptions>, RegExp]>([
    ['a bad room', { room: 'no spaces' }, /room must be 1 to 64 letters/],
    ['token and getToken', { token: 't', getToken: async () => 't' }, /either token or getToken/],
    ['an unknown transport', { transports: ['carrier-pigeon' as 'ws'] }, /Unknown transport "carrier-pigeon"/],
    ['no transports', { transports: [] }, /at least one of ws, sse, longpoll, poll/],
    ['a url that is not one', { url: 'not a url' }, /is not a valid URL/],
    ['an ftp url', { url: 'ftp://chat.test' }, /must start with http:/],
    ['a name with a zero-width space', { name: 'ali\u200Bce' }, /zero-width/],
    ['a long poll over 60 s', { longPollTimeoutSec: 90 }, /longPollTimeoutSec must be an integer from 1 to 60/],
  ])('throws a TypeError that says what is wrong with %s', (_what, bad, message) => {
    const options = { url: 'http://chat.test', room: 'lobby', fetch: down, ...bad } as ChatClientOptions;
    expect(() => new ChatClient(options)).toThrow(TypeError);
    expect(() => new ChatClient(options)).toThrow(message);
  });

  it('accepts rooms in any script, normalized to NFC', () => {
    const chat = new ChatClient({ url: 'http://chat.test', room: 'cafe\u0301', fetch: down });
    expect(chat.room).toBe('café');
    chat.close();
    new ChatClient({ url: 'http://chat.test', room: 'हिन्दी', fetch: down }).close();
  });

  it('starts connecting on the next microtask, so listeners attached right after miss nothing', async () => {
    const transports = fakeTransports();
    const chat = new ChatClient({ url: 'http://chat.test', room: 'lobby', createTransport: transports.factory, fetch: down });
    expect(transports.made).toHaveLength(0);
    const seen = record(chat);
    await settle();
    transports.last.open({ messages: [msg(1)] });
    expect(seen.states).toEqual(['connecting', 'open']);
    expect(seen.ids()).toEqual([1]);
    chat.close();
  });

  it('gives up an attempt that brings no history within connectTimeoutMs, and tries again', async () => {
    const { chat, transports } = await start({ connectTimeoutMs: 5000 });
    await jest.advanceTimersByTimeAsync(5000);
    expect(transports.made[0]!.closedByClient).toBe(true);
    await jest.advanceTimersByTimeAsync(1000);
    await settle();
    expect(transports.made).toHaveLength(2);
    chat.close();
  });
});

describe('new ChatClient(options) refused by the server', () => {
  it.each(['unauthorized', 'forbidden', 'banned', 'kicked'])(
    'a connection refused with %s ends in closed, with the error, and is never retried',
    async (code) => {
      const { chat, transports, seen } = await start();
      const sent = chat.send('hi');
      transports.last.serverError(code, `refused: ${code}`);
      transports.last.drop({ opened: false, code });
      expect(chat.state).toBe('closed');
      expect(seen.errors).toEqual([{ code, message: `refused: ${code}` }]);
      await expect(sent).rejects.toMatchObject({ code, message: `refused: ${code}` });
      await jest.advanceTimersByTimeAsync(120_000);
      expect(transports.made).toHaveLength(1);
      expect(jest.getTimerCount()).toBe(0);
    },
  );

  it('over WebSocket: error frame unauthorized and close 4001 end in closed, with no retry', async () => {
    const chat = new ChatClient({ url: 'http://chat.test', room: 'lobby', transports: ['ws'], WebSocket: FakeWebSocket, token: 'bad', fetch: down });
    const seen = record(chat);
    await settle();
    FakeWebSocket.last.accept();
    FakeWebSocket.last.frame({ type: 'error', code: 'unauthorized', message: 'The token has expired.' });
    FakeWebSocket.last.end(4001, 'token expired');
    expect(seen.states).toEqual(['connecting', 'closed']);
    expect(seen.errors).toEqual([{ code: 'unauthorized', message: 'The token has expired.' }]);
    await jest.advanceTimersByTimeAsync(120_000);
    expect(FakeWebSocket.made).toHaveLength(1);
  });

  it('over long polling: HTTP 403 forbidden on join ends in closed, with no retry', async () => {
    const http = fakeFetch();
    const chat = new ChatClient({ url: 'http://chat.test', room: 'lobby', transports: ['longpoll'], fetch: http.fetch, token: 'jwt' });
    const seen = record(chat);
    await settle();
    http.calls[0]!.answer(403, { error: { code: 'forbidden', message: 'Not your room.' } });
    await settle();
    expect(chat.state).toBe('closed');
    expect(seen.errors).toEqual([{ code: 'forbidden', message: 'Not your room.' }]);
    await jest.advanceTimersByTimeAsync(120_000);
    expect(http.calls).toHaveLength(1);
  });

  it('a refusal a browser cannot read from a failed WebSocket is found by the probe (HTTP 401)', async () => {
    const unauthorized = jest.fn(async (_url: string, _init: FetchInit) => ({
      status: 401,
      ok: false,
      text: async () => '{"error":{"code":"unauthorized","message":"token expired"}}',
    }));
    const { chat, transports, seen } = await start({ fetch: unauthorized });
    transports.last.drop({ opened: false });
    await jest.advanceTimersByTimeAsync(1000);
    await settle();
    transports.last.drop({ opened: false });
    await settle();
    expect(chat.state).toBe('closed');
    expect(seen.errors).toEqual([{ code: 'unauthorized', message: 'token expired' }]);
    expect(unauthorized.mock.calls[0]![1]).toMatchObject({ headers: {} });
  });

  it('a token that expires while connected is renewed once through getToken, not retried forever', async () => {
    let issued = 0;
    const { chat, transports } = await start({ getToken: async () => `token-${++issued}` });
    expect(transports.last.context.token).toBe('token-1');
    transports.last.open();
    transports.last.drop({ opened: true, code: 'unauthorized' });
    expect(chat.state).toBe('reconnecting');
    await jest.advanceTimersByTimeAsync(1000);
    await settle();
    expect(transports.last.context.token).toBe('token-2');
    transports.last.drop({ opened: false, code: 'unauthorized' });
    expect(chat.state).toBe('closed');
  });

  it('a send refused with forbidden (a read-only room) rejects that send only', async () => {
    const { chat, transports } = await start();
    transports.last.open();
    const sent = chat.send('may I?');
    transports.last.sends[0]!.reject(new ChatClientError('forbidden', 'read only', transports.last.sends[0]!.draft.cid));
    await expect(sent).rejects.toMatchObject({ code: 'forbidden' });
    expect(chat.state).toBe('open');
    chat.close();
  });

  it('a send refused with banned ends the client', async () => {
    const { chat, transports } = await start();
    transports.last.open();
    const sent = chat.send('again');
    transports.last.sends[0]!.reject(new ChatClientError('banned', 'banned for an hour', transports.last.sends[0]!.draft.cid));
    await expect(sent).rejects.toMatchObject({ code: 'banned' });
    expect(chat.state).toBe('closed');
  });
});

describe('new ChatClient({ getToken })', () => {
  it('is asked again before every connection', async () => {
    let asked = 0;
    const getToken = jest.fn(async (): Promise<string> => `t${++asked}`);
    const { chat, transports } = await start({ getToken });
    transports.last.open();
    transports.last.drop({ opened: true });
    await jest.advanceTimersByTimeAsync(1000);
    await settle();
    expect(getToken).toHaveBeenCalledTimes(2);
    expect(transports.made.map((t) => t.context.token)).toEqual(['t1', 't2']);
    chat.close();
  });

  it('reports token_unavailable when it fails, and tries again later', async () => {
    let fail = true;
    const { chat, transports, seen } = await start({ getToken: async () => (fail ? Promise.reject(new Error('backend down')) : 'ok') });
    expect(transports.made).toHaveLength(0);
    expect(seen.errors).toEqual([{ code: 'token_unavailable', message: 'getToken() failed: backend down' }]);
    fail = false;
    await jest.advanceTimersByTimeAsync(1000);
    await settle();
    expect(transports.last.context.token).toBe('ok');
    chat.close();
  });
});

describe('chat.close()', () => {
  it('leaves no timer behind while waiting to reconnect', async () => {
    const { chat, transports } = await start();
    transports.last.open();
    transports.last.drop({ opened: true });
    expect(jest.getTimerCount()).toBeGreaterThan(0);
    chat.close();
    expect(jest.getTimerCount()).toBe(0);
    expect(chat.state).toBe('closed');
  });

  it('leaves no timer, socket or request behind while connected, and closes the transport', async () => {
    const http = fakeFetch();
    const chat = new ChatClient({ url: 'http://chat.test', room: 'lobby', transports: ['poll'], fetch: http.fetch, pollIntervalMs: 500 });
    await settle();
    http.calls[0]!.answer(200, { room: 'lobby', epoch: 'E', messages: [], last: 0, gap: false });
    await settle();
    expect(chat.state).toBe('open');
    void chat.send('a').catch(() => undefined);
    await settle();
    expect(http.pending()).toHaveLength(1);
    expect(jest.getTimerCount()).toBeGreaterThan(0);
    chat.close();
    await settle();
    expect(http.pending()).toHaveLength(0);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('closes an open WebSocket with 1000 and keeps nothing running', async () => {
    const chat = new ChatClient({ url: 'http://chat.test', room: 'lobby', transports: ['ws'], WebSocket: FakeWebSocket, fetch: down });
    await settle();
    FakeWebSocket.last.accept();
    FakeWebSocket.last.frame({ type: 'history', room: 'lobby', epoch: 'E', messages: [], gap: false });
    chat.close();
    expect(FakeWebSocket.last.closedWith).toBe(1000);
    expect(jest.getTimerCount()).toBe(0);
  });
});

describe('chat.setName(name)', () => {
  it('reconnects at once from the cursor on a transport that carries the name (ws, sse)', async () => {
    const { chat, transports, seen } = await start();
    transports.last.open({ messages: [msg(1), msg(2)] });
    chat.setName('bob');
    expect(transports.made[0]!.closedByClient).toBe(true);
    await settle();
    expect(transports.made).toHaveLength(2);
    expect(transports.last.context.name()).toBe('bob');
    expect(transports.last.cursorAtConnect).toEqual({ since: 2, epoch: 'E1' });
    transports.last.open({ messages: [msg(2), msg(3)] });
    expect(seen.ids()).toEqual([1, 2, 3]);
    chat.close();
  });

  it('just uses the new name on transports that send it with each POST (polling)', async () => {
    const { chat, transports } = await start({ transports: ['poll'] }, () => false);
    transports.last.open();
    chat.setName('carol');
    await settle();
    expect(transports.made).toHaveLength(1);
    expect(transports.last.context.name()).toBe('carol');
    chat.close();
  });

  it('throws a TypeError for a name the server would refuse', async () => {
    const { chat } = await start();
    expect(() => chat.setName('x'.repeat(33))).toThrow(/at most 32 characters/);
    chat.close();
  });
});

describe("globalThis.addEventListener('offline' | 'online') in a browser", () => {
  const global = globalThis as unknown as Record<string, unknown>;
  let listeners: Record<string, () => void>;
  beforeEach(() => {
    listeners = {};
    global.navigator = { onLine: true };
    global.addEventListener = (type: string, listener: () => void) => (listeners[type] = listener);
    global.removeEventListener = (type: string) => delete listeners[type];
  });
  afterEach(() => {
    delete global.navigator;
    delete global.addEventListener;
    delete global.removeEventListener;
  });

  it('shows offline, waits for the network, then reconnects within 0–1 s', async () => {
    const { chat, transports, seen } = await start();
    transports.last.open();
    (global.navigator as { onLine: boolean }).onLine = false;
    listeners.offline!();
    expect(transports.last.closedByClient).toBe(true);
    expect(chat.state).toBe('offline');
    await jest.advanceTimersByTimeAsync(60_000);
    expect(transports.made).toHaveLength(1);
    (global.navigator as { onLine: boolean }).onLine = true;
    listeners.online!();
    await jest.advanceTimersByTimeAsync(1000);
    await settle();
    expect(transports.made).toHaveLength(2);
    expect(seen.states).toEqual(['connecting', 'open', 'offline', 'reconnecting']);
    chat.close();
    expect(listeners).toEqual({});
  });
});
