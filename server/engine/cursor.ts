import type { Cursor, HistorySlice, StoredMessage } from '../protocol/types';

/**
 * How a cursor meets a room's history (PROTOCOL.md "The cursor" and v2 "The cursor, amended"),
 * in one place for every engine: the memory engine picks the messages with `wantedCount`, the
 * Redis engine's READ_SINCE script spells the same rule in Lua (scripts.ts: change both together),
 * and both read the answer with `sliceFor`.
 */

/** What a read of one room found. */
export interface RoomRead {
  /** The room's epoch; '' for a room that has never stored a message (or whose keys expired). */
  readonly epoch: string;
  /** The room's counter: its newest id, 0 for an empty room. */
  readonly last: number;
  /** How many messages the room retains. */
  readonly length: number;
  /** The newest messages the cursor needs (`wantedCount` of them), oldest first. */
  readonly messages: StoredMessage[];
}

/**
 * True when a cursor's epoch says the history was reset: it names an epoch, and not the room's.
 * An empty epoch is "none known yet" (a client that watched an empty room): trusted as it is,
 * like a cursor without one. A real epoch against an empty room (epoch '') is a reset.
 */
function epochChanged(cursor: Cursor, epoch: string): boolean {
  return cursor.epoch !== undefined && cursor.epoch !== '' && cursor.epoch !== epoch;
}

/** How many of the newest retained messages a cursor needs: all of them without a usable cursor. */
export function wantedCount(cursor: Cursor, read: Omit<RoomRead, 'messages'>): number {
  if (cursor.since === undefined || epochChanged(cursor, read.epoch)) return read.length;
  return Math.max(0, Math.min(read.length, read.last - cursor.since));
}

/**
 * The slice a cursor gets from what a read found. Without `since` (a first join): the retained
 * history and never a gap. From another epoch: the whole retained history, a gap, `missed`
 * unknown. Older than the retained window: a gap, with `missed`.
 */
export function sliceFor(room: string, cursor: Cursor, read: RoomRead): HistorySlice {
  const { epoch, last, length, messages } = read;
  const base = { room, epoch, last, messages };
  if (cursor.since === undefined) return { ...base, gap: false, missed: null };
  if (epochChanged(cursor, epoch)) return { ...base, gap: true, missed: null };
  // Ids are contiguous, so the oldest retained id is last - length + 1.
  const oldestRetained = last - length + 1;
  const missed = oldestRetained - 1 - cursor.since;
  if (missed > 0 && cursor.since < last) return { ...base, gap: true, missed };
  return { ...base, gap: false, missed: null };
}
