import { ChatClient } from '../../client';
import { Backoff } from '../../client/backoff';
import { fakeTransports, settle } from './helpers/fake-transport';
import { FakeWebSocket } from './helpers/fake-web';

describe('Backoff#next()', () => {
  it('draws the first delay from [0, base): full jitter', () => {
    expect(new Backoff({ baseMs: 1000, maxMs: 15000, random: () => 0 }).next()).toBe(0);
    expect(new Backoff({ baseMs: 1000, maxMs: 15000, random: () => 0.9999 }).next()).toBe(999);
  });

  it('doubles the ceiling with each attempt up to the cap', () => {
    const backoff = new Backoff({ baseMs: 1000, maxMs: 15000, random: () => 0.9999 });
    const delays = Array.from({ length: 7 }, () => backoff.next());
    expect(delays).toEqual([999, 1999, 3999, 7999, 14998, 14998, 14998]);
  });

  it('spreads real clients over the whole window', () => {
    const delays = Array.from({ length: 200 }, () => new Backoff({ baseMs: 1000, maxMs: 15000 }).next());
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...delays)).toBeLessThan(1000);
    expect(new Set(delays).size).toBeGreaterThan(100);
  });

  it('starts over from the first ceiling after reset()', () => {
    const backoff = new Backoff({ baseMs: 1000, maxMs: 15000, random: () => 0.5 });
    backoff.next();
    backoff.next();
    backoff.reset();
    expect(backoff.next()).toBe(500);
  });
});

describe('new ChatClient(options): reconnecting after a close it did not ask for', () => {
  beforeEach(() => {
    jest.useFakeTimers({ doNotFake: ['queueMicrotask', 'nextTick'] });
    FakeWebSocket.made = [];
  });
  afterEach(() => {
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  const neverAnswers = () => Promise.reject(new Error('down'));

  it('waits a random delay within 0–1 s before the first attempt after a server shutdown (1001)', async () => {
    jest.spyOn(Math, 'random').mockReturnValue(0.9999);
    const chat = new ChatClient({ url: 'http://chat.test', room: 'lobby', transports: ['ws'], WebSocket: FakeWebSocket, fetch: neverAnswers });
    await settle();
    FakeWebSocket.last.accept();
    FakeWebSocket.last.frame({ type: 'history', room: 'lobby', epoch: 'E1', messages: [], gap: false });
    expect(chat.state).toBe('open');
    FakeWebSocket.last.end(1001, 'server shutting down');
    expect(chat.state).toBe('reconnecting');
    await jest.advanceTimersByTimeAsync(998);
    expect(FakeWebSocket.made).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(1);
    await settle();
    expect(FakeWebSocket.made).toHaveLength(2);
    expect(FakeWebSocket.last.url).toBe('ws://chat.test/ws/lobby?since=0&epoch=E1');
    chat.close();
  });

  it('may come back at once: the delay starts at 0', async () => {
    jest.spyOn(Math, 'random').mockReturnValue(0);
    const transports = fakeTransports();
    const chat = new ChatClient({ url: 'http://chat.test', room: 'lobby', createTransport: transports.factory, fetch: neverAnswers });
    await settle();
    transports.last.open();
    transports.last.drop({ opened: true });
    await jest.advanceTimersByTimeAsync(0);
    await settle();
    expect(transports.made).toHaveLength(2);
    chat.close();
  });

  it('grows the ceiling exponentially while attempts fail, up to 15 s', async () => {
    jest.spyOn(Math, 'random').mockReturnValue(0.9999);
    const transports = fakeTransports();
    const chat = new ChatClient({ url: 'http://chat.test', room: 'lobby', createTransport: transports.factory, fetch: neverAnswers });
    await settle();
    transports.last.open();
    transports.last.drop({ opened: true });
    for (const delay of [999, 1999, 3999, 7999, 14998, 14998]) {
      const before = transports.made.length;
      await settle();
      await jest.advanceTimersByTimeAsync(delay - 1);
      await settle();
      expect(transports.made).toHaveLength(before);
      await jest.advanceTimersByTimeAsync(1);
      await settle();
      expect(transports.made).toHaveLength(before + 1);
      transports.last.drop({ opened: false });
    }
    chat.close();
  });

  it('starts again from 0–1 s once a connection has opened', async () => {
    jest.spyOn(Math, 'random').mockReturnValue(0.9999);
    const transports = fakeTransports();
    const chat = new ChatClient({ url: 'http://chat.test', room: 'lobby', createTransport: transports.factory, fetch: neverAnswers });
    await settle();
    transports.last.drop({ opened: false });
    await jest.advanceTimersByTimeAsync(999);
    await settle();
    transports.last.drop({ opened: false });
    await jest.advanceTimersByTimeAsync(1999);
    await settle();
    expect(transports.made).toHaveLength(3);
    transports.last.open();
    transports.last.drop({ opened: true });
    await jest.advanceTimersByTimeAsync(999);
    await settle();
    expect(transports.made).toHaveLength(4);
    chat.close();
  });

  it('reconnects from its cursor on every transport the same way (state goes reconnecting, then open)', async () => {
    const transports = fakeTransports();
    const chat = new ChatClient({ url: 'http://chat.test', room: 'lobby', createTransport: transports.factory, fetch: neverAnswers });
    const states: string[] = [];
    chat.on('state', (s) => states.push(s));
    await settle();
    transports.last.open();
    transports.last.drop({ opened: true });
    await jest.advanceTimersByTimeAsync(1000);
    await settle();
    transports.last.open();
    expect(states).toEqual(['connecting', 'open', 'reconnecting', 'open']);
    chat.close();
  });
});
