import type Koa from 'koa';
import type { Logger } from '../logger';

/** Query parameters whose values never reach a log. */
const SECRET_PARAMS = /([?&](?:token|api_key|key)=)[^&#]*/gi;

/** A request's URL as it may be logged: a `token` in the query becomes `[redacted]`. */
export function loggableUrl(url: string): string {
  return url.replace(SECRET_PARAMS, '$1[redacted]');
}

/**
 * Logs every request at debug level: method, URL without secrets, status and time. Headers are
 * never logged (Authorization, cookies and WebSocket subprotocols carry tokens).
 */
export function requestLog(logger: Logger): Koa.Middleware {
  const log = logger.child({ module: 'chat:http' });
  return async (ctx, next) => {
    const started = Date.now();
    try {
      await next();
    } finally {
      if (log.isLevelEnabled('debug')) {
        log.debug({ method: ctx.method, url: loggableUrl(ctx.url), status: ctx.status, ms: Date.now() - started }, 'request');
      }
    }
  };
}
