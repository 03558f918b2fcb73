import { ChatError } from '../errors';
import type { HistorySlice, HistoryStore } from '../engine/redis/history-store';
import { historyFrame } from '../protocol/wire';
import { echoableCid, parseClientFrame, validateCid, validateText, validateUser, type Cursor } from '../protocol/validate';
import { TokenBucket } from '../chat/rate-limit';
import type { Broadcast } from '../rooms/broadcast';
import type { RoomHub, RoomMember } from '../rooms/hub';
import { cursorQuery, roomParam, single } from '../http/request-input';
import { prepareTextFrame, type PreparedFrame } from './ws-frame';
import { WebSocketHandler, type HandlerRequest, type HandlerSettings } from './websocket-handler';

/** What the chat handler needs besides the shared handler settings. */
export interface ChatServices {
  readonly hub: RoomHub;
  readonly store: HistoryStore;
  readonly maxMessageLength: number;
  readonly rateLimit: number;
  /** Counts what happened, for /metrics. */
  readonly onEvent?: (event: 'stored' | 'rate_limited' | 'slow_consumer') => void;
}

// Encoders run once per broadcast per process; every member writes the same frame.
const messageFrame = (b: Broadcast): PreparedFrame => prepareTextFrame(`{"type":"message",${b.json.slice(1)}`);
const presenceFrame = (b: Broadcast): PreparedFrame => prepareTextFrame(b.json);

/**
 * The chat room over WebSocket (PROTOCOL.md "WebSocket"): the history frame first, then the
 * room's messages and presence; sends are validated, rate limited, stored and acknowledged.
 */
export class ChatSocketHandler extends WebSocketHandler implements RoomMember {
  room = '';
  name = '';
  private readonly bucket: TokenBucket;

  constructor(
    socket: ConstructorParameters<typeof WebSocketHandler>[0],
    request: HandlerRequest,
    settings: HandlerSettings,
    private readonly services: ChatServices,
  ) {
    super(socket, request, settings);
    this.bucket = new TokenBucket(services.rateLimit);
  }

  override async open(): Promise<void> {
    let cursor: Cursor;
    try {
      this.room = roomParam(this.request);
      this.name = validateUser(single(this.request.query.name));
      cursor = cursorQuery(this.request);
    } catch (err) {
      if (!(err instanceof ChatError)) throw err;
      this.writeError(err);
      this.close(1008, err.message);
      return;
    }
    try {
      await this.services.hub.join(this.room, this, cursor);
    } catch (err) {
      if (!(err instanceof ChatError)) throw err;
      this.writeError(err);
      this.close(1013, 'the history store is unavailable: try again shortly');
    }
  }

  override async onMessage(raw: string): Promise<void> {
    const parsed = parseClientFrame(raw);
    if (!parsed.ok) {
      this.writeError(parsed.error, parsed.cid);
      return;
    }
    let cid: string | undefined;
    try {
      cid = validateCid(parsed.command.cid);
      const text = validateText(parsed.command.text, this.services.maxMessageLength);
      if (!this.bucket.take()) {
        this.services.onEvent?.('rate_limited');
        throw new ChatError('rate_limited', 'You are sending too fast; wait a moment and resend.');
      }
      const { message, duplicate } = await this.services.store.append(this.room, { user: this.name, text, cid });
      if (!duplicate) this.services.onEvent?.('stored');
      if (cid !== undefined && !this.closed) this.writeMessage(`{"type":"ack","cid":${JSON.stringify(cid)},"id":${message.id}}`);
    } catch (err) {
      if (!(err instanceof ChatError)) throw err;
      this.writeError(err, cid ?? echoableCid(parsed.command.cid));
    }
  }

  override onClose(): void {
    // A no-op for a socket that never joined (bad input, or the store was down).
    this.services.hub.leave(this.room, this);
  }

  deliverHistory(slice: HistorySlice): void {
    if (!this.closed) this.writeMessage(historyFrame(slice));
  }

  deliverMessage(broadcast: Broadcast): void {
    if (!this.closed) this.writeFrame(broadcast.encode(messageFrame));
  }

  deliverPresence(broadcast: Broadcast): void {
    if (!this.closed) this.writeFrame(broadcast.encode(presenceFrame));
  }

  private writeError(err: ChatError, cid?: string): void {
    if (this.closed) return;
    const frame: Record<string, string> = { type: 'error', code: err.code, message: err.message };
    if (cid !== undefined) frame.cid = cid;
    this.writeMessage(frame);
  }
}
