import { LongPollTransport } from '../../../client/transports/long-poll';
import { ShortPollTransport } from '../../../client/transports/short-poll';
import type { CloseInfo, TransportEvents } from '../../../client/transports/transport';
import { fakeFetch, testContext } from '../helpers/fake-web';
import { settle } from '../helpers/fake-transport';

function recorder() {
  const seen = { histories: 0, messages: [] as number[], errors: [] as string[], closes: [] as CloseInfo[] };
  const events: TransportEvents = {
    history: () => void seen.histories++,
    message: (m) => void seen.messages.push(m.id),
    presence: () => undefined,
    error: (e) => void seen.errors.push(e.code),
    close: (info) => void seen.closes.push(info),
  };
  return { seen, events };
}

/** The client's cursor: the transport reads it before each request. */
function liveCursor() {
  const state: { since?: number; epoch?: string } = {};
  return { state, reader: { query: () => ({ ...state }) } };
}

const answer = (ids: number[], extra: object = {}) => ({
  room: 'lobby',
  epoch: 'E1',
  messages: ids.map((id) => ({ id, room: 'lobby', user: 'a', text: `m${id}`, ts: id })),
  last: ids.at(-1) ?? 0,
  gap: false,
  ...extra,
});

beforeEach(() => jest.useFakeTimers({ doNotFake: ['queueMicrotask', 'nextTick'] }));
afterEach(() => jest.useRealTimers());

describe('LongPollTransport#connect(cursor, events)', () => {
  it('asks with timeout=0 first so the connection opens at once, then holds each request for timeout seconds', async () => {
    const http = fakeFetch();
    const { seen, events } = recorder();
    const cursor = liveCursor();
    cursor.state.since = 3;
    cursor.state.epoch = 'E1';
    const transport = new LongPollTransport(testContext({ fetch: http.fetch, token: 'jwt' }));
    transport.connect(cursor.reader, events);
    await settle();
    expect(http.calls[0]!.url).toBe('http://chat.test/api/rooms/lobby/poll?since=3&epoch=E1&timeout=0');
    expect(http.calls[0]!.init.headers).toEqual({ Authorization: 'Bearer jwt' });
    http.calls[0]!.answer(200, answer([]));
    await settle();
    expect(seen.histories).toBe(1);
    await jest.advanceTimersByTimeAsync(0);
    expect(http.calls[1]!.url).toBe('http://chat.test/api/rooms/lobby/poll?since=3&epoch=E1&timeout=25');
    cursor.state.since = 4;
    http.calls[1]!.answer(200, answer([4]));
    await settle();
    await jest.advanceTimersByTimeAsync(0);
    expect(seen.messages).toEqual([4]);
    expect(http.calls[2]!.url).toContain('since=4');
    transport.close();
  });

  it('gives up a request held far past its timeout (a half-open connection) and reports the connection lost', async () => {
    const http = fakeFetch();
    const { seen, events } = recorder();
    const transport = new LongPollTransport(testContext({ fetch: http.fetch }));
    transport.connect(liveCursor().reader, events);
    await settle();
    http.calls[0]!.answer(200, answer([]));
    await settle();
    await jest.advanceTimersByTimeAsync(25_000 + 10_000);
    await settle();
    expect(seen.closes).toEqual([{ opened: true }]);
  });

  it('closes with the code of an HTTP refusal (403 banned)', async () => {
    const http = fakeFetch();
    const { seen, events } = recorder();
    new LongPollTransport(testContext({ fetch: http.fetch })).connect(liveCursor().reader, events);
    await settle();
    http.calls[0]!.answer(403, { error: { code: 'banned', message: 'banned' } });
    await settle();
    expect(seen.errors).toEqual(['banned']);
    expect(seen.closes).toEqual([{ opened: false, code: 'banned' }]);
  });
});

describe('ShortPollTransport#connect(cursor, events)', () => {
  it('asks every pollIntervalMs, and at once after its own send', async () => {
    const http = fakeFetch();
    const { events } = recorder();
    const transport = new ShortPollTransport(testContext({ fetch: http.fetch, pollIntervalMs: 2000 }));
    transport.connect(liveCursor().reader, events);
    await settle();
    expect(http.calls[0]!.url).toBe('http://chat.test/api/rooms/lobby/messages');
    http.calls[0]!.answer(200, answer([]));
    await settle();
    await jest.advanceTimersByTimeAsync(1999);
    expect(http.calls).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(http.calls).toHaveLength(2);
    http.calls[1]!.answer(200, answer([]));
    await settle();
    const sent = transport.send({ text: 'hi', cid: 'c1' });
    await settle();
    http.calls[2]!.answer(201, { message: { id: 1, room: 'lobby', user: 'alice', text: 'hi', ts: 1, cid: 'c1' } });
    await sent;
    await settle();
    expect(http.calls).toHaveLength(4);
    expect(http.calls[3]!.init.method).toBeUndefined();
    transport.close();
  });

  it('hands a gap answer on as a new history', async () => {
    const http = fakeFetch();
    const { seen, events } = recorder();
    const transport = new ShortPollTransport(testContext({ fetch: http.fetch }));
    transport.connect(liveCursor().reader, events);
    await settle();
    http.calls[0]!.answer(200, answer([1]));
    await settle();
    await jest.advanceTimersByTimeAsync(2000);
    http.calls[1]!.answer(200, answer([1, 2], { epoch: 'E2', gap: true }));
    await settle();
    expect(seen.histories).toBe(2);
    expect(seen.messages).toEqual([]);
    transport.close();
  });
});

describe('PollingTransport#send(draft)', () => {
  it('POSTs one at a time, in the order given, with the token', async () => {
    const http = fakeFetch();
    const transport = new LongPollTransport(testContext({ fetch: http.fetch, token: 'jwt' }));
    transport.connect(liveCursor().reader, recorder().events);
    await settle();
    const first = transport.send({ text: 'one', cid: 'c1' });
    const second = transport.send({ text: 'two', cid: 'c2' });
    await settle();
    const posts = () => http.calls.filter((c) => c.init.method === 'POST');
    expect(posts()).toHaveLength(1);
    expect(posts()[0]!.init.headers).toMatchObject({ Authorization: 'Bearer jwt' });
    posts()[0]!.answer(201, { message: { id: 1, room: 'lobby', user: 'alice', text: 'one', ts: 1, cid: 'c1' } });
    await first;
    await settle();
    expect(posts().map((c) => JSON.parse(c.init.body!).cid)).toEqual(['c1', 'c2']);
    posts()[1]!.answer(429, { error: { code: 'rate_limited', message: 'slow down' } });
    await expect(second).rejects.toMatchObject({ code: 'rate_limited', cid: 'c2' });
    transport.close();
  });

  it('rejects with disconnected when the network fails, and aborts what is in flight on close()', async () => {
    const http = fakeFetch();
    const transport = new LongPollTransport(testContext({ fetch: http.fetch }));
    transport.connect(liveCursor().reader, recorder().events);
    await settle();
    const lost = transport.send({ text: 'x', cid: 'c1' });
    await settle();
    http.calls.find((c) => c.init.method === 'POST')!.failNetwork();
    await expect(lost).rejects.toMatchObject({ code: 'disconnected' });
    const aborted = transport.send({ text: 'y', cid: 'c2' });
    await settle();
    transport.close();
    await expect(aborted).rejects.toMatchObject({ code: 'disconnected' });
    expect(http.pending()).toEqual([]);
  });
});
