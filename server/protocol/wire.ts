import type { HistorySlice } from '../engine/redis/history-store';
import { messagesJson, type StoredMessage } from './validate';

/**
 * The JSON answers that carry history, built by concatenating stored JSON: a message is never
 * parsed and serialized again on its way out.
 */

/** WebSocket: `{"type":"history","room","epoch","messages","gap"[,"missed"]}`. */
export function historyFrame(slice: HistorySlice): string {
  return (
    `{"type":"history","room":${JSON.stringify(slice.room)},"epoch":${JSON.stringify(slice.epoch)},` +
    `"messages":${messagesJson(slice.messages)},"gap":${slice.gap}${missedField(slice)}}`
  );
}

/** Short and long polling: `{"room","epoch","messages","last","gap"[,"missed"]}`; `limit` keeps the newest N. */
export function pollAnswer(slice: HistorySlice, limit?: number): string {
  const messages = limit !== undefined && slice.messages.length > limit ? slice.messages.slice(-limit) : slice.messages;
  return pollBody(slice.room, slice.epoch, messages, slice.last, slice.gap, missedField(slice));
}

/** A long poll woken by one live message. */
export function pollAnswerForMessage(room: string, epoch: string, message: StoredMessage): string {
  return pollBody(room, epoch, [message], message.id, false, '');
}

function pollBody(
  room: string,
  epoch: string,
  messages: readonly StoredMessage[],
  last: number,
  gap: boolean,
  missed: string,
): string {
  return (
    `{"room":${JSON.stringify(room)},"epoch":${JSON.stringify(epoch)},"messages":${messagesJson(messages)},` +
    `"last":${last},"gap":${gap}${missed}}`
  );
}

function missedField(slice: HistorySlice): string {
  return slice.gap && slice.missed !== null ? `,"missed":${slice.missed}` : '';
}
