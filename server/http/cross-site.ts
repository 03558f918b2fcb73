import type Koa from 'koa';
import { bearerOf } from '../auth/credentials';
import { ChatError } from '../errors';
import { isAllowedOrigin } from './origin';

/**
 * Refuses state-changing requests a page on another site could make a browser send (PROTOCOL.md
 * v2): a POST or DELETE carrying a cookie token, or none, must be JSON (a plain HTML form
 * cannot send that content type without a CORS preflight) and, when it names an `Origin`, come
 * from an allowed one. Requests with `Authorization: Bearer` are outside the rule: no browser
 * adds that header by itself.
 */
export function crossSiteGuard(allowedOrigins: readonly string[]): Koa.Middleware {
  return async (ctx, next) => {
    if ((ctx.method === 'POST' || ctx.method === 'DELETE') && bearerOf(ctx.get('authorization') || undefined) === undefined) {
      if (!ctx.is('application/json')) {
        throw new ChatError('forbidden', 'Send this request with Content-Type: application/json.');
      }
      const origin = ctx.get('origin');
      if (origin !== '' && !isAllowedOrigin(origin.replace(/\/+$/, ''), allowedOrigins, ctx.host)) {
        throw new ChatError('forbidden', `Requests from the origin ${origin} are not allowed.`);
      }
    }
    await next();
  };
}
