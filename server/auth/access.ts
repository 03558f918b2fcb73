import { ChatError } from '../errors';
import type { Me } from '../protocol/types';
import { validateUser } from '../protocol/validate';
import { ApiKeys } from './api-keys';
import type { AuthConfig } from './auth-config';
import { findToken, type CredentialSource } from './credentials';
import { ANONYMOUS, BACKEND, type Identity } from './identity';
import { MODERATOR, NO_RIGHTS, READ_ONLY, READ_WRITE, rightsFor, type RoomRights } from './rights';
import { TokenVerifier } from './token';

/** Someone admitted to a room: who they are there and what they may do. */
export interface Visitor {
  /** The name messages are stored under: the token's, or the one an anonymous visitor chose. */
  readonly name: string;
  /** The token's `sub`; undefined for anonymous visitors. */
  readonly uid?: string;
  readonly rights: RoomRights;
  /** When the visitor's token expires (ms since the epoch), if it does. */
  readonly expiresAt?: number;
  /** The app's backend (an API key): posts as anyone, outside the rate limit. */
  readonly backend?: true;
}

/**
 * The one place that decides who a request is and what they may do in a room. Every transport,
 * the send pipeline and the pages go through it; it is asked when a connection opens and when
 * a message is sent, never per delivery.
 *
 * @example
 * const visitor = access.admit(ctx, 'lobby', ctx.query.name); // throws 401 / 403 / 400
 */
export class Access {
  private readonly verifier: TokenVerifier;
  private readonly apiKeys: ApiKeys;

  constructor(private readonly config: AuthConfig) {
    this.verifier = new TokenVerifier(config);
    this.apiKeys = new ApiKeys(config.apiKeys);
  }

  /** True when tokens can be verified (a key is configured). */
  get tokensEnabled(): boolean {
    return this.config.key !== null;
  }

  /**
   * Who the request is. An `X-API-Key`, or a Bearer credential that is one of `API_KEYS`, is the
   * backend (a wrong `X-API-Key` is 401). A token found anywhere is verified (and refused 401
   * when it cannot be, never treated as anonymous); no token is anonymous, unless `ANONYMOUS=none`.
   */
  identify(request: CredentialSource): Identity {
    const apiKey = request.headers['x-api-key'];
    if (apiKey !== undefined) {
      if (typeof apiKey === 'string' && this.apiKeys.matches(apiKey)) return BACKEND;
      throw new ChatError('unauthorized', 'The X-API-Key is not one of this server’s API_KEYS.');
    }
    const found = findToken(request);
    if (found?.carrier === 'authorization' && this.apiKeys.configured && this.apiKeys.matches(found.token)) return BACKEND;
    if (found) return this.verifier.verify(found.token);
    if (this.config.anonymous === 'none') {
      throw new ChatError('unauthorized', 'Sign-in required: this server only serves users with a token from their app.');
    }
    return ANONYMOUS;
  }

  /** What `identity` may do in `room`. */
  rightsIn(identity: Identity, room: string): RoomRights {
    if (identity.kind === 'backend') return MODERATOR;
    if (identity.kind === 'user') return rightsFor(identity.grants, room);
    if (this.config.anonymous === 'write') return READ_WRITE;
    if (this.config.anonymous === 'read') return READ_ONLY;
    return NO_RIGHTS;
  }

  /** Who the request is and what they may do in `room`: 401 when it cannot say who, 403 when they may not read it. */
  enter(request: CredentialSource, room: string): Entry {
    const identity = this.identify(request);
    const rights = this.rightsIn(identity, room);
    if (!rights.read) throw new ChatError('forbidden', `You may not enter the room ${JSON.stringify(room)}.`);
    return { identity, rights };
  }

  /**
   * Admits a request to `room` (`enter`), and settles its name: a token's, else `clientName` by
   * the nickname rules (400).
   */
  admit(request: CredentialSource, room: string, clientName: unknown): Visitor {
    return visitorOf(this.enter(request, room), clientName);
  }
}

/** A request let into a room, before its name is settled. */
export interface Entry {
  readonly identity: Identity;
  readonly rights: RoomRights;
}

/**
 * The visitor an entry is: named by its token; else by `clientName` (nickname rules, 400); the
 * backend names the user it posts as, which it must (`clientUid` too, optionally).
 */
export function visitorOf({ identity, rights }: Entry, clientName: unknown, clientUid?: unknown): Visitor {
  if (identity.kind === 'anonymous') return { name: validateUser(clientName), rights };
  if (identity.kind === 'backend') {
    if (typeof clientName !== 'string' || clientName.trim() === '') {
      throw new ChatError('bad_request', 'The backend posts as a user: give "user" (and "uid" if they have one).');
    }
    const uid = validateUid(clientUid);
    return { name: validateUser(clientName), ...(uid !== undefined && { uid }), rights, backend: true };
  }
  return {
    name: identity.name,
    uid: identity.uid,
    rights,
    ...(identity.expiresAt !== undefined && { expiresAt: identity.expiresAt }),
  };
}

/** A uid the backend names: 1 to 64 printable characters, like a token's `sub`. */
function validateUid(uid: unknown): string | undefined {
  if (uid === undefined || uid === null) return undefined;
  if (typeof uid !== 'string' || uid.length < 1 || uid.length > 64 || /[\p{Cc}\p{Cs}]/u.test(uid)) {
    throw new ChatError('bad_request', '"uid" is 1 to 64 printable characters.');
  }
  return uid;
}

/** Throws `unauthorized` when the visitor's token has expired (checked at every send). */
export function assertNotExpired(visitor: Visitor, now = Date.now()): void {
  if (visitor.expiresAt !== undefined && visitor.expiresAt <= now) {
    throw new ChatError('unauthorized', 'Your token has expired: reconnect with a new one.');
  }
}

/** The visitor as the `history` frame and SSE's `ready` tell it. */
export function meOf(visitor: Visitor): Me {
  const { name, uid, rights } = visitor;
  return uid === undefined ? { name, write: rights.write, mod: rights.mod } : { name, uid, write: rights.write, mod: rights.mod };
}
