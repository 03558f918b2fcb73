import { assertNotExpired, type Visitor } from '../auth/access';
import type { AppendResult, HistoryStore } from '../engine/engine';
import { ChatError } from '../errors';
import type { ChatMetrics } from '../metrics';
import { validateCid, validateText, type SendFields } from '../protocol/validate';

/** A sender's allowance: a connection's token bucket, or its address's. */
export interface SendAllowance {
  /** Takes one send from the allowance; false when none is left. */
  take(): boolean;
}

export interface MessageSenderOptions {
  /** Stores the message, refusing a banned sender in the same step. */
  readonly history: HistoryStore;
  readonly maxMessageLength: number;
  readonly metrics: ChatMetrics;
}

/**
 * The one send pipeline that every transport calls: the visitor's right to write and its token's
 * expiry, the fields, the allowance (the backend has none), the append (which refuses a banned
 * sender in the same atomic step; the backend is never banned), the count. Every refusal is a `ChatError` the
 * transport writes in its own shape. The name and uid are the visitor's, never the fields'.
 *
 * @example
 * const { message, duplicate } = await sender.send('lobby', { text: 'hi', cid: 'c1' }, visitor, bucket);
 */
export class MessageSender {
  constructor(private readonly options: MessageSenderOptions) {}

  async send(room: string, fields: SendFields, visitor: Visitor, allowance: SendAllowance): Promise<AppendResult> {
    assertNotExpired(visitor);
    if (!visitor.rights.write) {
      throw new ChatError('forbidden', 'You may read this room but not write in it.');
    }
    const cid = validateCid(fields.cid);
    const text = validateText(fields.text, this.options.maxMessageLength);
    if (!visitor.backend && !allowance.take()) {
      this.options.metrics.rateLimited();
      throw new ChatError('rate_limited', 'You are sending too fast; wait a moment and resend.');
    }
    const draft = { user: visitor.name, uid: visitor.uid, text, cid };
    const result = await this.options.history.append(room, draft, { refuseBanned: !visitor.backend });
    if (!result.duplicate) this.options.metrics.messageStored();
    else assertSameSender(result.message.json, visitor);
    return result;
  }
}

/**
 * A repeated cid answers with the first message only for the sender who stored it: anonymous
 * senders share one cid namespace, and a cid seen in a broadcast (or guessed) must not make
 * another sender's send "succeed" with someone else's message, never stored itself.
 */
function assertSameSender(firstJson: string, visitor: Visitor): void {
  const first = JSON.parse(firstJson) as { user?: string; uid?: string; deleted?: boolean };
  if (first.deleted) return; // a tombstone names no sender to compare; its sender gets it back
  // A token's user is its uid (cids are kept per uid): a name changed in the token since is the same sender.
  const same = visitor.uid !== undefined ? first.uid === visitor.uid : first.uid === undefined && first.user === visitor.name;
  if (!same) {
    throw new ChatError('bad_request', 'That cid was already used by another sender in this room: send with a new cid.');
  }
}
