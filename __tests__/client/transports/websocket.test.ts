import { ChatClientError } from '../../../client';
import type { CloseInfo, TransportEvents } from '../../../client/transports/transport';
import { WebSocketTransport } from '../../../client/transports/websocket';
import { FakeWebSocket, testContext } from '../helpers/fake-web';

function recorder() {
  const seen = { histories: 0, messages: [] as number[], epochs: [] as Array<string | undefined>, errors: [] as string[], closes: [] as CloseInfo[] };
  const events: TransportEvents = {
    history: () => void seen.histories++,
    message: (m, epoch) => {
      seen.messages.push(m.id);
      seen.epochs.push(epoch);
    },
    presence: () => undefined,
    error: (e) => void seen.errors.push(e.code),
    close: (info) => void seen.closes.push(info),
  };
  return { seen, events };
}

const cursor = (since?: number, epoch?: string) => ({ query: () => ({ ...(since === undefined ? {} : { since }), ...(epoch === undefined ? {} : { epoch }) }) });
const historyFrame = { type: 'history', room: 'lobby', epoch: 'E1', messages: [], gap: false };

beforeEach(() => (FakeWebSocket.made = []));

describe('WebSocketTransport#connect(cursor, events)', () => {
  it('offers the subprotocols chat and bearer.TOKEN, and an Authorization header for Node clients, with a token', () => {
    new WebSocketTransport(testContext({ token: 'abc.def.ghi' })).connect(cursor(), recorder().events);
    expect(FakeWebSocket.last.protocols).toEqual(['chat', 'bearer.abc.def.ghi']);
    expect(FakeWebSocket.last.options).toEqual({ headers: { Authorization: 'Bearer abc.def.ghi' } });
  });

  it('offers chat alone without a token', () => {
    new WebSocketTransport(testContext()).connect(cursor(), recorder().events);
    expect(FakeWebSocket.last.protocols).toEqual(['chat']);
    expect(FakeWebSocket.last.options).toBeUndefined();
  });

  it('puts the room, name, since and epoch in the URL (wss: for https:)', () => {
    new WebSocketTransport(testContext({ baseUrl: 'https://chat.test/prefix/', room: '技术交流' })).connect(cursor(7, 'E1'), recorder().events);
    expect(FakeWebSocket.last.url).toBe(`wss://chat.test/prefix/ws/${encodeURIComponent('技术交流')}?name=alice&since=7&epoch=E1`);
  });

  it('hands on the epoch a message frame carries, so a client that joined an empty room learns it', () => {
    const { seen, events } = recorder();
    new WebSocketTransport(testContext()).connect(cursor(), events);
    FakeWebSocket.last.accept();
    FakeWebSocket.last.frame({ ...historyFrame, epoch: '' });
    FakeWebSocket.last.frame({ type: 'message', epoch: 'E7', id: 1, room: 'lobby', user: 'a', text: 'x', ts: 1 });
    FakeWebSocket.last.frame({ type: 'message', id: 2, room: 'lobby', user: 'a', text: 'y', ts: 2 });
    expect(seen.epochs).toEqual(['E7', undefined]);
  });

  it('opens on the history frame, then hands on messages in order', () => {
    const { seen, events } = recorder();
    new WebSocketTransport(testContext()).connect(cursor(), events);
    FakeWebSocket.last.accept();
    FakeWebSocket.last.frame({ ...historyFrame, messages: [{ id: 1, room: 'lobby', user: 'a', text: 'x', ts: 1 }] });
    FakeWebSocket.last.frame({ type: 'message', id: 2, room: 'lobby', user: 'a', text: 'y', ts: 2 });
    FakeWebSocket.last.frame('not json');
    expect(seen.histories).toBe(1);
    expect(seen.messages).toEqual([2]);
  });

  it.each<[number, string, string | undefined]>([
    [4001, 'unauthorized', 'unauthorized'],
    [4003, 'forbidden', 'forbidden'],
    [4004, 'kicked', 'kicked'],
    [1008, 'bad_request', 'bad_request'],
    [1001, 'a plain close, to retry', undefined],
    [1006, 'a plain close, to retry', undefined],
    [1011, 'a plain close, to retry', undefined],
    [1013, 'a plain close, to retry', undefined],
  ])('reports close %i as %s', (closeCode, _label, code) => {
    const { seen, events } = recorder();
    new WebSocketTransport(testContext()).connect(cursor(), events);
    FakeWebSocket.last.accept();
    FakeWebSocket.last.frame(historyFrame);
    FakeWebSocket.last.end(closeCode, 'why');
    expect(seen.closes).toEqual([code === undefined ? { opened: true } : { opened: true, code }]);
    expect(seen.errors).toEqual(code === undefined ? [] : [code]);
  });

  it('names the close after the error frame before it (banned rather than forbidden)', () => {
    const { seen, events } = recorder();
    new WebSocketTransport(testContext()).connect(cursor(), events);
    FakeWebSocket.last.accept();
    FakeWebSocket.last.frame({ type: 'error', code: 'banned', message: 'banned until tomorrow' });
    FakeWebSocket.last.end(4003);
    expect(seen.errors).toEqual(['banned']);
    expect(seen.closes).toEqual([{ opened: false, code: 'banned' }]);
  });

  it('reports nothing after close()', () => {
    const { seen, events } = recorder();
    const transport = new WebSocketTransport(testContext());
    transport.connect(cursor(), events);
    transport.close();
    FakeWebSocket.last.end(1006);
    expect(seen.closes).toEqual([]);
    expect(FakeWebSocket.last.closedWith).toBe(1000);
  });
});

