import type { IncomingMessage } from 'node:http';

/**
 * The client's address as Koa computes `ctx.ip` with `app.proxy` and `maxIpsCount` (TRUST_PROXY
 * hops): with N proxies in front, the Nth entry from the right of X-Forwarded-For, which the
 * client cannot choose; else the socket's address. For the WebSocket handshake, before Koa runs.
 */
export function clientAddress(req: IncomingMessage, trustProxyHops: number): string {
  const forwarded = req.headers['x-forwarded-for'];
  if (trustProxyHops > 0 && typeof forwarded === 'string' && forwarded.trim() !== '') {
    const hops = forwarded.split(/\s*,\s*/).filter(Boolean).slice(-trustProxyHops);
    if (hops[0]) return hops[0];
  }
  return req.socket.remoteAddress ?? '';
}
