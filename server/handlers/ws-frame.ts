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
  _socket?: RawSocket;
  _sender?: { _state: number; _queue: unknown[] };
}

/** The TCP socket under a WebSocket, as far as a prepared write uses it. */
interface RawSocket {
  write(chunk: Buffer): boolean;
  writable: boolean;
  cork(): void;
  uncork(): void;
}

// The turn of the event loop a socket was last written to, and last corked in, as marks on the
// socket itself: no set to add every member to on every message.
const WRITTEN = Symbol('chat.writtenInTurn');
const CORKED = Symbol('chat.corkedInTurn');
type MarkedSocket = RawSocket & { [WRITTEN]?: number; [CORKED]?: number };

let turn = 1;
let turnEndScheduled = false;
const corkedThisTurn: RawSocket[] = [];

function endTurn(): void {
  turnEndScheduled = false;
  turn++;
  for (const raw of corkedThisTurn) raw.uncork();
  corkedThisTurn.length = 0;
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
 * Writes a prepared frame to an open socket with no per-socket framing or copying; frames for
 * one socket in one turn of the event loop leave in one write. When the socket's sender is busy
 * (compressing or holding a queue), the payload goes through `send()` so that frames keep their
 * order.
 */
export function writePreparedFrame(socket: WebSocket, prepared: PreparedFrame): void {
  const internals = socket as unknown as WsInternals;
  const raw = internals._socket;
  const sender = internals._sender;
  if (raw && raw.writable && sender && sender._state === 0 && sender._queue.length === 0) {
    // A burst (several messages of a room in one turn: five senders at 100 msg/s) goes out as
    // one write per member, not one per frame: the second frame of a turn corks the socket and
    // the end of the turn uncorks it, so the kernel sees one writev. A lone frame costs no cork.
    const marked = raw as MarkedSocket;
    if (marked[WRITTEN] === turn) {
      if (marked[CORKED] !== turn) {
        raw.cork();
        marked[CORKED] = turn;
        corkedThisTurn.push(raw);
      }
    } else {
      marked[WRITTEN] = turn;
      if (!turnEndScheduled) {
        turnEndScheduled = true;
        setImmediate(endTurn);
      }
    }
    raw.write(prepared.frame);
  } else {
    socket.send(prepared.payload, { binary: false });
  }
}
