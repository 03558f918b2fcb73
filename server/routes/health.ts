import { timingSafeEqual } from 'node:crypto';
import Router from '@koa/router';
import { bearerOf } from '../auth/credentials';
import type { Engine } from '../engine/engine';
import { ChatError } from '../errors';
import type { Metrics } from '../metrics';

/**
 * `GET /healthz` (200 when the engine answers, else 503) and `GET /metrics` (Prometheus text):
 * with `metricsToken`, only for `Authorization: Bearer METRICS_TOKEN`; without, only for clients
 * on loopback (metrics tell an attacker how loaded the server is and what it runs).
 */
export function healthRoutes(engine: Engine, metrics: Metrics, metricsToken = ''): Router {
  const router = new Router();
  router.get('/healthz', async (ctx) => {
    const up = await engine.healthy();
    ctx.status = up ? 200 : 503;
    ctx.body = { status: up ? 'ok' : 'unavailable', [engine.name]: up ? 'up' : 'down' };
  });
  router.get('/metrics', async (ctx) => {
    if (metricsToken !== '') {
      const offered = Buffer.from(bearerOf(ctx.get('authorization') || undefined) ?? '');
      const expected = Buffer.from(metricsToken);
      if (offered.length !== expected.length || !timingSafeEqual(offered, expected)) {
        throw new ChatError('unauthorized', 'The metrics need Authorization: Bearer METRICS_TOKEN.');
      }
    } else if (!isLoopbackAddress(ctx.ip)) {
      throw new ChatError('forbidden', 'The metrics answer only clients on this machine; set METRICS_TOKEN to read them from elsewhere.');
    }
    ctx.type = metrics.registry.contentType;
    ctx.body = await metrics.registry.metrics();
  });
  return router;
}

function isLoopbackAddress(ip: string): boolean {
  return /^(?:127\.|::1$|::ffff:127\.)/.test(ip);
}
