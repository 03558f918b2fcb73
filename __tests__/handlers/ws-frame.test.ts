import type WebSocket from 'ws';
import { prepareTextFrame, writePreparedFrame } from '../../server/handlers/ws-frame';

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
  const socket = { _socket: raw, _sender: { _state: 0, _queue: [] }, send: () => calls.push('send') } as unknown as WebSocket;
  return { socket, calls };
}

const endOfTurn = () => new Promise((r) => setImmediate(r));

describe('writePreparedFrame(socket, frame)', () => {
  it('writes a lone frame straight through, with no cork', async () => {
    const { socket, calls } = fakeSocket();
    writePreparedFrame(socket, prepareTextFrame('hi'));
    await endOfTurn();
    expect(calls).toEqual(['write 4']);
  });

  it('sends a burst of frames in one turn as one write after the first: corked, then uncorked at the end of the turn', async () => {
    const { socket, calls } = fakeSocket();
    for (let i = 0; i < 4; i++) writePreparedFrame(socket, prepareTextFrame('hi'));
    expect(calls).toEqual(['write 4', 'cork', 'buffer 4', 'buffer 4', 'buffer 4']);
    await endOfTurn();
    expect(calls.at(-1)).toBe('uncork');
    writePreparedFrame(socket, prepareTextFrame('next turn'));
    expect(calls.at(-1)).toBe('write 11');
  });

  it('goes through send() when the sender is busy, so frames keep their order', () => {
    const { socket, calls } = fakeSocket();
    (socket as unknown as { _sender: { _queue: unknown[] } })._sender._queue.push({});
    writePreparedFrame(socket, prepareTextFrame('hi'));
    expect(calls).toEqual(['send']);
  });
});
