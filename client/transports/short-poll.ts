import { REQUEST_TIMEOUT_MS, roomUrl } from './http';
import { PollingTransport } from './polling';
import type { CursorReader } from './transport';

/**
 * Short polling (`GET /api/rooms/:room/messages?since&epoch` every `pollIntervalMs`, 2 s by
 * default): the fallback of last resort, for networks that hold nothing open. After one of our
 * own sends it asks at once, so the sender sees it without waiting for the next tick.
 */
export class ShortPollTransport extends PollingTransport {
  readonly name = 'poll';

  protected requestUrl(cursor: CursorReader): string {
    const { since, epoch } = cursor.query();
    return roomUrl(this.context, 'messages', { since, epoch });
  }

  protected requestTimeoutMs(): number {
    return REQUEST_TIMEOUT_MS;
  }

  protected get intervalMs(): number {
    return this.context.pollIntervalMs;
  }

  protected override afterSend(): void {
    this.pollNow();
  }
}
