import { visitorOf } from '../auth/access';
import { cursorQuery, intQuery, readJsonObject, roomParam, single } from '../http/request-input';
import { parseSendBody } from '../protocol/validate';
import { pollAnswer, sentAnswer } from '../protocol/wire';
import type { MountedTransport, TransportContext, TransportRoutes } from './index';

/**
 * Short polling and plain history (`GET /api/rooms/:room/messages`) and sending over HTTP
 * (`POST /api/rooms/:room/messages`), through the same send pipeline as every other transport.
 */
export function mountShortPoll({ http }: TransportRoutes, context: TransportContext): MountedTransport {
  const { history, sender, limiter, config, admission } = context;
  http.get('/api/rooms/:room/messages', async (ctx) => {
    const room = roomParam(ctx);
    await admission.admit(ctx, room, single(ctx.query.name));
    const cursor = cursorQuery(ctx);
    const limit = intQuery(ctx, 'limit', 1, config.historyLimit);
    const slice = await history.since(room, cursor);
    ctx.type = 'json';
    ctx.set('Cache-Control', 'no-store');
    ctx.body = pollAnswer(slice, limit);
  });

  http.post('/api/rooms/:room/messages', async (ctx) => {
    const room = roomParam(ctx);
    const entry = admission.access.enter(ctx, room);
    const backend = entry.identity.kind === 'backend';
    const fields = parseSendBody(await readJsonObject(ctx, config.maxFrameBytes), { backend });
    const visitor = visitorOf(entry, fields.user, fields.uid);
    // The backend may name its send with Idempotency-Key, the same dedupe as a cid.
    if (backend && fields.cid === undefined && ctx.get('idempotency-key')) fields.cid = ctx.get('idempotency-key');
    const { message, duplicate } = await sender.send(room, fields, visitor, limiter.allowance(ctx.ip));
    ctx.status = duplicate ? 200 : 201;
    ctx.type = 'json';
    ctx.body = sentAnswer(message);
  });
  // Nothing is held between requests.
  return { size: 0, close: async () => undefined };
}
