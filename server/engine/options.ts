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
