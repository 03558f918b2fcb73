/**
 * The checks every engine makes of its options, in one place: a bad value is a `TypeError`
 * thrown before anything connects or is stored.
 */

/** HISTORY_TTL in seconds: an integer of at least 0 (0 keeps rooms forever). */
export function checkedHistoryTtl(historyTtlSec: number): number {
  if (!Number.isInteger(historyTtlSec) || historyTtlSec < 0) {
    throw new TypeError('historyTtlSec must be an integer of at least 0 (0 keeps rooms forever)');
  }
  return historyTtlSec;
}

/** How many rooms `HistoryStore#rooms()` reads: a positive integer. */
export function checkedRoomsLimit(limit: number): number {
  if (!Number.isInteger(limit) || limit < 1) throw new TypeError('limit must be a positive integer');
  return limit;
}

/** How long a cid is remembered. */
const CID_TTL_SEC = 600;

/**
 * How long a cid is remembered under HISTORY_TTL: 10 minutes, or HISTORY_TTL when that is
 * shorter, so no key of a room outlives it (PROTOCOL.md "Redis layout"; the memory engine keeps the same rule). 0 is no HISTORY_TTL.
 */
export const cidTtlSec = (historyTtlSec: number): number => (historyTtlSec > 0 ? Math.min(CID_TTL_SEC, historyTtlSec) : CID_TTL_SEC);

/** How many rooms `HistoryStore#rooms()` reads when not told: what the lobby shows. */
export const ROOMS_LIMIT = 50;
