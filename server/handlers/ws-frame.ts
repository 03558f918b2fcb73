import WebSocket from 'ws';

/** A text message framed once, to be written as it is to any number of sockets. */
export interface PreparedFrame {
  /** The whole frame: header and payload. */
  readonly frame: Buffer;
  /** The payload alone, for the rare socket whose sender is busy and must queue it. */
  readonly payload: Buffer;
}

interface FrameOptions {
  fin: boolean;
  rsv1: boolean;
  opcode: number;
  mask: boolean;
  readOnly: boolean;
}

// ws frames every send() anew; its own framing function is public at runtime but untyped.
const Sender = (WebSocket as unknown as { Sender: { frame(data: Buffer, options: FrameOptions): Buffer[] } }).Sender;

/** The fields of a ws socket that a prepared write needs (ws 8; checked by the tests). */
interface WsInternals {
  _socket?: { write(chunk: Buffer): boolean; writable: boolean };
  _sender?: { _state: number; _queue: unknown[] };
}

/**
 * Frames `text` as one unmasked, uncompressed text frame.
 *
 * @example
 * const frame = prepareTextFrame('{"type":"message","id":1}');
 * for (const socket of members) writePreparedFrame(socket, frame);
 */
export function prepareTextFrame(text: string): PreparedFrame {
  const payload = Buffer.from(text, 'utf8');
  const parts = Sender.frame(payload, { fin: true, rsv1: false, opcode: 0x1, mask: false, readOnly: false });
  return { frame: parts.length === 1 ? parts[0]! : Buffer.concat(parts), payload };
}

/**
 * Writes a prepared frame to an open socket with no per-socket framing or copying. When the
 * socket's sender is busy (compressing or holding a queue), the payload goes through `send()`
 * so that frames keep their order.
 */
export function writePreparedFrame(socket: WebSocket, prepared: PreparedFrame): void {
  const internals = socket as unknown as WsInternals;
  const raw = internals._socket;
  const sender = internals._sender;
  if (raw && raw.writable && sender && sender._state === 0 && sender._queue.length === 0) {
    raw.write(prepared.frame);
  } else {
    socket.send(prepared.payload, { binary: false });
  }
}
