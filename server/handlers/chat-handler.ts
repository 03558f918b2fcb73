import { meOf, type Visitor } from '../auth/access';
import { whenExpired } from '../auth/expiry';
import type { Admission } from '../chat/admission';
import { assertModerator, type Moderation } from '../chat/moderation';
import type { MessageSender } from '../chat/send-message';
import { KeyedAllowance, TokenBucket, type KeyedRateLimiter } from '../chat/rate-limit';
import { ChatError } from '../errors';
import { cursorQuery, roomParam, single } from '../http/request-input';
import type { HistorySlice } from '../protocol/types';
import { parseClientFrame, type ClientCommand } from '../protocol/commands';
import { echoableCid } from '../protocol/validate';
import { ackFrame, errorFrame, historyFrame, messageFrame } from '../protocol/wire';
import type { Broadcast } from '../rooms/broadcast';
import type { RoomHub, RoomMember } from '../rooms/hub';
import { WebSocketHandler, type HandlerRequest, type HandlerSettings } from './websocket-handler';
import { prepareTextFrame, type PreparedFrame } from './ws-frame';

/** What the chat handler needs besides the shared handler settings. */
export interface ChatServices {
  readonly hub: RoomHub;
  readonly admission: Admission;
  readonly moderation: Moderation;
  readonly sender: MessageSender;
  /** Messages per second this connection may send (its own bucket). */
  readonly rateLimit: number;
  /** The same rate per client address, across its connections and transports. */
  readonly limiter: KeyedRateLimiter;
}

/** The close code for a refused join (PROTOCOL.md: 4001 unauthorized, 4003 forbidden, 1008 bad input). */
const CLOSE_CODES: Partial<Record<ChatError['code'], number>> = {
  unauthorized: 4001,
  forbidden: 4003,
  banned: 4003,
  kicked: 4004,
  unavailable: 1013,
};

// Encoders run once per broadcast per process; every member writes the same frame.
const messageWsFrame = (b: Broadcast): PreparedFrame => prepareTextFrame(messageFrame(b.json, b.epoch));
const presenceWsFrame = (b: Broadcast): PreparedFrame => prepareTextFrame(b.json);

/**
 * The chat room over WebSocket (PROTOCOL.md "WebSocket"): the history frame first, then the
 * room's messages and presence; sends go through the one send pipeline and are acknowledged.
 */
export class ChatSocketHandler extends WebSocketHandler implements RoomMember {
  room = '';
  /** Who this connection is in its room; set by `open()`. */
  private visitor: Visitor | undefined;
  /** This connection's allowance and its address's: a flood over many sockets is still one address. */
  private readonly allowance: { take(): boolean };
  private stopExpiry: () => void = () => undefined;

  constructor(
    socket: ConstructorParameters<typeof WebSocketHandler>[0],
    request: HandlerRequest,
    settings: HandlerSettings,
    private readonly services: ChatServices,
  ) {
    super(socket, request, settings);
    this.allowance = new KeyedAllowance(services.limiter, request.ip, new TokenBucket(services.rateLimit));
  }

  /** The name this connection counts as online under. */
  get name(): string | undefined {
    return this.visitor?.name;
  }

  /** Who this connection is, for kicks and the presence list. */
  get identity(): Visitor | undefined {
    return this.visitor;
  }

  override async open(): Promise<void> {
    try {
      this.room = roomParam(this.request);
      this.visitor = await this.services.admission.admit(this.request, this.room, single(this.request.query.name));
      const cursor = cursorQuery(this.request);
      // A connection whose token expires is closed then (4001), not at its next send.
      this.stopExpiry = whenExpired(this.visitor.expiresAt, () =>
        this.refuse(new ChatError('unauthorized', 'Your token has expired: reconnect with a new one.'), 4001),
      );
      await this.services.hub.join(this.room, this, cursor);
    } catch (err) {
      if (!(err instanceof ChatError)) throw err;
      this.refuse(err, CLOSE_CODES[err.code] ?? 1008);
    }
  }

  override async onMessage(raw: string): Promise<void> {
    const parsed = parseClientFrame(raw);
    if (!parsed.ok) {
      this.writeError(parsed.error, parsed.cid);
      return;
    }
    const cid = parsed.command.type === 'message' ? parsed.command.cid : undefined;
    try {
      await this.carryOut(parsed.command);
    } catch (err) {
      if (!(err instanceof ChatError)) throw err;
      // A send refused for who the sender is ends the connection; a bad send does not.
      if (err.code === 'unauthorized' || err.code === 'banned') this.refuse(err, CLOSE_CODES[err.code]!, echoableCid(cid));
      else this.writeError(err, echoableCid(cid));
    }
  }

  /** Sends a message (acknowledged when it has a cid), or carries out a moderator's command. */
  private async carryOut(command: ClientCommand): Promise<void> {
    const visitor = this.visitor!;
    if (command.type === 'message') {
      const { text, cid } = command;
      const { message } = await this.services.sender.send(this.room, { text, cid }, visitor, this.allowance);
      if (cid !== undefined && !this.closed) this.writeMessage(ackFrame(cid, message.id));
      return;
    }
    assertModerator(visitor);
    // The outcome reaches the room like any other event: the delete as a message, the kick as the
    // target's closed connections and the presence that follows.
    if (command.type === 'delete') await this.services.moderation.delete(this.room, command.id, visitor);
    else await this.services.moderation.kick(this.room, command, visitor);
  }

  override onClose(): void {
    this.stopExpiry();
    // A no-op for a socket that never joined (bad input, or the store was down).
    this.services.hub.leave(this.room, this);
  }

  deliverHistory(slice: HistorySlice): void {
    if (!this.closed) this.writeMessage(historyFrame(slice, this.visitor && meOf(this.visitor)));
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

  /** Invoked when a moderator kicked this user: the error frame `kicked`, then close 4004. */
  kick(): void {
    this.refuse(new ChatError('kicked', 'A moderator removed you from this room.'), 4004);
  }

  /** An error frame the browser can read, then the close code that says why. */
  private refuse(err: ChatError, code: number, cid?: string): void {
    this.writeError(err, cid);
    this.close(code, code === 1013 ? 'the history store is unavailable: try again shortly' : err.message);
  }
}
