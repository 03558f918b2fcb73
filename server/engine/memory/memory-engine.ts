import { checkedHistoryTtl } from '../options';
import type { Engine } from '../engine';
import { MemoryBanList } from './ban-list';
import { MemoryHistoryStore } from './history-store';
import { MemoryPresenceStore } from './presence-store';
import { MemoryRoomBus } from './room-bus';
import { loadSnapshot, saveSnapshot } from './snapshot';

export interface MemoryEngineOptions {
  /** Messages kept per room (HISTORY_LIMIT), at least 1. */
  readonly historyLimit: number;
  /** Seconds after its last stored message that a room is forgotten (HISTORY_TTL); 0, the default, keeps rooms forever. */
  readonly historyTtlSec?: number;
  /**
   * The snapshot file: read at creation, written by `close()`. Without it nothing is read or
   * written. `npm start` passes `DEFAULT_SNAPSHOT_PATH` (`data/memory.json`).
   */
  readonly snapshotPath?: string;
  /** This process's name in the presence counts (default `memory`). */
  readonly processId?: string;
  /** The clock (ms since the epoch); tests inject one. */
  readonly now?: () => number;
  /** How often idle rooms, expired cids, ended bans and stale presence entries are dropped (default 60000). */
  readonly sweepIntervalMs?: number;
  /** Invoked when a bus listener throws (for logs); the other listeners still get the event. */
  readonly onError?: (err: unknown) => void;
}

/** The memory engine: everything in this one process, with the Redis engine's semantics. */
export interface MemoryEngine extends Engine {
  readonly name: 'memory';
  readonly history: MemoryHistoryStore;
  readonly presence: MemoryPresenceStore;
  readonly bus: MemoryRoomBus;
  readonly bans: MemoryBanList;
  /** Drops idle rooms, expired cids, ended bans and stale presence entries now (a timer does it too). */
  sweep(): void;
  /**
   * Stops the engine (every later call is `unavailable`) and, with a `snapshotPath`, writes the
   * snapshot; rejects with a sentence when it cannot be written. Calling it again returns the
   * same promise.
   */
  close(): Promise<void>;
}

/**
 * Creates the memory engine, reading its snapshot when `snapshotPath` is given. A missing
 * snapshot is an empty engine; one that cannot be read or used throws an `Error` with a
 * sentence (see `loadSnapshot`), and options out of range a `TypeError`.
 *
 * @example
 * const engine = createMemoryEngine({ historyLimit: 100, snapshotPath: DEFAULT_SNAPSHOT_PATH });
 */
export function createMemoryEngine(options: MemoryEngineOptions): MemoryEngine {
  const { historyLimit, historyTtlSec = 0, sweepIntervalMs = 60_000 } = options;
  if (!Number.isInteger(historyLimit) || historyLimit < 1) {
    throw new TypeError('historyLimit must be an integer of at least 1');
  }
  checkedHistoryTtl(historyTtlSec);
  if (!(sweepIntervalMs > 0)) throw new TypeError('sweepIntervalMs must be a positive number of milliseconds');
  const now = options.now ?? Date.now;
  const snapshotPath = options.snapshotPath;

  const snapshot = snapshotPath === undefined ? undefined : loadSnapshot(snapshotPath, historyLimit);
  const bus = new MemoryRoomBus(options.onError);
  const bans = new MemoryBanList(now, snapshot?.bans);
  const history = new MemoryHistoryStore({ historyLimit, historyTtlSec, bus, bans, now, rooms: snapshot?.rooms });
  const presence = new MemoryPresenceStore(bus, options.processId ?? 'memory', now);
  const sweep = () => {
    history.sweep();
    presence.sweep();
    bans.sweep();
  };
  // Rooms, cids and bans in a snapshot may have expired while the server was stopped.
  sweep();
  const timer = setInterval(sweep, sweepIntervalMs);
  timer.unref();

  let closing: Promise<void> | undefined;
  return {
    name: 'memory',
    history,
    presence,
    bus,
    bans,
    sweep,
    healthy: async () => closing === undefined,
    close: () =>
      (closing ??= (async () => {
        clearInterval(timer);
        // Closed before the snapshot is taken, so nothing stored after it is lost unseen.
        history.close();
        presence.close();
        bans.close();
        bus.close();
        if (snapshotPath !== undefined) await saveSnapshot(snapshotPath, history.entries(), bans.entries(), now());
      })()),
  };
}
