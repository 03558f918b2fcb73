import type Router from '@koa/router';
import { ChatError } from '../errors';
import { pollAnswer } from '../protocol/wire';
import type { HistoryStore } from '../engine/redis/history-store';
import { validateCid, validateText, validateUser } from '../protocol/validate';
import type { KeyedRateLimiter } from '../chat/rate-limit';
import { cursorQuery, intQuery, readJsonObject, roomParam } from '../http/request-input';

export interface ShortPollOptions {
  readonly store: HistoryStore;
  readonly limiter: KeyedRateLimiter;
  readonly historyLimit: number;
  readonly maxMessageLength: number;
  readonly maxBodyBytes: number;
  readonly onStored?: () => void;
  readonly onRateLimited?: () => void;
}

const ALLOWED_BODY_FIELDS = new Set(['user', 'text', 'cid']);

/**
 * Short polling and plain history (`GET /api/rooms/:room/messages`) and sending over HTTP
 * (`POST /api/rooms/:room/messages`), on the same store functions as every other transport.
 */
export function mountShortPoll(router: Router, options: ShortPollOptions): void {
  router.get('/api/rooms/:room/messages', async (ctx) => {
    const room = roomParam(ctx);
    const cursor = cursorQuery(ctx);
    const limit = intQuery(ctx, 'limit', 1, options.historyLimit);
    const slice = await options.store.since(room, cursor);
    ctx.type = 'json';
    ctx.set('Cache-Control', 'no-store');
    ctx.body = pollAnswer(slice, limit);
  });

  router.post('/api/rooms/:room/messages', async (ctx) => {
    const room = roomParam(ctx);
    const body = await readJsonObject(ctx, options.maxBodyBytes);
    const unknown = Object.keys(body).filter((key) => !ALLOWED_BODY_FIELDS.has(key));
    if (unknown.length > 0) {
      throw new ChatError('bad_request', `Unknown field ${JSON.stringify(unknown[0])}: send only user, text and cid.`);
    }
    const draft = {
      user: validateUser(body.user),
      text: validateText(body.text, options.maxMessageLength),
      cid: validateCid(body.cid),
    };
    if (!options.limiter.take(ctx.ip)) {
      options.onRateLimited?.();
      throw new ChatError('rate_limited', 'You are sending too fast; wait a moment and resend.');
    }
    const { message, duplicate } = await options.store.append(room, draft);
    if (!duplicate) options.onStored?.();
    ctx.status = duplicate ? 200 : 201;
    ctx.type = 'json';
    ctx.body = `{"message":${message.json}}`;
  });
}
