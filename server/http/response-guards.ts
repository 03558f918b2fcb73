import type Koa from 'koa';
import { ChatError } from '../errors';
import { isLoopbackHost } from './origin';

/**
 * Headers every response carries, and the DNS-rebinding guard: a server bound to a loopback
 * address without PUBLIC_URL answers only requests that name it by a loopback name, so a page
 * on another site whose name was rebound to 127.0.0.1 cannot read or post through the victim's
 * browser (PROTOCOL.md v2 "Room lifecycle and limits").
 */
export function responseGuards(options: { loopbackHostsOnly: boolean }): Koa.Middleware {
  return async (ctx, next) => {
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Referrer-Policy', 'same-origin');
    if (options.loopbackHostsOnly && !isLoopbackHost(ctx.get('host'))) {
      throw new ChatError('forbidden', 'This server answers only to its loopback names; set PUBLIC_URL to serve another.');
    }
    await next();
  };
}
