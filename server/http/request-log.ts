import type Koa from 'koa';
import type { Logger } from '../logger';

/** Query parameters whose values never reach a log (by their decoded names, as Koa reads them). */
const SECRET_PARAMS = new Set(['token', 'api_key', 'key']);

/**
 * A request's URL as it may be logged: a `token` in the query becomes `[redacted]`, however its
 * name is spelled (`%74oken` is `token` to the query parser, so it is to this too).
 */
export function loggableUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const params = new URLSearchParams(url.slice(q + 1));
  if (![...params.keys()].some((key) => SECRET_PARAMS.has(key.toLowerCase()))) return url;
  const shown = [...params].map(
    ([key, value]) => `${encodeURIComponent(key)}=${SECRET_PARAMS.has(key.toLowerCase()) ? '[redacted]' : encodeURIComponent(value)}`,
  );
  return `${url.slice(0, q)}?${shown.join('&')}`;
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
