import type { MessageSender } from '../chat/send-message';
import { TokenBucket } from '../chat/rate-limit';
import { ChatError } from '../errors';
import { cursorQuery, roomParam, single } from '../http/request-input';
import type { HistorySlice } from '../protocol/types';
import { echoableCid, parseClientFrame, validateUser, type SendFields } from '../protocol/validate';
import { ackFrame, errorFrame, historyFrame, messageFrame } from '../protocol/wire';
import type { Broadcast } from '../rooms/broadcast';
import type { RoomHub, RoomMember } from '../rooms/hub';
import { WebSocketHandler, type HandlerRequest, type HandlerSettings } from './websocket-handler';
import { prepareTextFrame, type PreparedFrame } from './ws-frame';

/** What the chat handler needs besides the shared handler settings. */
export interface ChatServices {
  readonly hub: RoomHub;
  readonly sender: MessageSender;
  /** Messages per second this connection may send (its own bucket). */
  readonly rateLimit: number;
}

// Encoders run once per broadcast per process; every member writes the same frame.
const messageWsFrame = (b: Broadcast): PreparedFrame => prepareTextFrame(messageFrame(b.json));
const presenceWsFrame = (b: Broadcast): PreparedFrame => prepareTextFrame(b.json);

/**
 * The chat room over WebSocket (PROTOCOL.md "WebSocket"): the history frame first, then the
 * room's messages and presence; sends go through the one send pipeline and are acknowledged.
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
    let cursor;
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
    const { text, cid } = parsed.command;
    const fields: SendFields = { user: this.name, text, cid };
    try {
      const { message } = await this.services.sender.send(this.room, fields, this.bucket);
      if (cid !== undefined && !this.closed) this.writeMessage(ackFrame(cid, message.id));
    } catch (err) {
      if (!(err instanceof ChatError)) throw err;
      this.writeError(err, echoableCid(cid));
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
    if (!this.closed) this.writeFrame(broadcast.encode(messageWsFrame));
  }

  deliverPresence(broadcast: Broadcast): void {
    if (!this.closed) this.writeFrame(broadcast.encode(presenceWsFrame));
  }

  private writeError(err: ChatError, cid?: string): void {
    if (!this.closed) this.writeMessage(errorFrame(err.code, err.message, cid));
  }
}
