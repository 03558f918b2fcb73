import type { ChatClient, ConnectionState, HistoryEvent } from '../../../client';
import type { ChatErrorInfo } from '../../../client/errors';
import type { PresenceEvent, StoredEvent } from '../../../client/wire';

/** Everything a client emitted, in order, for assertions. */
export interface Recording {
  readonly histories: HistoryEvent[];
  readonly messages: StoredEvent[];
  readonly presence: PresenceEvent[];
  readonly states: ConnectionState[];
  readonly errors: ChatErrorInfo[];
  /** Every event id the client handed on (histories and messages), in order. */
  ids(): number[];
  /** Resolves once `check()` holds, polling every 10 ms; rejects after `timeoutMs`. */
  until(check: () => boolean, what: string, timeoutMs?: number): Promise<void>;
}

/** Records every event of `chat` from now on. */
export function record(chat: ChatClient): Recording {
  const histories: HistoryEvent[] = [];
  const messages: StoredEvent[] = [];
  const presence: PresenceEvent[] = [];
  const states: ConnectionState[] = [];
  const errors: ChatErrorInfo[] = [];
  const order: number[] = [];
  chat.on('history', (h) => {
    histories.push(h);
    order.push(...h.messages.map((m) => m.id));
  });
  chat.on('message', (m) => {
    messages.push(m);
    order.push(m.id);
  });
  chat.on('presence', (p) => presence.push(p));
  chat.on('state', (s) => states.push(s));
  chat.on('error', (e) => errors.push(e));
  return {
    histories,
    messages,
    presence,
    states,
    errors,
    ids: () => [...order],
    until(check, what, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const started = Date.now();
        const tick = () => {
          if (check()) return resolve();
          if (Date.now() - started > timeoutMs) {
            return reject(new Error(`timed out waiting for ${what}; states ${states.join(',')}, ids ${order.join(',')}, errors ${JSON.stringify(errors)}`));
          }
          setTimeout(tick, 10);
        };
        tick();
      });
    },
  };
}
