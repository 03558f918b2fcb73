import { roomUrl } from './http';
import { PollingTransport } from './polling';
import type { CursorReader } from './transport';

/** How much longer than its `timeout` a held request may take before it is given up (proxies, a half-open socket). */
const GRACE_MS = 10_000;

/**
 * Long polling (`/api/rooms/:room/poll?since&epoch&timeout`): the server holds each request until
 * a message comes or `timeout` passes. The first request of a connection asks with `timeout=0`,
 * so it answers at once and the connection opens (and its outbox flushes) without waiting.
 */
export class LongPollTransport extends PollingTransport {
  readonly name = 'longpoll';

  protected requestUrl(cursor: CursorReader, first: boolean): string {
    const { since, epoch } = cursor.query();
    const timeout = first ? 0 : this.context.longPollTimeoutSec;
    return roomUrl(this.context, 'poll', { since, epoch, timeout });
  }

  protected requestTimeoutMs(first: boolean): number {
    return (first ? 0 : this.context.longPollTimeoutSec * 1000) + GRACE_MS;
  }

  protected get intervalMs(): number {
    return 0;
  }
}
