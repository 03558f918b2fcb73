import { ChatClientError } from './errors';
import type { TextMessage } from './wire';

/**
 * A send that has not been stored yet, as an outbox store keeps it.
 *
 * @example
 * for (const { cid, text } of chat.pending) showPending(cid, text);
 */
export interface PendingSend {
  readonly cid: string;
  readonly text: string;
}

/**
 * Keeps the outbox across page reloads: `load` is read once at construction, `save` is called
 * with the whole outbox whenever a send is added or settled.
 *
 * @example
 * const outbox: OutboxStore = {
 *   load: () => JSON.parse(sessionStorage.getItem('chat:outbox:lobby') ?? '[]'),
 *   save: (pending) => sessionStorage.setItem('chat:outbox:lobby', JSON.stringify(pending)),
 * };
 */
export interface OutboxStore {
  load(): readonly PendingSend[];
  save(pending: readonly PendingSend[]): void;
}

/** Where a send is: waiting, on the wire, held back after `unavailable`, or acknowledged by id. */
type Status = 'queued' | 'sending' | 'held' | 'acked';

interface Entry {
  readonly cid: string;
  readonly text: string;
  status: Status;
  ackedId?: number;
  promise?: Promise<TextMessage>;
  resolve?: (message: TextMessage) => void;
  reject?: (error: Error) => void;
}

/** The longest cid the server takes (PROTOCOL.md "Message"). */
export const MAX_CID_LENGTH = 64;

/**
 * Sends not yet stored, in the order they were typed, each with its `cid`. An entry leaves the
 * outbox once the stored message is known (it came back with the cid, or in a POST answer) or
 * the server refused it; it is resent, with the same cid, after every reconnect until then.
 * The server stores a cid once, so a resend never makes a second message.
 *
 * @example
 * const outbox = new Outbox(undefined);
 * const stored = outbox.add('hi');                      // resolves once with the stored message
 * for (const send of outbox.takeSendable(16)) transport.send(send);
 * outbox.deliver(messageFromServer);                    // matched by cid
 */
export class Outbox {
  private readonly entries = new Map<string, Entry>();
  /** Cids restored from the store: made by an earlier client (a page before its reload). */
  private readonly restored = new Set<string>();
  /** Cids this outbox made, newest last, the oldest forgotten past MADE_REMEMBERED. */
  private readonly made = new Set<string>();

  constructor(private readonly store: OutboxStore | undefined) {}

  /** Loads the sends the store kept (typed before a reload and never stored); they are sent again. */
  restore(): void {
    if (!this.store) return;
    let saved: readonly PendingSend[];
    try {
      saved = this.store.load();
    } catch {
      return;
    }
    if (!Array.isArray(saved)) return;
    for (const item of saved) {
      if (isValidCid(item?.cid) && typeof item.text === 'string' && !this.entries.has(item.cid)) {
        this.entries.set(item.cid, { cid: item.cid, text: item.text, status: 'queued' });
        this.restored.add(item.cid);
      }
    }
  }

  /** Queues `text` under `cid` (a new one unless given); the promise settles once, with the stored message. */
  add(text: string, cid?: string): Promise<TextMessage> {
    const known = cid === undefined ? undefined : this.entries.get(cid);
    if (known) return this.promiseOf(known);
    const entry: Entry = { cid: cid ?? this.newCid(), text, status: 'queued' };
    this.entries.set(entry.cid, entry);
    this.save();
    return this.promiseOf(entry);
  }

  /** True for a cid this outbox made (one of its latest MADE_REMEMBERED), or restored from its store. */
  owns(cid: string): boolean {
    return this.made.has(cid) || this.restored.has(cid) || this.entries.has(cid);
  }

  /**
   * A new cid of this outbox's own (`owns` knows it): 128 random bits. Cids travel in every
   * broadcast and anonymous senders share one namespace, so a guessable cid (a prefix and a
   * counter) would let anyone store their own message under the next one first: the victim's
   * send would then be answered with it and never stored.
   */
  newCid(): string {
    const cid = randomCid();
    this.made.add(cid);
    if (this.made.size > MADE_REMEMBERED) this.made.delete(this.made.values().next().value as string);
    return cid;
  }

  /** Every send not yet stored, oldest first. */
  get pending(): PendingSend[] {
    return [...this.entries.values()].map(({ cid, text }) => ({ cid, text }));
  }

  get size(): number {
    return this.entries.size;
  }

