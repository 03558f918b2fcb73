import { PassThrough } from 'node:stream';
import type { ParameterizedContext } from 'koa';
import { meOf } from '../auth/access';
import { whenExpired } from '../auth/expiry';
import { ChatError } from '../errors';
import { cursorQuery, roomParam, single } from '../http/request-input';
import type { Cursor, HistorySlice, Me } from '../protocol/types';
import { parseCursor } from '../protocol/validate';
import { SSE_PING, sseError, sseHistory, sseKicked, sseMessageEvent, ssePresenceEvent, sseRetry } from '../protocol/wire';
import type { Broadcast, Encoder } from '../rooms/broadcast';
import type { RoomMember } from '../rooms/hub';
import type { MountedTransport, TransportContext, TransportRoutes } from './index';

export const SSE_RETRY_MS = 3000;
export const SSE_PING_MS = 15_000;

// Each event is encoded once per process and written as the same bytes to every stream.
const messageEvent: Encoder<Buffer> = (b) => Buffer.from(sseMessageEvent(b.epoch, b.id, b.json));
const presenceEvent: Encoder<Buffer> = (b) => Buffer.from(ssePresenceEvent(b.json));

/** One Server-Sent Events stream as a room member. */
class SseStream implements RoomMember {
  constructor(
    readonly body: PassThrough,
    /** The HTTP response the body is piped into: destroyed when its reader stalls. */
    private readonly response: { destroy(): void },
    /** The name it counts as online under; undefined for an anonymous stream without `?name=`. */
    readonly name: string | undefined,
    /** Who it is, for kicks and the presence list. */
    readonly identity: { readonly name: string; readonly uid?: string },
    private readonly me: Me,
    private readonly maxBufferedBytes: number,
  ) {}

  deliverHistory(slice: HistorySlice): void {
    this.write(sseHistory(slice, this.me));
  }

  deliverMessage(broadcast: Broadcast): void {
    this.write(broadcast.encode(messageEvent));
  }

  deliverPresence(broadcast: Broadcast): void {
    this.write(broadcast.encode(presenceEvent));
  }

  /** A moderator kicked this user: `event: kicked`, then the end of the stream. */
  kick(): void {
    this.write(sseKicked('A moderator removed you from this room.'));
    this.body.end();
  }

  write(chunk: string | Buffer): void {
    if (this.body.writableEnded) return;
    this.body.write(chunk);
    // A stalled reader is cut off (ending the body would only queue the end behind what it does
    // not read); EventSource reconnects with Last-Event-ID and catches up.
    if (this.body.writableLength > this.maxBufferedBytes) this.response.destroy();
  }
}

/** The open SSE streams of this process, with one heartbeat timer for all of them. */
export class SseStreams {
  private readonly streams = new Set<SseStream>();
  private readonly timer: NodeJS.Timeout;

  constructor(pingMs = SSE_PING_MS) {
    this.timer = setInterval(() => {
      for (const stream of this.streams) stream.write(SSE_PING);
    }, pingMs);
    this.timer.unref();
  }

  add(stream: SseStream): void {
    this.streams.add(stream);
  }

  /** True when the stream was open here (and is no longer). */
  delete(stream: SseStream): boolean {
    return this.streams.delete(stream);
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

function isOutage(err: unknown): err is ChatError {
  return err instanceof ChatError && err.code === 'unavailable';
}

/**
 * During an outage: 200, `retry:`, one `event: error`, and the end. A plain EventSource gives up
 * for good on a non-200 answer; an ended 200 stream it retries after `retry:`, as an outage needs.
 */
function answerOutage(ctx: ParameterizedContext, err: ChatError): void {
  const body = new PassThrough();
  body.end(sseRetry(SSE_RETRY_MS) + sseError(err.code, err.message));
  respondWithStream(ctx, body);
}

/** Answers 200 with `body` as the event stream, with the headers proxies need to pass it on at once. */
function respondWithStream(ctx: ParameterizedContext, body: PassThrough): void {
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
}

/**
 * Reads the cursor of an SSE request: the `Last-Event-ID` header (`E:ID` or a bare `ID`) wins
 * over the `since` and `epoch` query parameters, so a plain EventSource resumes by itself.
 */
export function sseCursor(lastEventId: string | undefined, query: Cursor): Cursor {
  if (lastEventId === undefined || lastEventId === '') return query;
  // `:N` too: the id of an event sent while the room had no epoch yet (an empty epoch, none known).
  const m = /^(?:([A-Za-z0-9_-]{0,64}):)?(\d{1,15})$/.exec(lastEventId.trim());
  if (!m) throw new ChatError('bad_request', 'Last-Event-ID must be "EPOCH:ID" or "ID", as the server sent it.');
  return parseCursor(m[2], m[1] || undefined);
}

/**
 * Server-Sent Events (`GET /api/rooms/:room/events?since&epoch[&name]`): `retry`, the replay
 * (after `event: gap` when it cannot resume), then every message as `id: E:ID`. Redis is read
 * before the stream is sent, so an outage answers 200 with `event: error` (which EventSource
 * reads, and retries after) rather than a stream broken half way.
 */
export function mountSse({ http }: TransportRoutes, context: TransportContext): MountedTransport {
  const { hub, metrics, config, admission, limits } = context;
  const streams = new SseStreams();
  http.get('/api/rooms/:room/events', async (ctx) => {
    const room = roomParam(ctx);
    const rawName = single(ctx.query.name);
    let visitor;
    try {
      visitor = await admission.admit(ctx, room, rawName);
    } catch (err) {
      if (isOutage(err)) return answerOutage(ctx, err);
      throw err;
    }
    const cursor = sseCursor(ctx.get('last-event-id') || undefined, cursorQuery(ctx));
    // A token's user is online by the token's name; an anonymous stream only when it gave one.
    const onlineAs = visitor.uid !== undefined || rawName !== undefined ? visitor.name : undefined;
    const release = limits.acquire(ctx.ip);
    const body = new PassThrough();
    const stream = new SseStream(body, ctx.res, onlineAs, visitor, meOf(visitor), config.maxBufferedBytes);
    body.write(sseRetry(SSE_RETRY_MS));
    let stopExpiry = (): void => undefined;
    const cleanup = () => {
      release();
      stopExpiry();
      // Counted as open from `streams.add` on, once.
      if (streams.delete(stream)) metrics.connectionClosed('sse');
      hub.leave(room, stream);
      body.end();
    };
    // Before the join: a client that leaves while its history is read must not stay seated,
    // counted online and against its address's cap.
    ctx.res.once('close', cleanup);
    try {
      await hub.join(room, stream, cursor);
    } catch (err) {
      cleanup();
      ctx.res.off('close', cleanup);
      if (isOutage(err)) return answerOutage(ctx, err);
      throw err;
    }
    if (ctx.res.destroyed) {
      cleanup();
      ctx.respond = false;
      return;
    }
    streams.add(stream);
    metrics.connectionOpened('sse');
    // A stream whose token expires ends then; EventSource comes back and is asked again.
    stopExpiry = whenExpired(visitor.expiresAt, () => body.end());
    respondWithStream(ctx, body);
  });
  return {
    get size() {
      return streams.size;
    },
    close: async () => streams.close(),
  };
}
