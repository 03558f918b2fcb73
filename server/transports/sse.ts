import { PassThrough } from 'node:stream';
import type Router from '@koa/router';
import { ChatError } from '../errors';
import type { HistorySlice } from '../engine/redis/history-store';
import { parseCursor, validateUser, type Cursor } from '../protocol/validate';
import type { Broadcast, Encoder } from '../rooms/broadcast';
import type { RoomHub, RoomMember } from '../rooms/hub';
import { cursorQuery, roomParam, single } from '../http/request-input';

export const SSE_RETRY_MS = 3000;
export const SSE_PING_MS = 15_000;

export interface SseOptions {
  readonly hub: RoomHub;
  readonly streams: SseStreams;
  readonly maxBufferedBytes: number;
  readonly onOpen?: () => void;
  readonly onClose?: () => void;
}

/** A message as an SSE event; its id is the cursor `EPOCH:ID` that Last-Event-ID brings back. */
const messageEventText = (epoch: string, id: number, json: string): string =>
  `id: ${epoch}:${id}\nevent: message\ndata: ${json}\n\n`;

// Each event is encoded once per process and written as the same bytes to every stream.
const messageEvent: Encoder<Buffer> = (b) => Buffer.from(messageEventText(b.epoch, b.id, b.json));
const presenceEvent: Encoder<Buffer> = (b) => Buffer.from(`event: presence\ndata: ${b.json}\n\n`);

/** One Server-Sent Events stream as a room member. */
class SseStream implements RoomMember {
  constructor(
    readonly body: PassThrough,
    readonly name: string | undefined,
    private readonly maxBufferedBytes: number,
  ) {}

  deliverHistory(slice: HistorySlice): void {
    let out = '';
    if (slice.gap) out += `event: gap\ndata: {"missed":${slice.missed ?? 'null'},"epoch":${JSON.stringify(slice.epoch)}}\n\n`;
    for (const m of slice.messages) out += messageEventText(slice.epoch, m.id, m.json);
    if (slice.messages.length === 0) {
      // An event id even with nothing to replay, so a reconnect resumes from here.
      out = `id: ${slice.epoch}:${slice.last}\nevent: ready\ndata: {"epoch":${JSON.stringify(slice.epoch)},"last":${slice.last}}\n\n`;
    }
    this.write(out);
  }

  deliverMessage(broadcast: Broadcast): void {
    this.write(broadcast.encode(messageEvent));
  }

  deliverPresence(broadcast: Broadcast): void {
    this.write(broadcast.encode(presenceEvent));
  }

  write(chunk: string | Buffer): void {
    if (this.body.writableEnded) return;
    this.body.write(chunk);
    // A stalled reader is cut off; EventSource reconnects with Last-Event-ID and catches up.
    if (this.body.writableLength > this.maxBufferedBytes) this.body.end();
  }
}

/** The open SSE streams of this process, with one heartbeat timer for all of them. */
export class SseStreams {
  private readonly streams = new Set<SseStream>();
  private readonly timer: NodeJS.Timeout;

  constructor(pingMs = SSE_PING_MS) {
    this.timer = setInterval(() => {
      for (const stream of this.streams) stream.write(': ping\n\n');
    }, pingMs);
    this.timer.unref();
  }

  add(stream: SseStream): void {
    this.streams.add(stream);
  }

  delete(stream: SseStream): void {
    this.streams.delete(stream);
  }

  get size(): number {
    return this.streams.size;
  }

  /** Ends every stream (shutdown); clients reconnect elsewhere with Last-Event-ID. */
  close(): void {
    clearInterval(this.timer);
    for (const stream of this.streams) stream.body.end();
  }
}

/**
 * Reads the cursor of an SSE request: the `Last-Event-ID` header (`E:ID` or a bare `ID`) wins
 * over the `since` and `epoch` query parameters, so a plain EventSource resumes by itself.
 */
export function sseCursor(lastEventId: string | undefined, query: Cursor): Cursor {
  if (lastEventId === undefined || lastEventId === '') return query;
  const m = /^(?:([A-Za-z0-9_-]{1,64}):)?(\d{1,15})$/.exec(lastEventId.trim());
  if (!m) throw new ChatError('bad_request', 'Last-Event-ID must be "EPOCH:ID" or "ID", as the server sent it.');
  return parseCursor(m[2], m[1]);
}

/**
 * Server-Sent Events (`GET /api/rooms/:room/events?since&epoch[&name]`): `retry`, the replay
 * (after `event: gap` when it cannot resume), then every message as `id: E:ID`. Redis is read
 * before the headers go out, so an outage is a 503 and not a broken stream.
 */
export function mountSse(router: Router, options: SseOptions): void {
  router.get('/api/rooms/:room/events', async (ctx) => {
    const room = roomParam(ctx);
    const cursor = sseCursor(ctx.get('last-event-id') || undefined, cursorQuery(ctx));
    const rawName = single(ctx.query.name);
    const name = rawName === undefined ? undefined : validateUser(rawName);
    const body = new PassThrough();
    const stream = new SseStream(body, name, options.maxBufferedBytes);
    body.write(`retry: ${SSE_RETRY_MS}\n\n`);
    await options.hub.join(room, stream, cursor);

    options.streams.add(stream);
    options.onOpen?.();
    const cleanup = () => {
      options.streams.delete(stream);
      options.hub.leave(room, stream);
      options.onClose?.();
      body.end();
    };
    ctx.res.once('close', cleanup);
    ctx.req.socket.setTimeout(0);
    ctx.req.socket.setNoDelay(true);
    ctx.status = 200;
    ctx.set({
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    ctx.body = body;
  });
}
