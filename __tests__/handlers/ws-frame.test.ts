import type WebSocket from 'ws';
import { flushPendingFrames, prepareTextFrame, unsentBytes, writePreparedFrame } from '../../server/handlers/ws-frame';

/** A ws socket as writePreparedFrame sees it, over a TCP socket that writes down what it is asked. */
function fakeSocket() {
  const calls: string[] = [];
  let corks = 0;
  const raw = {
    writable: true,
    write: (chunk: Buffer) => {
      calls.push(corks > 0 ? `buffer ${chunk.length}` : `write ${chunk.length}`);
      return true;
    },
    cork: () => {
      corks++;
      calls.push('cork');
    },
    uncork: () => {
      corks--;
      calls.push('uncork');
    },
  };
  const socket = { _socket: raw, _sender: { _state: 0, _queue: [] }, readyState: 1, bufferedAmount: 0, send: () => calls.push('send') } as unknown as WebSocket;
  return { socket, calls };
}

const endOfTurn = () => new Promise((r) => setImmediate(r));

describe('writePreparedFrame(socket, frame)', () => {
  it('writes a lone frame at the end of the turn, in one write, without corking', async () => {
    const { socket, calls } = fakeSocket();
    writePreparedFrame(socket, prepareTextFrame('hi'));
    expect(calls).toEqual([]);
    await endOfTurn();
    expect(calls).toEqual(['write 4']);
  });

  it('sends the frames of one turn together, in order, in one corked write; the next turn anew', async () => {
    const { socket, calls } = fakeSocket();
    for (const text of ['a', 'bb', 'ccc', 'dddd']) writePreparedFrame(socket, prepareTextFrame(text));
    expect(calls).toEqual([]);
    await endOfTurn();
    expect(calls).toEqual(['cork', 'buffer 3', 'buffer 4', 'buffer 5', 'buffer 6', 'uncork']);
    writePreparedFrame(socket, prepareTextFrame('next turn'));
    await endOfTurn();
    expect(calls.at(-1)).toBe('write 11');
  });

  it('writes each socket’s own frames once, whatever the order of the writes', async () => {
    const [one, two] = [fakeSocket(), fakeSocket()];
    writePreparedFrame(one.socket, prepareTextFrame('x'));
    writePreparedFrame(two.socket, prepareTextFrame('yy'));
    writePreparedFrame(one.socket, prepareTextFrame('zzz'));
    await endOfTurn();
    expect(one.calls).toEqual(['cork', 'buffer 3', 'buffer 5', 'uncork']);
    expect(two.calls).toEqual(['write 4']);
  });

  it('writes what is pending at once when asked (before a close frame), and not again at the end of the turn', async () => {
    const { socket, calls } = fakeSocket();
    writePreparedFrame(socket, prepareTextFrame('bye'));
    flushPendingFrames(socket);
    expect(calls).toEqual(['write 5']);
    await endOfTurn();
    expect(calls).toEqual(['write 5']);
  });

  it('drops what is pending for a socket that stopped being writable before the end of the turn', async () => {
    const { socket, calls } = fakeSocket();
    writePreparedFrame(socket, prepareTextFrame('late'));
    (socket as unknown as { _socket: { writable: boolean } })._socket.writable = false;
    await endOfTurn();
    expect(calls).toEqual([]);
  });

  it('drops what is pending for a socket ws began to close meanwhile: nothing may follow its close frame', async () => {
    const { socket, calls } = fakeSocket();
    writePreparedFrame(socket, prepareTextFrame('late'));
    (socket as unknown as { readyState: number }).readyState = 2; // CLOSING: the peer's close, answered by ws
    await endOfTurn();
    expect(calls).toEqual([]);
  });

  it('counts the bytes it holds as unsent, so a slow consumer is seen within the turn', async () => {
    const { socket } = fakeSocket();
    (socket as unknown as { bufferedAmount: number }).bufferedAmount = 100;
    for (let i = 0; i < 3; i++) writePreparedFrame(socket, prepareTextFrame('x'.repeat(1000)));
    expect(unsentBytes(socket)).toBe(100 + 3 * 1004);
    await endOfTurn();
    expect(unsentBytes(socket)).toBe(100);
  });

  it('goes through send() when the sender is busy, after what is pending, so frames keep their order', () => {
    const { socket, calls } = fakeSocket();
    writePreparedFrame(socket, prepareTextFrame('first'));
    (socket as unknown as { _sender: { _queue: unknown[] } })._sender._queue.push({});
    writePreparedFrame(socket, prepareTextFrame('hi'));
    expect(calls).toEqual(['write 7', 'send']);
  });
});
