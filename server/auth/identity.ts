import type { RoomGrants } from './rights';

/**
 * Who is asking. A token holder is a `user` (their backend vouched for them); a request with one
 * of `API_KEYS` is the app's `backend` itself (it posts as any user and moderates every room);
 * anyone else is `anonymous`, with the name they chose.
 */
export type Identity =
  | {
      readonly kind: 'user';
      /** The token's `sub`: stored with each message as `uid`. */
      readonly uid: string;
      /** The token's `name`, or `sub`. */
      readonly name: string;
      readonly grants: RoomGrants;
      /** When the token stops being valid (ms since the epoch), if it says. */
      readonly expiresAt?: number;
    }
  | { readonly kind: 'backend' }
  | { readonly kind: 'anonymous' };

export const ANONYMOUS: Identity = Object.freeze({ kind: 'anonymous' });
export const BACKEND: Identity = Object.freeze({ kind: 'backend' });
