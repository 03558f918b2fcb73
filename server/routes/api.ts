import Router from '@koa/router';
import { visitorOf } from '../auth/access';
import type { Admission } from '../chat/admission';
import { assertModerator, type Moderation } from '../chat/moderation';
import type { PresenceStore } from '../engine/engine';
import { ChatError } from '../errors';
import { readJsonObject, roomParam, single } from '../http/request-input';
import { parseKickBody } from '../protocol/commands';

export interface ApiOptions {
  readonly admission: Admission;
  readonly moderation: Moderation;
  readonly presence: PresenceStore;
  readonly maxFrameBytes: number;
}

/**
 * The backend API and moderation over HTTP (PROTOCOL.md v2): delete a message, kick or ban a
 * user, who is online. The backend (an API key) and a token's moderators may delete and kick;
 * anyone who may read the room may ask who is online.
 */
export function apiRoutes(options: ApiOptions): Router {
  const { admission, moderation } = options;
  const router = new Router();

  router.delete('/api/rooms/:room/messages/:id', async (ctx) => {
    const room = roomParam(ctx);
    const id = messageId(ctx.params.id);
    const entry = admission.access.enter(ctx, room);
    assertModerator(entry);
    // The backend deletes as `system`; a moderator as who their token says.
    const by = entry.identity.kind === 'backend' ? 'system' : visitorOf(entry, single(ctx.query.name));
    const { event } = await moderation.delete(room, id, by);
    ctx.type = 'json';
    ctx.body = `{"event":${event.json}}`;
  });

  router.post('/api/rooms/:room/kick', async (ctx) => {
    const room = roomParam(ctx);
    const entry = admission.access.enter(ctx, room);
    assertModerator(entry);
    const by = entry.identity.kind === 'backend' ? 'system' : visitorOf(entry, single(ctx.query.name));
    const order = parseKickBody(await readJsonObject(ctx, options.maxFrameBytes));
    ctx.body = await moderation.kick(room, order, by);
  });

  router.get('/api/rooms/:room/presence', async (ctx) => {
    const room = roomParam(ctx);
    await admission.admit(ctx, room, single(ctx.query.name));
    const users = await options.presence.members(room);
    const online = (await options.presence.online([room])).get(room) ?? 0;
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { room, online, users };
  });

  return router;
}

function messageId(raw: string | undefined): number {
  if (raw === undefined || !/^\d{1,15}$/.test(raw) || Number(raw) < 1) {
    throw new ChatError('bad_request', 'A message id is a positive integer.');
  }
  return Number(raw);
}
