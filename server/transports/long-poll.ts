import type { ParameterizedContext } from 'koa';
import { ChatError } from '../errors';
import { cursorQuery, intQuery, roomParam, single } from '../http/request-input';
import type { HistorySlice } from '../protocol/types';
import { pollAnswer, pollAnswerForMessage } from '../protocol/wire';
import type { Broadcast, Encoder } from '../rooms/broadcast';
import type { RoomMember } from '../rooms/hub';
import type { MountedTransport, TransportContext, TransportRoutes } from './index';

export const DEFAULT_POLL_TIMEOUT_SEC = 25;
export const MAX_POLL_TIMEOUT_SEC = 60;

// One answer per broadcast, shared by every waiter it wakes.
const wokenAnswer: Encoder<string> = (b) => pollAnswerForMessage(b.room, b.epoch, b);

/**
 * A held long-poll request: a room member with no name (not counted as online) that answers
 * with the first thing it is given and then leaves.
 */
class PollWaiter implements RoomMember {
  answer: string | undefined;
  /** Set when a moderator kicked this user: the poll answers 403 `kicked`. */
  refused: ChatError | undefined;

  constructor(readonly identity: { readonly name: string; readonly uid?: string }) {}

  private settle: ((answer: string | undefined) => void) | undefined;
  readonly settled = new Promise<string | undefined>((resolve) => (this.settle = resolve));

  deliverHistory(slice: HistorySlice): void {
    if (slice.messages.length > 0 || slice.gap) this.finish(pollAnswer(slice));
  }

  deliverMessage(broadcast: Broadcast): void {
    this.finish(broadcast.encode(wokenAnswer));
  }

  deliverPresence(): void {}

  kick(): void {
    this.refused = new ChatError('kicked', 'A moderator removed you from this room.');
    this.finish(undefined);
  }

  finish(answer: string | undefined): void {
    if (!this.settle) return;
    this.answer = answer;
    this.settle(answer);
    this.settle = undefined;
  }
}

/** Deadlines are kept to this granularity: a poll answers at most this late. */
const BUCKET_MS = 250;

/**
 * Deadlines of held requests in 250 ms buckets, swept by one timer for the whole process:
 * no timer per request, and each tick touches only the requests that are due.
 */
export class WaitList {
  private readonly buckets = new Map<number, Set<PollWaiter>>();
  private readonly timeouts = new Map<PollWaiter, () => void>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly now: () => number = Date.now) {
    this.timer = setInterval(() => this.sweep(), BUCKET_MS);
    this.timer.unref();
  }

  add(waiter: PollWaiter, timeoutSec: number, onTimeout: () => void): () => void {
    const slot = Math.ceil((this.now() + timeoutSec * 1000) / BUCKET_MS);
    let bucket = this.buckets.get(slot);
    if (!bucket) this.buckets.set(slot, (bucket = new Set()));
    bucket.add(waiter);
    this.timeouts.set(waiter, onTimeout);
    return () => {
      bucket.delete(waiter);
      this.timeouts.delete(waiter);
      if (bucket.size === 0 && this.buckets.get(slot) === bucket) this.buckets.delete(slot);
    };
  }

  /** Requests currently held (for tests and metrics). */
  get size(): number {
    return this.timeouts.size;
  }

  close(): void {
    clearInterval(this.timer);
    for (const onTimeout of [...this.timeouts.values()]) onTimeout();
  }

  private sweep(): void {
    const nowSlot = this.now() / BUCKET_MS;
    for (const [slot, bucket] of this.buckets) {
      if (slot > nowSlot) continue;
      this.buckets.delete(slot);
      for (const waiter of bucket) this.timeouts.get(waiter)?.();
    }
  }
}

/**
 * Long polling (`GET /api/rooms/:room/poll?since&epoch&timeout`): answers as soon as a message
 * after `since` exists, else after `timeout` seconds with no messages. Waiters wake on the
 * room's published messages; a request that goes away is dropped at once.
 */
export function mountLongPoll({ http }: TransportRoutes, context: TransportContext): MountedTransport {
  const { hub, history, metrics, admission, limits } = context;
  const waitList = new WaitList();
  http.get('/api/rooms/:room/poll', async (ctx) => {
    const room = roomParam(ctx);
    const visitor = await admission.admit(ctx, room, single(ctx.query.name));
    const cursor = cursorQuery(ctx);
    const timeoutSec = intQuery(ctx, 'timeout', 0, MAX_POLL_TIMEOUT_SEC) ?? DEFAULT_POLL_TIMEOUT_SEC;
    ctx.set('Cache-Control', 'no-store');
    ctx.type = 'json';
    if (cursor.since === undefined || timeoutSec === 0) {
      ctx.body = pollAnswer(await history.since(room, cursor));
      return;
    }
    // A poll is held no longer than its token is valid: at expiry it answers (as at its timeout)
    // and the next poll is refused with 401, as a WebSocket is closed with 4001 then.
    const secondsLeft = visitor.expiresAt === undefined ? Infinity : Math.max(0, (visitor.expiresAt - Date.now()) / 1000);
    const holdSec = Math.min(timeoutSec, secondsLeft);
    const waiter = new PollWaiter(visitor);
    let empty: HistorySlice | undefined;
    let release = (): void => {};
    const gone = () => waiter.finish(undefined);
    ctx.res.once('close', gone);
    try {
      empty = await hub.join(room, waiter, cursor);
      if (waiter.answer === undefined && !ctx.res.destroyed) {
        // Only a held poll is a connection the caps count.
        const uncount = limits.acquire(ctx.ip);
        const unwait = waitList.add(waiter, holdSec, () => waiter.finish(pollAnswer(empty!)));
        release = () => {
          unwait();
          uncount();
        };
        metrics.connectionOpened('longpoll');
        await waiter.settled;
        metrics.connectionClosed('longpoll');
      }
    } finally {
      release();
      ctx.res.off('close', gone);
      hub.leave(room, waiter);
    }
    if (waiter.refused) throw waiter.refused;
    if (waiter.answer === undefined) {
      respondToNobody(ctx);
      return;
    }
    ctx.body = waiter.answer;
  });
  return {
    get size() {
      return waitList.size;
    },
    close: async () => waitList.close(),
  };
}

function respondToNobody(ctx: ParameterizedContext): void {
  // The client went away; Koa must not try to write a response to a closed socket.
  ctx.respond = false;
}
