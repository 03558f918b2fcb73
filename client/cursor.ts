import type { HistoryAnswer, StoredEvent } from './wire';

/**
 * Where a client is in a room's history: the room's `epoch` (`''` when none is known yet) and
 * the id of the last event it has (`undefined` before the first history).
 *
 * @example
 * localStorage.setItem('cursor', JSON.stringify(chat.cursor));
 */
export interface CursorPosition {
  readonly epoch: string;
  readonly since: number | undefined;
}

/** The query parameters that resume from a cursor. */
export interface CursorQuery {
  readonly since?: number;
  readonly epoch?: string;
}

/** What a history answer brings once the cursor has seen it. */
export interface CursorUpdate {
  /** The events not seen before, oldest first. */
  readonly messages: StoredEvent[];
  /** True when the epoch changed: what was shown belongs to a history that is gone. */
  readonly reset: boolean;
}

/**
 * The catch-up cursor (PROTOCOL.md "The cursor", v2 "The cursor, amended"). It decides which
 * events are new, so no id is ever handed on twice, whatever the transport or reconnect.
 *
 * @example
 * const cursor = new Cursor();
 * const { messages, reset } = cursor.takeHistory(historyFrame);
 * if (cursor.take(message) === 'new') show(message);
 * cursor.query(); // { since: 42, epoch: 'k3J…' }: what the next connection sends
 */
export class Cursor {
  private currentEpoch: string;
  private last: number | undefined;

  constructor(initial: Partial<CursorPosition> = {}) {
    this.currentEpoch = initial.epoch ?? '';
    this.last = initial.since;
  }

  get position(): CursorPosition {
    return { epoch: this.currentEpoch, since: this.last };
  }

  get since(): number | undefined {
    return this.last;
  }

  /** `since` once a history was seen; `epoch` only when known (an empty one is not sent back). */
  query(): CursorQuery {
    const query: { since?: number; epoch?: string } = {};
    if (this.last !== undefined) query.since = this.last;
    if (this.currentEpoch !== '') query.epoch = this.currentEpoch;
    return query;
  }

  /** Takes a history answer: keeps what is newer than the cursor, or everything after a reset. */
  takeHistory(answer: HistoryAnswer): CursorUpdate {
    // An epoch learned for the first time is not a change: the room had none, or we knew none.
    // A gap of unknown size says the history the cursor points into is gone, whatever epoch the
    // cursor knew: the server answers so only when the cursor's epoch is not the room's.
    const reset = (this.currentEpoch !== '' && answer.epoch !== this.currentEpoch) || (answer.gap && answer.missed === null);
    if (reset) this.last = undefined;
    this.currentEpoch = answer.epoch;
    const messages: StoredEvent[] = [];
    for (const message of answer.messages) {
      if (this.last !== undefined && message.id <= this.last) continue;
      this.last = message.id;
      messages.push(message);
    }
    this.last ??= 0;
    return { messages, reset };
  }

  /**
   * Takes one live event: `new` when it moves the cursor on, `seen` when the cursor already had
   * it, `conflict` when it names another epoch (a reset nobody announced: resynchronize).
   */
  take(message: StoredEvent, epoch?: string): 'new' | 'seen' | 'conflict' {
    if (epoch !== undefined && epoch !== '') {
      if (this.currentEpoch === '') this.currentEpoch = epoch;
      else if (epoch !== this.currentEpoch) return 'conflict';
    }
    if (this.last !== undefined && message.id <= this.last) return 'seen';
    this.last = message.id;
    return 'new';
  }
}
