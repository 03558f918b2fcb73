import type { IncomingMessage } from 'node:http';
import { ChatError } from '../errors';
import type { ConnectionLimits } from '../http/connection-limits';
import { isAllowedOrigin, isLoopbackHost, type OriginPolicy } from '../http/origin';
import { errorBody } from '../protocol/wire';

/** What the HTTP transports read off Koa's context, for a request Koa has not seen yet. */
export interface RequestFacts {
  /** `ctx.ip`: the client's address, TRUST_PROXY hops from the right of X-Forwarded-For. */
  readonly ip: string;
  /** `ctx.host`: X-Forwarded-Host behind a trusted proxy, else Host. */
  readonly host: string;
}

export interface HandshakeOptions {
  readonly origins: OriginPolicy;
  readonly limits: ConnectionLimits;
  /** Koa's reading of the request (`app.createContext`), so a WebSocket is counted and checked as every other transport is. */
  readonly factsOf: (req: IncomingMessage) => RequestFacts;
  /** Refuse a `Host` that is not a loopback name (a loopback server without PUBLIC_URL). */
  readonly loopbackHostsOnly: boolean;
}

/** The paths that take a WebSocket: `/ws/:room`. */
const WEBSOCKET_PATH = /^\/ws\/[^/]+\/?$/;

type Verify = (info: { req: IncomingMessage; origin: string }, done: (ok: boolean, code?: number, body?: string, headers?: Record<string, string>) => void) => void;

/**
 * ws's `verifyClient`: an upgrade that will not be served is refused in the handshake with an
 * HTTP status and the JSON error body (RFC 6455 §4.2.2), not accepted and then closed — an
 * unknown path 404, a refused Origin or Host 403, a connection cap 429 / 503. A WebSocket that
 * passes is counted against the caps until its socket closes, however the upgrade ends.
 * Errors a browser must be able to read (room, name, cursor, identity) come after the upgrade.
 */
export function verifyHandshake(options: HandshakeOptions): Verify {
  return ({ req }, done) => {
    const refuse = (err: ChatError) =>
      done(false, err.status, errorBody(err.code, err.message), { 'Content-Type': 'application/json; charset=utf-8' });
    const path = (req.url ?? '/').split('?')[0]!;
    if (!WEBSOCKET_PATH.test(path)) {
      return refuse(new ChatError('not_found', `No WebSocket endpoint at ${path.slice(0, 80)}: use /ws/ROOM.`));
    }
    const { ip, host } = options.factsOf(req);
    // The loopback guard reads the Host header itself, as responseGuards does for HTTP.
    if (options.loopbackHostsOnly && !isLoopbackHost(req.headers.host)) {
      return refuse(new ChatError('forbidden', 'This server answers only to its loopback names; set PUBLIC_URL to serve another.'));
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !isAllowedOrigin(origin, options.origins, host)) {
      return refuse(new ChatError('forbidden', `WebSockets from the origin ${origin.slice(0, 100)} are not allowed.`));
    }
    try {
      const release = options.limits.acquire(ip);
      req.socket.once('close', release);
    } catch (err) {
      return refuse(err as ChatError);
    }
    done(true);
  };
}