  /** The queued sends to put on the wire now, oldest first, so that at most `window` are on it. */
  takeSendable(window: number): PendingSend[] {
    let inFlight = 0;
    for (const entry of this.entries.values()) if (entry.status === 'sending') inFlight++;
    const out: PendingSend[] = [];
    for (const entry of this.entries.values()) {
      if (inFlight + out.length >= window) break;
      if (entry.status !== 'queued') continue;
      entry.status = 'sending';
      out.push({ cid: entry.cid, text: entry.text });
    }
    return out;
  }

  /** The server stored the send as `id` (a WebSocket ack); its message is still to come. */
  acked(cid: string, id: number): void {
    const entry = this.entries.get(cid);
    if (!entry) return;
    entry.status = 'acked';
    entry.ackedId = id;
  }

  /** A send that may not have been stored goes back in line: `held` until `releaseHeld()`. */
  requeue(cid: string, held: boolean): void {
    const entry = this.entries.get(cid);
    if (entry && entry.status === 'sending') entry.status = held ? 'held' : 'queued';
  }

  /** The connection is gone: whatever was not acknowledged is sent again on the next one. */
  requeueAll(): void {
    for (const entry of this.entries.values()) if (entry.status !== 'acked') entry.status = 'queued';
  }

  /** Lets held sends go again. */
  releaseHeld(): void {
    for (const entry of this.entries.values()) if (entry.status === 'held') entry.status = 'queued';
  }

  /** A stored message arrived: when it carries one of our cids, its send is done. */
  deliver(message: TextMessage): boolean {
    const entry = message.cid === undefined ? undefined : this.entries.get(message.cid);
    if (!entry) return false;
    this.entries.delete(entry.cid);
    this.save();
    entry.resolve?.(message);
    return true;
  }

  /** The server refused the send: it leaves the outbox and its promise rejects. */
  fail(cid: string, error: Error): boolean {
    const entry = this.entries.get(cid);
    if (!entry) return false;
    this.entries.delete(cid);
    this.save();
    entry.reject?.(error);
    return true;
  }

  /**
   * Acknowledged sends whose message the cursor went past without seeing (a gap swallowed it, or
   * a reset: `since` undefined) are done: `stored(cid, text, id)` says what was stored.
   */
  settleSkipped(since: number | undefined, stored: (send: PendingSend, id: number) => TextMessage): void {
    for (const entry of [...this.entries.values()]) {
      if (entry.status !== 'acked' || entry.ackedId === undefined) continue;
      if (since !== undefined && entry.ackedId > since) continue;
      this.entries.delete(entry.cid);
      this.save();
      entry.resolve?.(stored(entry, entry.ackedId));
    }
  }

  /**
   * Rejects every waiting promise with `error` and empties the outbox in memory. The store is not
   * told: a client made later with the same store sends them again.
   */
  rejectAll(error: ChatClientError): void {
    const entries = [...this.entries.values()];
    this.entries.clear();
    for (const entry of entries) entry.reject?.(new ChatClientError(error.code, error.message, entry.cid));
  }

  private promiseOf(entry: Entry): Promise<TextMessage> {
    entry.promise ??= new Promise<TextMessage>((resolve, reject) => {
      entry.resolve = resolve;
      entry.reject = reject;
    });
    return entry.promise;
  }

  private save(): void {
    if (!this.store) return;
    try {
      this.store.save(this.pending);
    } catch {
      // Storage full or disabled: the outbox still lives in memory.
    }
  }
}

/** True for a cid the server accepts: 1 to 64 characters, no control characters. */
export function isValidCid(cid: unknown): cid is string {
  return typeof cid === 'string' && cid.length > 0 && cid.length <= MAX_CID_LENGTH && !/\p{Cc}/u.test(cid);
}

/** How many of its own cids an outbox remembers for `owns` (a long-running bot sends without end). */
const MADE_REMEMBERED = 10_000;

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** 128 random bits, base64url (22 characters), from the platform's cryptographic random source. */
function randomCid(): string {
  const crypto = (globalThis as { crypto?: { getRandomValues?(array: Uint8Array): Uint8Array } }).crypto;
  if (!crypto?.getRandomValues) throw new Error('ChatClient needs crypto.getRandomValues (Node 20 and every browser have it).');
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += BASE64URL[(value >> bits) & 63];
    }
  }
  if (bits > 0) out += BASE64URL[(value << (6 - bits)) & 63];
  return out;
}
