import type { IncomingHttpHeaders } from 'node:http';
import { parse as parseCookies } from 'cookie';

/** The parts of a request where a token may travel: a Koa context or a WebSocket handler's request. */
export interface CredentialSource {
  readonly headers: IncomingHttpHeaders;
  readonly query: Readonly<Record<string, string | string[] | undefined>>;
}

/** Where a token was found, in the order the server looks. */
export type TokenCarrier = 'authorization' | 'subprotocol' | 'cookie' | 'query';

/** The name of the cookie a page's own backend sets. */
export const TOKEN_COOKIE = 'chat_token';
/** The WebSocket subprotocol prefix that carries a token beside `chat`. */
export const BEARER_PROTOCOL_PREFIX = 'bearer.';

/**
 * The one place a token is read from a request, first found wins (PROTOCOL.md v2): the
 * `Authorization: Bearer` header, the `bearer.TOKEN` WebSocket subprotocol, the `chat_token`
 * cookie, then the `token` query parameter, which is the last resort because URLs end up in
 * proxy logs and browser history.
 */
export function findToken(request: CredentialSource): { token: string; carrier: TokenCarrier } | undefined {
  const bearer = bearerOf(request.headers.authorization);
  if (bearer) return { token: bearer, carrier: 'authorization' };
  const protocols = request.headers['sec-websocket-protocol'];
  if (protocols) {
    for (const offered of protocols.split(',')) {
      const protocol = offered.trim();
      if (protocol.startsWith(BEARER_PROTOCOL_PREFIX) && protocol.length > BEARER_PROTOCOL_PREFIX.length) {
        return { token: protocol.slice(BEARER_PROTOCOL_PREFIX.length), carrier: 'subprotocol' };
      }
    }
  }
  if (request.headers.cookie) {
    const cookie = parseCookies(request.headers.cookie)[TOKEN_COOKIE];
    if (cookie) return { token: cookie, carrier: 'cookie' };
  }
  const query = request.query.token;
  const token = Array.isArray(query) ? query[0] : query;
  if (token) return { token, carrier: 'query' };
  return undefined;
}

/** The credential of an `Authorization: Bearer X` header, or undefined. */
export function bearerOf(header: string | undefined): string | undefined {
  const m = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m ? m[1] : undefined;
}
