/**
 * Room patterns and what they grant (PROTOCOL.md v2 "Identity and access"). A pattern is a room
 * name, a prefix followed by `*` (`team-*`), or `*` alone.
 */

/** What a user may do in one room. */
export interface RoomRights {
  readonly read: boolean;
  readonly write: boolean;
  readonly mod: boolean;
}

export const NO_RIGHTS: RoomRights = Object.freeze({ read: false, write: false, mod: false });
export const READ_ONLY: RoomRights = Object.freeze({ read: true, write: false, mod: false });
export const READ_WRITE: RoomRights = Object.freeze({ read: true, write: true, mod: false });
export const MODERATOR: RoomRights = Object.freeze({ read: true, write: true, mod: true });

/** A pattern as a token may carry it: a room name (letters, marks, digits, `_`, `-`), optionally ending in `*`. */
export const ROOM_PATTERN_SYNTAX = /^(?:\*|[\p{L}\p{M}\p{N}_-]{1,64}\*?)$/u;

/** True when `pattern` covers `room`. */
export function matches(pattern: string, room: string): boolean {
  if (pattern.endsWith('*')) return room.startsWith(pattern.slice(0, -1));
  return pattern === room;
}

/** The claims that grant rooms. */
export interface RoomGrants {
  /** Rooms to read and write; absent means every room. */
  readonly rooms?: readonly string[];
  /** Rooms to read only. */
  readonly read?: readonly string[];
  /** Rooms to moderate (read, write, delete, kick). */
  readonly mod?: readonly string[];
}

/**
 * What `grants` allow in `room`. The narrowest list that names the room decides, strongest
 * first: `mod` gives everything; `read` makes a room read-only even where `rooms` (or its
 * default, every room) would let the user write; `rooms` gives read and write.
 *
 * @example
 * rightsFor({ rooms: ['*'], read: ['announcements'] }, 'announcements'); // read only
 */
export function rightsFor(grants: RoomGrants, room: string): RoomRights {
  const any = (patterns: readonly string[] | undefined) => patterns?.some((p) => matches(p, room)) ?? false;
  if (any(grants.mod)) return MODERATOR;
  if (any(grants.read)) return READ_ONLY;
  if (grants.rooms === undefined || any(grants.rooms)) return READ_WRITE;
  return NO_RIGHTS;
}
