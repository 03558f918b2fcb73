import { sliceFor, wantedCount } from '../engine/cursor';
import type { Cursor, HistorySlice } from '../protocol/types';

/** A join this soon after a read of its room is taken as part of a storm of joins. */
const STORM_MS = 100;
/** How long a storm's batch gathers joins before its read. */
const BATCH_MS = 10;

interface Waiting {
  readonly cursor: Cursor;
  resolve(slice: HistorySlice): void;
  reject(err: unknown): void;
}

/**
 * One history read for many joins of a room (a deploy or a network blip brings every client
 * back at once). Joins that arrive while no read of their room is running wait for the end of
 * the current turn of the event loop (or, in a storm, a few milliseconds); joins that arrive
 * while one is running wait for it to finish; then one read of the whole retained history
 * serves them all, each joiner getting its
 * own slice by its own cursor (ids are contiguous, so a slice is a filter). Every joiner of a
 * batch is seated in the room before the read starts, so nothing published meanwhile escapes it.
 */
export class JoinReads {
  /** Joins waiting for the next read, per room. */
  private readonly waiting = new Map<string, Waiting[]>();
  /** Rooms whose read is running. */
  private readonly running = new Set<string>();
  /** When each room's last read ended (rooms read in the last moments only). */
  private readonly lastRead = new Map<string, number>();

  constructor(
    /** Reads a room's history from a cursor: the engine's `since`. */
    private readonly since_: (room: string, cursor: Cursor) => Promise<HistorySlice>,
  ) {}

  /** The slice `cursor` gets of `room`, from a read shared with the joins that come with it. */
  since(room: string, cursor: Cursor): Promise<HistorySlice> {
    return new Promise((resolve, reject) => {
      let batch = this.waiting.get(room);
      if (!batch) {
        this.waiting.set(room, (batch = []));
        if (!this.running.has(room)) this.schedule(room);
      }
      batch.push({ cursor, resolve, reject });
    });
  }

  /**
   * A lone join is read at the end of this turn. A join that follows a read of its room within
   * STORM_MS is part of a storm: its batch gathers for BATCH_MS first, so a thousand joins
   * spread over a second take a few dozen reads instead of hundreds.
   */
  private schedule(room: string): void {
    const ended = this.lastRead.get(room);
    if (ended !== undefined && Date.now() - ended < STORM_MS) setTimeout(() => this.read(room), BATCH_MS);
    else setImmediate(() => this.read(room));
  }

  private read(room: string): void {
    const batch = this.waiting.get(room);
    if (!batch) return;
    this.waiting.delete(room);
    this.running.add(room);
    // A lone join (a long poll, one reconnect) reads only what its cursor needs; a batch reads
    // the whole retained history once and slices it for each.
    const lone = batch.length === 1 ? batch[0]!.cursor : undefined;
    this.since_(room, lone ?? {}).then(
      (answer) => {
        for (const joiner of batch) joiner.resolve(lone ? answer : sliceOf(answer, joiner.cursor));
      },
      (err: unknown) => {
        for (const joiner of batch) joiner.reject(err);
      },
    ).finally(() => {
      this.running.delete(room);
      this.lastRead.set(room, Date.now());
      // Forget rooms read long ago, so the map holds the rooms of the last moments only.
      if (this.lastRead.size > 1024) {
        for (const [name, at] of this.lastRead) if (Date.now() - at > STORM_MS) this.lastRead.delete(name);
      }
      // Joins that came during the read: the next batch.
      if (this.waiting.has(room)) this.schedule(room);
    });
  }
}

/** A joiner's slice from the room's whole retained history, by the engines' own cursor rules. */
function sliceOf(all: HistorySlice, cursor: Cursor): HistorySlice {
  const read = { epoch: all.epoch, last: all.last, length: all.messages.length };
  const wanted = wantedCount(cursor, read);
  return sliceFor(all.room, cursor, { ...read, messages: wanted === 0 ? [] : all.messages.slice(-wanted) });
}
