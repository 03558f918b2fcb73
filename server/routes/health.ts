import Router from '@koa/router';
import type Redis from 'ioredis';
import type { Metrics } from '../metrics';

/** `GET /healthz` (200 when Redis answers, else 503) and `GET /metrics` (Prometheus text). */
export function healthRoutes(redis: Redis, metrics: Metrics): Router {
  const router = new Router();
  router.get('/healthz', async (ctx) => {
    let redisUp = false;
    try {
      redisUp = (await redis.ping()) === 'PONG';
    } catch {
      redisUp = false;
    }
    ctx.status = redisUp ? 200 : 503;
    ctx.body = { status: redisUp ? 'ok' : 'unavailable', redis: redisUp ? 'up' : 'down' };
  });
  router.get('/metrics', async (ctx) => {
    ctx.type = metrics.registry.contentType;
    ctx.body = await metrics.registry.metrics();
  });
  return router;
}
