import jwt from 'jsonwebtoken';
import { z } from 'zod';
import { ChatError } from '../errors';
import { spoofsNames, validateUser } from '../protocol/validate';
import type { AuthConfig } from './auth-config';
import type { Identity } from './identity';
import { ROOM_PATTERN_SYNTAX } from './rights';

// Normalized like room names, so a pattern written decomposed still matches its room.
const patterns = z.array(z.string().transform((p) => p.normalize('NFC')).pipe(z.string().regex(ROOM_PATTERN_SYNTAX))).max(256);

const claims = z.object({
  sub: z.string().min(1).max(64),
  name: z.string().optional(),
  rooms: patterns.optional(),
  read: patterns.optional(),
  mod: patterns.optional(),
  exp: z.number().optional(),
});

const refused = (why: string) => new ChatError('unauthorized', `The token was refused: ${why}.`);

/**
 * Verifies tokens with the one configured key and algorithm (jsonwebtoken, `algorithms` pinned on
 * every call, so `alg: none` and an HS256 token signed with the public key's text are refused),
 * then reads the claims. Every refusal is `ChatError('unauthorized')`: a token that cannot be
 * verified is never served as anonymous.
 *
 * @example
 * const identity = new TokenVerifier(config.auth).verify(token); // { kind: 'user', uid, name, grants }
 */
export class TokenVerifier {
  constructor(private readonly config: AuthConfig) {}

  verify(token: string): Identity {
    const key = this.config.key;
    if (!key) throw refused('this server has no key to verify tokens (set AUTH_SECRET or AUTH_PUBLIC_KEY)');
    let payload: string | jwt.JwtPayload;
    try {
      payload = jwt.verify(token, key.algorithm === 'HS256' ? key.secret : key.publicKey, {
        algorithms: [key.algorithm],
        ...(this.config.issuer && { issuer: this.config.issuer }),
        ...(this.config.audience && { audience: this.config.audience }),
      });
    } catch (err) {
      throw refused(reasonOf(err));
    }
    const parsed = claims.safeParse(payload);
    if (!parsed.success) {
      throw refused('its claims are malformed (sub is 1 to 64 characters; rooms, read and mod are lists of room patterns)');
    }
    const c = parsed.data;
    return {
      kind: 'user',
      uid: c.sub,
      name: c.name === undefined ? subAsName(c.sub) : nameClaim(c.name),
      grants: { rooms: c.rooms, read: c.read, mod: c.mod },
      ...(c.exp !== undefined && { expiresAt: c.exp * 1000 }),
    };
  }
}

/** The `name` claim, by the nickname rules (a token is no way around them). */
function nameClaim(name: string): string {
  if (name.trim() === '') throw refused('its name is blank');
  try {
    return validateUser(name);
  } catch (err) {
    throw refused(`its name is not a valid nickname (${(err as Error).message})`);
  }
}

/** Without a name, the sub is shown: it may be longer than a nickname (a UUID), but not blank or unprintable. */
function subAsName(sub: string): string {
  const shown = sub.trim();
  if (shown === '' || /[\p{Cc}\p{Cs}]/u.test(shown) || spoofsNames(sub)) {
    throw refused('its sub is blank or holds control, bidirectional or zero-width characters, and it has no name');
  }
  return shown.normalize('NFC');
}

function reasonOf(err: unknown): string {
  if (err instanceof jwt.TokenExpiredError) return 'it has expired';
  if (err instanceof jwt.NotBeforeError) return 'it is not valid yet';
  const message = err instanceof Error ? err.message : '';
  if (/audience/.test(message)) return 'its audience is not this server';
  if (/issuer/.test(message)) return 'its issuer is not the one this server trusts';
  if (/signature/.test(message) || /algorithm/.test(message)) return 'its signature or algorithm is not the one this server trusts';
  return 'it is not a valid token';
}
