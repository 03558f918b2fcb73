import jwt from 'jsonwebtoken';
import type { AuthConfig } from '../../server/auth/auth-config';
import { ROOM_PATTERN_SYNTAX } from '../../server/auth/rights';

export interface TokenOptions {
  name?: string;
  rooms?: string[];
  read?: string[];
  mod?: string[];
  /** Seconds until it expires (default one hour). */
  ttl?: number;
}

/**
 * `token SUB`: a development token signed with `AUTH_SECRET`, carrying the claims of PROTOCOL.md
 * v2 (and `iss` / `aud` when the server checks them). A deployment's own backend mints tokens
 * the same way with its own JWT library.
 */
export function mintToken(auth: AuthConfig, sub: string, options: TokenOptions): string {
  if (auth.key?.algorithm !== 'HS256') {
    throw new Error(
      auth.key
        ? 'AUTH_PUBLIC_KEY is set: tokens are signed by your backend with its private key, not by this script.'
        : 'AUTH_SECRET is not set: give the server a secret of at least 32 bytes first.',
    );
  }
  if (sub.length < 1 || sub.length > 64) throw new Error('SUB must be 1 to 64 characters.');
  for (const pattern of [...(options.rooms ?? []), ...(options.read ?? []), ...(options.mod ?? [])]) {
    if (!ROOM_PATTERN_SYNTAX.test(pattern)) {
      throw new Error(`${JSON.stringify(pattern)} is not a room pattern (a room name, a prefix followed by *, or * alone).`);
    }
  }
  const claims = {
    ...(options.name !== undefined && { name: options.name }),
    ...(options.rooms && { rooms: options.rooms }),
    ...(options.read && { read: options.read }),
    ...(options.mod && { mod: options.mod }),
  };
  return jwt.sign(claims, auth.key.secret, {
    algorithm: 'HS256',
    subject: sub,
    expiresIn: options.ttl ?? 3600,
    ...(auth.issuer && { issuer: auth.issuer }),
    ...(auth.audience && { audience: auth.audience }),
  });
}
