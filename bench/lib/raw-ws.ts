import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

/**
 * A WebSocket client cut to what a load generator needs, so that the generator costs as little
 * CPU per delivery as it can: no EventEmitter per frame, no string per frame, no UTF-8
 * validation. Text frames are handed over as a byte range of the chunk they arrived in; pings
 * are answered; sends are masked with a zero key (RFC 6455 §5.3 allows any key; the server
 * unmasks either way).
 */
export interface RawSocket {
  /** Sends one text frame. */
  send(text: string): void;
  /** Ends the connection at once (no close handshake, like ws's `terminate()`). */
  terminate(): void;
  readonly socket: Socket;
}

/** Invoked once per text frame with its payload as `buf[start, end)`; valid only during the call. */
export type OnText = (buf: Buffer, start: number, end: number) => void;

/**
 * Reads (after the handshake) that carried at least one whole text frame, and the text frames
 * they carried, over every socket of this process: frames per read shows how the server bundled
 * its frames into writes (an upper bound: a generator that reads late also finds several writes
 * in one read).
 */
export const readCounts = { reads: 0, frames: 0 };

const HEADER_END = Buffer.from('\r\n\r\n');
const READ_BUFFER = Buffer.allocUnsafe(256 * 1024);
const KEY = randomBytes(16).toString('base64');

/**
 * Opens a WebSocket to 127.0.0.1:`port``path` and resolves once the server answered 101. Rejects
 * with the status line when it answered anything else, or with the socket's error.
 */
