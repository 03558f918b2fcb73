import Router from '@koa/router';
import type { Engine } from '../engine/engine';
import type { Metrics } from '../metrics';

/** `GET /healthz` (200 when the engine answers, else 503) and `GET /metrics` (Prometheus text). */
export function healthRoutes(engine: Engine, metrics: Metrics): Router {
  const router = new Router();
  router.get('/healthz', async (ctx) => {
    const up = await engine.healthy();
    ctx.status = up ? 200 : 503;
    ctx.body = { status: up ? 'ok' : 'unavailable', [engine.name]: up ? 'up' : 'down' };
  });
  router.get('/metrics', async (ctx) => {
    ctx.type = metrics.registry.contentType;
    ctx.body = await metrics.registry.metrics();
  });
  return router;
}