describe('WebSocketTransport#send(draft)', () => {
  function open() {
    const transport = new WebSocketTransport(testContext());
    const { seen, events } = recorder();
    transport.connect(cursor(), events);
    FakeWebSocket.last.accept();
    FakeWebSocket.last.frame(historyFrame);
    return { transport, seen };
  }

  it('sends a message command and resolves with the ack', async () => {
    const { transport } = open();
    const sent = transport.send({ text: 'hi', cid: 'c1' });
    expect(JSON.parse(FakeWebSocket.last.sent[0]!)).toEqual({ type: 'message', text: 'hi', cid: 'c1' });
    FakeWebSocket.last.frame({ type: 'ack', cid: 'c1', id: 5 });
    await expect(sent).resolves.toEqual({ id: 5 });
  });

  it('rejects with the code of an error frame that names its cid; the connection stays', async () => {
    const { transport, seen } = open();
    const sent = transport.send({ text: 'hi', cid: 'c1' });
    FakeWebSocket.last.frame({ type: 'error', code: 'rate_limited', message: 'slow down', cid: 'c1' });
    await expect(sent).rejects.toEqual(new ChatClientError('rate_limited', 'slow down', 'c1'));
    expect(seen.errors).toEqual([]);
    expect(seen.closes).toEqual([]);
  });

  it('rejects with disconnected when the connection ends before the ack', async () => {
    const { transport } = open();
    const sent = transport.send({ text: 'hi', cid: 'c1' });
    FakeWebSocket.last.end(1006);
    await expect(sent).rejects.toMatchObject({ code: 'disconnected', cid: 'c1' });
    await expect(transport.send({ text: 'late', cid: 'c2' })).rejects.toMatchObject({ code: 'disconnected' });
  });

  it('refuses the largest send as too_long when the server closes with 1009, so it is not resent forever', async () => {
    const { transport } = open();
    const small = transport.send({ text: 'small', cid: 'c1' });
    const big = transport.send({ text: 'x'.repeat(70_000), cid: 'c2' });
    FakeWebSocket.last.end(1009);
    await expect(big).rejects.toMatchObject({ code: 'too_long', cid: 'c2' });
    await expect(small).rejects.toMatchObject({ code: 'disconnected' });
  });
});
