import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Router from '@koa/router';
import type { ParameterizedContext } from 'koa';
import nunjucks from 'nunjucks';
import { ChatError } from '../errors';
import type { Access, Entry } from '../auth/access';
import type { HistoryStore, PresenceStore } from '../engine/engine';
import { validateRoom, validateUser } from '../protocol/validate';
import { single } from '../http/request-input';

/** Found from the sources (server/routes, run by tsx) and from the build (dist/server/routes). */
const WEB_DIR =
  [join(__dirname, '..', '..', 'web'), join(__dirname, '..', '..', '..', 'web')].find((dir) =>
    existsSync(join(dir, 'templates')),
  ) ?? join(__dirname, '..', '..', 'web');
const TRANSPORTS = new Set(['ws', 'sse', 'longpoll', 'poll']);
const LOBBY_ROOMS = 50;

export interface PageOptions {
  readonly history: HistoryStore;
  readonly presence: PresenceStore;
  readonly access: Access;
  readonly maxMessageLength: number;
}

/** The lobby (`/`), the room page (`/rooms/:room`) and the page assets, rendered by nunjucks. */
export function pageRoutes(options: PageOptions): Router {
  const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(join(WEB_DIR, 'templates')), {
    autoescape: true,
    throwOnUndefined: false,
  });
  const render = (ctx: ParameterizedContext, template: string, context: object, status = 200) => {
    ctx.status = status;
    ctx.type = 'html';
    ctx.set('Content-Security-Policy', contentSecurityPolicy());
    ctx.set('Cache-Control', 'no-store');
    ctx.body = env.render(template, context);
  };
  const router = new Router();

  const lobby = async (ctx: ParameterizedContext, error?: string, status = 200) => {
    let rooms: Array<{ room: string; online: number }> = [];
    // Only rooms the visitor may read: a room's name can say more than its owners want told.
    let identity;
    try {
      identity = options.access.identify(ctx);
    } catch (err) {
      if (!(err instanceof ChatError)) throw err;
      return render(ctx, 'lobby.njk', { rooms, error: error ?? err.message }, status === 200 ? err.status : status);
    }
    try {
      const recent = (await options.history.rooms(LOBBY_ROOMS))
        .map((r) => r.room)
        .filter((room) => options.access.rightsIn(identity, room).read);
      const online = await options.presence.online(recent);
      rooms = recent.map((room) => ({ room, online: online.get(room) ?? 0 }));
    } catch (err) {
      if (!(err instanceof ChatError)) throw err;
      error ??= 'The room list is unavailable right now; you can still open a room.';
      status = 503;
    }
    render(ctx, 'lobby.njk', { rooms, error }, status);
  };

  router.get('/', (ctx) => lobby(ctx));

  // The lobby's form cannot put the room in the path without script: this does.
  router.get('/rooms', async (ctx) => {
    const room = single(ctx.query.room)?.trim() ?? '';
    try {
      validateRoom(room);
    } catch (err) {
      return lobby(ctx, (err as Error).message, 400);
    }
    const name = single(ctx.query.name)?.trim();
    ctx.redirect(`/rooms/${encodeURIComponent(room)}${name ? `?name=${encodeURIComponent(name)}` : ''}`);
  });

  router.get('/rooms/:room', async (ctx) => {
    let room: string;
    try {
      room = validateRoom(ctx.params.room);
    } catch (err) {
      return lobby(ctx, (err as Error).message, 400);
    }
    const transport = single(ctx.query.transport) ?? '';
    if (transport !== '' && !TRANSPORTS.has(transport)) {
      return lobby(ctx, 'transport must be ws, sse, longpoll or poll.', 400);
    }
    let entry: Entry;
    try {
      entry = options.access.enter(ctx, room);
    } catch (err) {
      if (!(err instanceof ChatError)) throw err;
      // Said plainly, and the page's script is not loaded: it would only be refused again.
      return render(ctx, 'room.njk', { room, refusal: err.message, maxLength: options.maxMessageLength }, err.status);
    }
    let name = '';
    const rawName = single(ctx.query.name);
    if (entry.identity.kind === 'user') {
      name = entry.identity.name;
    } else if (rawName !== undefined && rawName.trim() !== '') {
      try {
        name = validateUser(rawName);
      } catch (err) {
        return lobby(ctx, (err as Error).message, 400);
      }
    }
    render(ctx, 'room.njk', {
      room,
      name,
      nameFromToken: entry.identity.kind === 'user',
      readOnly: !entry.rights.write,
      moderator: entry.rights.mod,
      transport,
      maxLength: options.maxMessageLength,
    });
  });

  mountStatic(router);
  return router;
}

/**
 * Scripts and styles only from this origin; no inline script; requests and sockets only to this
 * origin. CSP 3's `'self'` covers `ws:` and `wss:` to the page's own host, so nothing of the
 * request (its `Host` header) is copied into the policy (PROTOCOL.md "Room lifecycle and limits").
 */
function contentSecurityPolicy(): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/**
 * The page assets by the name they are served under: their type and where they are. The room
 * page's script is built from web/src by esbuild (scripts/build-web.ts) into web/build.
 */
const ASSETS: Record<string, { type: string; path: string }> = {
  'chat.js': { type: 'application/javascript; charset=utf-8', path: join('build', 'chat.js') },
  'chat.js.map': { type: 'application/json; charset=utf-8', path: join('build', 'chat.js.map') },
  'lobby.js': { type: 'application/javascript; charset=utf-8', path: join('static', 'lobby.js') },
  'chat.css': { type: 'text/css; charset=utf-8', path: join('static', 'chat.css') },
  'favicon.svg': { type: 'image/svg+xml', path: join('static', 'favicon.svg') },
};

/**
 * Serves the page assets from memory, by name, so no path from a request ever reaches the disk.
 * A missing built asset stops the server at start with a sentence, rather than serving a page
 * without its script.
 */
function mountStatic(router: Router): void {
  const assets = new Map<string, Buffer>();
  for (const [name, { path }] of Object.entries(ASSETS)) {
    const file = join(WEB_DIR, path);
    if (!existsSync(file)) {
      throw new Error(
        `The page asset ${file} is missing: it is built from web/src by "npm run build" (npm start, npm run dev and the tests run it by themselves).`,
      );
    }
    assets.set(name, readFileSync(file));
  }
  router.get('/static/:file', (ctx) => {
    const file = ctx.params.file;
    const content = file === undefined ? undefined : assets.get(file);
    if (!content) throw new ChatError('not_found', `No asset named ${JSON.stringify(file)}.`);
    ctx.type = ASSETS[file!]!.type;
    ctx.set('Cache-Control', 'no-cache');
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.body = content;
  });
}
