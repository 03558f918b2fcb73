import type { AppendResult, HistoryStore } from '../engine/engine';
import { ChatError } from '../errors';
import type { ChatMetrics } from '../metrics';
import { validateCid, validateText, validateUser, type SendFields } from '../protocol/validate';

/** A sender's allowance: a connection's token bucket, or its address's. */
export interface SendAllowance {
  /** Takes one send from the allowance; false when none is left. */
  take(): boolean;
}

export interface MessageSenderOptions {
  readonly history: HistoryStore;
  readonly maxMessageLength: number;
  readonly metrics: ChatMetrics;
}

/**
 * The one send pipeline that every transport calls: validate the fields, take from the sender's
 * allowance, append, count. Every refusal is a `ChatError` the transport writes in its own shape.
 *
 * @example
 * const { message, duplicate } = await sender.send('lobby', { user: 'ann', text: 'hi', cid: 'c1' }, bucket);
 */
export class MessageSender {
  constructor(private readonly options: MessageSenderOptions) {}

  async send(room: string, fields: SendFields, allowance: SendAllowance): Promise<AppendResult> {
    const cid = validateCid(fields.cid);
    const user = validateUser(fields.user);
    const text = validateText(fields.text, this.options.maxMessageLength);
    if (!allowance.take()) {
      this.options.metrics.rateLimited();
      throw new ChatError('rate_limited', 'You are sending too fast; wait a moment and resend.');
    }
    const result = await this.options.history.append(room, { user, text, cid });
    if (!result.duplicate) this.options.metrics.messageStored();
    return result;
  }
}
