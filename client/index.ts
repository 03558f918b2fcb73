/**
 * The chat client library (PROTOCOL.md "The client library"): `ChatClient` and its types.
 * It runs in browsers (bundled with esbuild) and in Node ≥ 20 (pass `WebSocket` from `ws` and
 * `EventSource` from `eventsource`).
 *
 * @example
 * import { ChatClient } from './client';
 * const chat = new ChatClient({ url: 'http://127.0.0.1:3000', room: 'lobby' });
 */
export {
  ChatClient,
  type ChatClientEvents,
  type ConnectionState,
  type HistoryEvent,
  type SendOptions,
} from './chat-client';
export type { ChatClientOptions } from './options';
export { ChatClientError, type ChatErrorInfo, type ErrorCode } from './errors';
export type { CursorPosition } from './cursor';
export type { OutboxStore, PendingSend } from './outbox';
export type { Listener } from './emitter';
export type { KickTarget } from './room-api';
export type {
  DeletedMessage,
  DeleteEvent,
  KickResult,
  Me,
  PresenceEvent,
  PresenceList,
  PresenceUser,
  StoredEvent,
  TextMessage,
} from './wire';
export type {
  CloseInfo,
  CursorReader,
  MessageDraft,
  SendOutcome,
  Transport,
  TransportContext,
  TransportEvents,
  TransportFactory,
  TransportName,
} from './transports/transport';
export type {
  EventSourceConstructorLike,
  EventSourceLike,
  FetchInit,
  FetchLike,
  ResponseLike,
  SseEventLike,
  WebSocketConstructorLike,
  WebSocketLike,
} from './environment';
