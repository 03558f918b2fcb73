import { ChatClient, type FetchLike } from '../../client';
import { TransportChooser } from '../../client/fallback';
import { fakeTransports, settle } from './helpers/fake-transport';
import { FakeEventSource, FakeWebSocket } from './helpers/fake-web';

describe('TransportChooser#moveOn()', () => {
  it('goes down the list, skipping none, and starts over after the last', () => {
    const chooser = new TransportChooser(['ws', 'sse', 'longpoll', 'poll']);
    const seen = [chooser.current];
    for (let i = 0; i < 4; i++) {
      chooser.moveOn();
      seen.push(chooser.current);
    }
    expect(seen).toEqual(['ws', 'sse', 'longpoll', 'poll', 'ws']);
  });

  it('stays on a transport that has opened before', () => {
    const chooser = new TransportChooser(['ws', 'sse']);
    chooser.opened();
    expect(chooser.moveOn()).toBe(false);
    expect(chooser.current).toBe('ws');
  });
});

describe('new ChatClient({ transports })', () => {
  beforeEach(() => jest.useFakeTimers({ doNotFake: ['queueMicrotask', 'nextTick'] }));
  afterEach(() => jest.useRealTimers());

  /** A fetch for the probe: the room answers over HTTP (`status`), or nothing answers. */
  const probe = (status: number | 'down'): FetchLike & jest.Mock =>
    jest.fn((url: string) => {
      if (status === 'down') return Promise.reject(new TypeError('fetch failed'));
      expect(url).toBe('http://chat.test/api/rooms/lobby/messages?limit=1');
      const body = status === 200 ? { room: 'lobby', epoch: 'E', messages: [], last: 0, gap: false } : { error: { code: 'unauthorized', message: 'no' } };
      return Promise.resolve({ status, ok: status === 200, text: async () => JSON.stringify(body) });
    });

  /** Lets the current attempt fail before opening, and the client wait for its next one. */
  async function failAttempt(transports: ReturnType<typeof fakeTransports>): Promise<void> {
    transports.last.drop({ opened: false });
    await settle();
    await jest.advanceTimersByTimeAsync(16_000);
    await settle();
  }

  it('moves on, in the order given, when a transport cannot connect while the server answers HTTP', async () => {
    const transports = fakeTransports();
    const chat = new ChatClient({ url: 'http://chat.test', room: 'lobby', createTransport: transports.factory, fetch: probe(200) });
    await settle();
    for (let i = 0; i < 6; i++) await failAttempt(transports);
    expect(transports.made.map((t) => t.name)).toEqual(['ws', 'ws', 'sse', 'sse', 'longpoll', 'longpoll', 'poll']);
    expect(chat.transport).toBe('poll');
    transports.last.open();
    expect(chat.state).toBe('open');
    chat.close();
  });

  it('follows a custom order', async () => {
    const transports = fakeTransports();
    const chat = new ChatClient({ url: 'http://chat.test', room: 'lobby', transports: ['longpoll', 'ws'], createTransport: transports.factory, fetch: probe(200) });
    await settle();
    for (let i = 0; i < 2; i++) await failAttempt(transports);
    expect(transports.made.map((t) => t.name)).toEqual(['longpoll', 'longpoll', 'ws']);
    chat.close();
  });

  it('stays on a transport while the server does not answer at all: it is down, not blocked', async () => {
    const transports = fakeTransports();
    const fetch = probe('down');
    const chat = new ChatClient({ url: 'http://chat.test', room: 'lobby', createTransport: transports.factory, fetch });
    await settle();
    for (let i = 0; i < 5; i++) await failAttempt(transports);
    expect(transports.made.map((t) => t.name)).toEqual(['ws', 'ws', 'ws', 'ws', 'ws', 'ws']);
    expect(fetch).toHaveBeenCalled();
    chat.close();
  });

  it('never leaves a transport that has worked once', async () => {
    const transports = fakeTransports();
    const chat = new ChatClient({ url: 'http://chat.test', room: 'lobby', createTransport: transports.factory, fetch: probe(200) });
    await settle();
    transports.last.open();
    transports.last.drop({ opened: true });
    await jest.advanceTimersByTimeAsync(1000);
    await settle();
    for (let i = 0; i < 4; i++) await failAttempt(transports);
    expect(new Set(transports.made.map((t) => t.name))).toEqual(new Set(['ws']));
    chat.close();
  });

  it('skips what cannot run here (Node 20 has no WebSocket) and fails at the door when nothing can', () => {
    const sse = new ChatClient({ url: 'http://chat.test', room: 'lobby', EventSource: FakeEventSource, fetch: probe('down') });
    expect(sse.transport).toBe('sse');
    sse.close();
    const polls = new ChatClient({ url: 'http://chat.test', room: 'lobby', fetch: probe('down') });
    expect(polls.transport).toBe('longpoll');
    polls.close();
    expect(() => new ChatClient({ url: 'http://chat.test', room: 'lobby', transports: ['ws'] })).toThrow(
      /None of the transports ws can run here: pass WebSocket/,
    );
    const ws = new ChatClient({ url: 'http://chat.test', room: 'lobby', transports: ['ws'], WebSocket: FakeWebSocket });
    expect(ws.transport).toBe('ws');
    ws.close();
  });
});
