import type { OutboxStore, PendingSend } from '../../client';

// Storage can be disabled or full (private windows, quotas): every access is guarded, and the
// page then works from memory.

const NAME_KEY = 'chat:name';
/** Cids sent from this tab that are remembered, to tell our own messages apart after a reload. */
const SENT_CIDS_KEPT = 200;

function read(storage: () => Storage, key: string): string | null {
  try {
    return storage().getItem(key);
  } catch {
    return null;
  }
}

function write(storage: () => Storage, key: string, value: string): void {
  try {
    storage().setItem(key, value);
  } catch {
    // Disabled or full: memory only.
  }
}

function parseArray(text: string | null): unknown[] {
  try {
    const value: unknown = JSON.parse(text ?? '[]');
    return Array.isArray(value) ? value : [];
  } catch {
    return [];
  }
}

/**
 * The nickname, kept in localStorage under `chat:name` (the lobby reads and writes the same key).
 *
 * @example
 * nameInput.value ||= loadName();
 */
export function loadName(): string {
  return read(() => localStorage, NAME_KEY) ?? '';
}

/** Remembers the nickname for the lobby and the next visit. */
export function saveName(name: string): void {
  write(() => localStorage, NAME_KEY, name);
}

/**
 * The ChatClient's outbox store for `room`: what was typed and not stored yet survives a reload
 * of the tab (sessionStorage, `chat:outbox:ROOM`) and is sent again, once, with its cid.
 *
 * @example
 * new ChatClient({ room, outbox: outboxStore(room) });
 */
export function outboxStore(room: string): OutboxStore {
  const key = `chat:outbox:${room}`;
  return {
    load: () => parseArray(read(() => sessionStorage, key)) as PendingSend[],
    save: (pending) => write(() => sessionStorage, key, JSON.stringify(pending)),
  };
}

/**
 * The cids this tab sent in `room` (the newest 200, in sessionStorage `chat:sent:ROOM`): an
 * anonymous user's own messages are still told apart after a reload, by cid, never by name.
 *
 * @example
 * const sent = new SentCids(room);
 * sent.add(cid);
 * sent.has(message.cid); // true after a reload too
 */
export class SentCids {
  private readonly key: string;
  private readonly cids: string[];
  private readonly known: Set<string>;

  constructor(room: string) {
    this.key = `chat:sent:${room}`;
    this.cids = parseArray(read(() => sessionStorage, this.key)).filter((c): c is string => typeof c === 'string');
    this.known = new Set(this.cids);
  }

  has(cid: string | undefined): boolean {
    return cid !== undefined && this.known.has(cid);
  }

  add(cid: string): void {
    if (this.known.has(cid)) return;
    this.cids.push(cid);
    this.known.add(cid);
    while (this.cids.length > SENT_CIDS_KEPT) this.known.delete(this.cids.shift()!);
    write(() => sessionStorage, this.key, JSON.stringify(this.cids));
  }
}
