import type Koa from 'koa';
import { bearerOf } from '../auth/credentials';
import { ChatError } from '../errors';
import { isAllowedOrigin, type OriginPolicy } from './origin';

/**
 * Refuses state-changing requests a page on another site could make a browser send (PROTOCOL.md
 * v2): a POST or DELETE carrying a cookie token, or none, must be JSON (a plain HTML form
 * cannot send that content type without a CORS preflight) and, when it names an `Origin`, come
 * from an allowed one. Requests with `Authorization: Bearer` or `X-API-Key` are outside the
 * rule: no browser adds those headers by itself, and a page that sets them triggers a CORS
 * preflight the server never grants.
 */
export function crossSiteGuard(policy: OriginPolicy): Koa.Middleware {
  return async (ctx, next) => {
    const byBackendOrBearer = bearerOf(ctx.get('authorization') || undefined) !== undefined || ctx.get('x-api-key') !== '';
    if ((ctx.method === 'POST' || ctx.method === 'DELETE') && !byBackendOrBearer) {
      // The header itself, not the body's type: a DELETE has no body.
      if (!/^application\/json\s*(;|$)/i.test(ctx.get('content-type'))) {
        throw new ChatError('forbidden', 'Send this request with Content-Type: application/json.');
      }
      const origin = ctx.get('origin');
      if (origin !== '' && !isAllowedOrigin(origin, policy, ctx.host)) {
        throw new ChatError('forbidden', `Requests from the origin ${origin} are not allowed.`);
      }
    }
    await next();
  };
}
