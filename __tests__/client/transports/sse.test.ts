import type { HistoryAnswer } from '../../../client/wire';
import { REPLAY_SETTLE_MS, SseTransport } from '../../../client/transports/sse';
import type { CloseInfo, TransportEvents } from '../../../client/transports/transport';
import { fakeFetch, FakeEventSource, testContext } from '../helpers/fake-web';
import { settle } from '../helpers/fake-transport';

function recorder() {
  const seen = { histories: [] as HistoryAnswer[], messages: [] as Array<[number, string | undefined]>, errors: [] as string[], closes: [] as CloseInfo[] };
  const events: TransportEvents = {
    history: (h) => void seen.histories.push(h),
    message: (m, epoch) => void seen.messages.push([m.id, epoch]),
    presence: () => undefined,
    error: (e) => void seen.errors.push(e.code),
    close: (info) => void seen.closes.push(info),
  };
  return { seen, events };
}

const cursor = (query: { since?: number; epoch?: string } = {}) => ({ query: () => query });
const message = (id: number) => ({ id, room: 'lobby', user: 'a', text: `m${id}`, ts: id });

beforeEach(() => {
  FakeEventSource.made = [];
  jest.useFakeTimers({ doNotFake: ['queueMicrotask', 'nextTick'] });
});
afterEach(() => jest.useRealTimers());

describe('SseTransport#connect(cursor, events)', () => {
  it('passes the token as the token query parameter (an EventSource cannot set headers), beside name, since and epoch', () => {
    new SseTransport(testContext({ token: 'jwt' })).connect(cursor({ since: 4, epoch: 'E1' }), recorder().events);
    expect(FakeEventSource.last.url).toBe('http://chat.test/api/rooms/lobby/events?since=4&epoch=E1&name=alice&token=jwt');
  });

  it('gathers the gap, the replay and ready into one history, then hands on live messages with their epoch', () => {
    const { seen, events } = recorder();
    new SseTransport(testContext()).connect(cursor({ since: 1, epoch: 'E0' }), events);
    const source = FakeEventSource.last;
    source.event('gap', { missed: null, epoch: 'E1' });
    source.event('message', message(1), 'E1:1');
    source.event('message', message(2), 'E1:2');
    source.event('ready', { epoch: 'E1', last: 2, me: { name: 'alice', write: true, mod: false } });
    source.event('message', message(3), 'E1:3');
    expect(seen.histories).toEqual([
      { epoch: 'E1', messages: [message(1), message(2)], gap: true, missed: null, me: { name: 'alice', write: true, mod: false } },
    ]);
    expect(seen.messages).toEqual([[3, 'E1']]);
  });

  it('takes a replay as complete after a short pause when no ready follows it (v1 servers)', () => {
    const { seen, events } = recorder();
    new SseTransport(testContext()).connect(cursor(), events);
    FakeEventSource.last.event('message', message(1), 'E1:1');
    expect(seen.histories).toEqual([]);
    jest.advanceTimersByTime(REPLAY_SETTLE_MS);
    expect(seen.histories).toEqual([{ epoch: 'E1', messages: [message(1)], gap: false, missed: null, me: null }]);
  });

  it('reports a refused stream (HTTP 401) as unauthorized', () => {
    const { seen, events } = recorder();
    new SseTransport(testContext()).connect(cursor(), events);
    FakeEventSource.last.fail(401);
    expect(seen.errors).toEqual(['unauthorized']);
    expect(seen.closes).toEqual([{ opened: false, code: 'unauthorized' }]);
  });

  it('ends the connection when the stream ends, and closes the EventSource so it does not reconnect by itself', async () => {
    const { seen, events } = recorder();
    new SseTransport(testContext()).connect(cursor(), events);
    FakeEventSource.last.event('ready', { epoch: 'E1', last: 0 });
    FakeEventSource.last.fail();
    expect(seen.closes).toEqual([{ opened: true }]);
    await settle();
    expect(FakeEventSource.last.closed).toBe(true);
  });

  it('names the end after the server\'s error event (unavailable: retry later)', () => {
    const { seen, events } = recorder();
    new SseTransport(testContext()).connect(cursor(), events);
    FakeEventSource.last.event('error', { code: 'unavailable' });
    FakeEventSource.last.fail();
    expect(seen.errors).toEqual(['unavailable']);
    expect(seen.closes).toEqual([{ opened: false, code: 'unavailable' }]);
  });
});

describe('SseTransport#send(draft)', () => {
  it('POSTs with Authorization: Bearer and resolves with the stored message', async () => {
    const http = fakeFetch();
    const transport = new SseTransport(testContext({ token: 'jwt', fetch: http.fetch }));
    transport.connect(cursor(), recorder().events);
    const sent = transport.send({ text: 'hi', cid: 'c1' });
    await settle();
    const call = http.calls[0]!;
    expect(call.url).toBe('http://chat.test/api/rooms/lobby/messages');
    expect(call.init).toMatchObject({ method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: 'Bearer jwt' } });
    expect(JSON.parse(call.init.body!)).toEqual({ user: 'alice', text: 'hi', cid: 'c1' });
    call.answer(201, { message: { ...message(8), cid: 'c1' } });
    await expect(sent).resolves.toEqual({ id: 8, message: { ...message(8), cid: 'c1' } });
    transport.close();
  });
});