export function rawConnect(port: number, path: string, onText: OnText, onClose?: () => void): Promise<RawSocket> {
  return new Promise((resolve, reject) => {
    // `onread` hands each read to us straight from libuv, into one buffer shared by every socket
    // (the callback runs to completion before the next read), bypassing the stream machinery.
    const socket = connect({
      port,
      host: '127.0.0.1',
      noDelay: true,
      onread: {
        buffer: READ_BUFFER,
        callback: (n: number, buffer: Uint8Array) => {
          onData((buffer as Buffer).subarray(0, n));
          return true;
        },
      },
    });
    let open = false;
    let pending: Buffer | undefined;
    const raw: RawSocket = {
      socket,
      send: (text) => socket.write(encodeFrame(0x1, Buffer.from(text))),
      terminate: () => socket.destroy(),
    };
    socket.once('connect', () => {
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    socket.on('error', (err) => {
      if (!open) reject(err);
    });
    socket.on('close', () => {
      if (!open) reject(new Error(`connection closed before the handshake answered (${path})`));
      else onClose?.();
    });
    const onData = (chunk: Buffer) => {
      const buf = pending ? Buffer.concat([pending, chunk]) : chunk;
      pending = undefined;
      let off = 0;
      if (!open) {
        const end = buf.indexOf(HEADER_END);
        if (end < 0) {
          pending = Buffer.from(buf);
          return;
        }
        const status = buf.toString('latin1', 0, buf.indexOf(13));
        if (!status.startsWith('HTTP/1.1 101')) {
          socket.destroy();
          reject(new Error(`handshake refused: ${status}`));
          return;
        }
        open = true;
        resolve(raw);
        off = end + 4;
      }
      let texts = 0;
      while (buf.length - off >= 2) {
        const opcode = buf[off]! & 0x0f;
        let len = buf[off + 1]! & 0x7f;
        let head = 2;
        if (len === 126) {
          if (buf.length - off < 4) break;
          len = buf.readUInt16BE(off + 2);
          head = 4;
        } else if (len === 127) {
          if (buf.length - off < 10) break;
          len = Number(buf.readBigUInt64BE(off + 2));
          head = 10;
        }
        if (buf.length - off < head + len) break;
        const start = off + head;
        if (opcode === 0x1) {
          texts++;
          onText(buf, start, start + len);
        } else if (opcode === 0x9) socket.write(encodeFrame(0xa, buf.subarray(start, start + len)));
        else if (opcode === 0x8) socket.destroy();
        off = start + len;
      }
      if (texts > 0) {
        readCounts.reads++;
        readCounts.frames += texts;
      }
      // A frame split across reads waits for the rest (copied: the read buffer is shared).
      if (off < buf.length) pending = Buffer.from(buf.subarray(off));
    };
  });
}

/** A client frame (FIN set, masked with a zero key, so the payload goes as it is). */
function encodeFrame(opcode: number, payload: Buffer): Buffer {
  const len = payload.length;
  const head = len < 126 ? 6 : len < 65536 ? 8 : 14;
  const frame = Buffer.alloc(head + len);
  frame[0] = 0x80 | opcode;
  if (len < 126) frame[1] = 0x80 | len;
  else if (len < 65536) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(len, 2);
  } else {
    frame[1] = 0x80 | 127;
    frame.writeBigUInt64BE(BigInt(len), 2);
  }
  // The 4 mask bytes stay zero.
  payload.copy(frame, head);
  return frame;
}

const TEXT_T = Buffer.from('"text":"t:');

/**
 * The send time a message frame's text carries (`"text":"t:1764000000000.123"`), read off the
 * bytes without making a string; NaN when the frame has none.
 */
export function sentAtBytes(buf: Buffer, start: number, end: number): number {
  const at = buf.indexOf(TEXT_T, start);
  if (at < 0 || at >= end) return NaN;
  let i = at + TEXT_T.length;
  let whole = 0;
  let c = buf[i]!;
  while (c >= 48 && c <= 57) {
    whole = whole * 10 + (c - 48);
    c = buf[++i]!;
  }
  if (c !== 46) return whole;
  let frac = 0;
  let scale = 1;
  c = buf[++i]!;
  while (c >= 48 && c <= 57) {
    frac = frac * 10 + (c - 48);
    scale *= 10;
    c = buf[++i]!;
  }
  return whole + frac / scale;
}

/** The first letter of a frame's type (`{"type":"message"` → `m`), read off its 10th byte. */
export const frameType = (buf: Buffer, start: number): number => buf[start + 9]!;
/** The 10th byte of a message frame (`m`) and of a history frame (`h`). */
export const TYPE_MESSAGE = 0x6d;
export const TYPE_HISTORY = 0x68;

/** The integer that follows `at` (the first digit), or -1. */
export function intAt(buf: Buffer, at: number): number {
  let n = 0;
  let c = buf[at]!;
  if (c < 48 || c > 57) return -1;
  while (c >= 48 && c <= 57) {
    n = n * 10 + (c - 48);
    c = buf[++at]!;
  }
  return n;
}

const ID_KEY = Buffer.from('"id":');

/** A message frame's id (the first `"id":` in it: `{"type":"message",["epoch":…,]"id":N,…`). */
export function messageId(buf: Buffer, start: number): number {
  const at = buf.indexOf(ID_KEY, start);
  return at < 0 ? -1 : intAt(buf, at + ID_KEY.length);
}

const ID_FIELD = Buffer.from('{"id":');
const MESSAGES = Buffer.from('"messages":[');
const GAP_TRUE = Buffer.from('"gap":true');

/** What a history frame holds, read off its bytes: how many messages, the first and last id, and the gap flag. */
export function historyShape(buf: Buffer, start: number, end: number): { count: number; first: number; last: number; gap: boolean } {
  let at = buf.indexOf(MESSAGES, start);
  let count = 0;
  let first = -1;
  let last = -1;
  if (at >= 0 && at < end) {
    at = buf.indexOf(ID_FIELD, at);
    while (at >= 0 && at < end) {
      const id = intAt(buf, at + ID_FIELD.length);
      if (count === 0) first = id;
      last = id;
      count++;
      at = buf.indexOf(ID_FIELD, at + ID_FIELD.length);
    }
  }
  const gapAt = buf.indexOf(GAP_TRUE, start);
  return { count, first, last, gap: gapAt >= 0 && gapAt < end };
}
