import type { FetchLike } from './environment';
import { ChatClientError } from './errors';
import { REQUEST_TIMEOUT_MS, answerError, authHeaders, fetchJson, roomUrl, type JsonAnswer } from './transports/http';
import {
  readDeleteAnswer,
  readKickAnswer,
  readPresenceList,
  type DeleteEvent,
  type KickResult,
  type PresenceList,
} from './wire';

/** The longest ban a kick may carry, in seconds (PROTOCOL.md "Moderation": one year). */
export const MAX_BAN_SECONDS = 31_536_000;

/**
 * Whom to kick: a user by their stable id (a token's `sub`), or an anonymous visitor by name.
 *
 * @example
 * await chat.kick({ uid: 'u-7' }, 600);   // out, and banned for ten minutes
 * await chat.kick({ user: 'guest-3f2a' }); // out; may come back at once
 */
export type KickTarget = { readonly uid: string; readonly user?: undefined } | { readonly user: string; readonly uid?: undefined };

/** What a `RoomApi` needs: where, with what, and the token of the moment (asked per request). */
export interface RoomApiContext {
  readonly baseUrl: string;
  readonly room: string;
  readonly fetch: FetchLike | undefined;
  readonly token: () => Promise<string | undefined>;
  /** Aborts every request in flight (the client was closed). */
  readonly signal: AbortSignal;
}

/**
 * The room's plain HTTP requests beside the live connection (PROTOCOL.md "Presence list",
 * "Moderation"): who is online, deleting a message, kicking a user. Each carries the token as
 * `Authorization: Bearer` when there is one (a browser sends the page's cookie by itself), and
 * state-changing ones are JSON, as the server's cross-site rule asks. An error answer rejects
 * with a `ChatClientError` carrying the server's code; no answer rejects with `disconnected`.
 *
 * @example
 * const api = new RoomApi({ baseUrl: 'http://127.0.0.1:3000/', room: 'lobby', fetch, token: async () => undefined, signal });
 * const { users } = await api.presence();
 */
export class RoomApi {
  constructor(private readonly context: RoomApiContext) {}

  /** `GET /api/rooms/:room/presence`: who is in the room, on every server process. */
  presence(): Promise<PresenceList> {
    return this.request('GET', 'presence', undefined, readPresenceList);
  }

  /** `DELETE /api/rooms/:room/messages/:id` (moderators): resolves with the delete event. */
  deleteMessage(id: number): Promise<DeleteEvent> {
    if (!Number.isSafeInteger(id) || id <= 0) {
      return Promise.reject(new TypeError('deleteMessage(id) needs the id of a stored message (a positive integer).'));
    }
    return this.request('DELETE', `messages/${id}`, undefined, readDeleteAnswer);
  }

  /** `POST /api/rooms/:room/kick` (moderators): ends the user's connections, and bans them for `seconds` when given. */
  kick(who: KickTarget, seconds?: number): Promise<KickResult> {
    const body: { uid?: string; user?: string; seconds?: number } = {};
    if (typeof who?.uid === 'string' && who.uid !== '' && who.user === undefined) body.uid = who.uid;
    else if (typeof who?.user === 'string' && who.user !== '' && who.uid === undefined) body.user = who.user;
    else return Promise.reject(new TypeError('kick(who) needs either { uid } or { user }, a non-empty string.'));
    if (seconds !== undefined) {
      if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_BAN_SECONDS) {
        return Promise.reject(new TypeError(`A ban lasts a whole number of seconds from 1 to ${MAX_BAN_SECONDS}.`));
      }
      body.seconds = seconds;
    }
    return this.request('POST', 'kick', body, readKickAnswer);
  }

  private async request<T>(method: string, path: string, body: object | undefined, read: (value: unknown) => T | undefined): Promise<T> {
    const { fetch, signal } = this.context;
    if (signal.aborted) throw closed();
    if (!fetch) throw new ChatClientError('unsupported', 'There is no fetch implementation: pass fetch in the options.');
    let token: string | undefined;
    try {
      token = await this.context.token();
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      throw new ChatClientError('token_unavailable', `getToken() failed: ${reason}`);
    }
    const headers: Record<string, string> = { ...authHeaders(token) };
    // The server's cross-site rule: a POST or DELETE relying on a cookie must say it is JSON.
    if (method !== 'GET') headers['Content-Type'] = 'application/json';
    let answer: JsonAnswer;
    try {
      answer = await fetchJson(
        fetch,
        roomUrl(this.context, path),
        body === undefined ? { method, headers, cache: 'no-store' } : { method, headers, body: JSON.stringify(body) },
        REQUEST_TIMEOUT_MS,
        signal,
      );
    } catch {
      throw signal.aborted ? closed() : new ChatClientError('disconnected', `The server did not answer ${method} ${path}.`);
    }
    if (answer.status < 200 || answer.status >= 300) {
      const error = answerError(answer);
      throw new ChatClientError(error.code, error.message);
    }
    const value = read(answer.body);
    if (value === undefined) throw new ChatClientError('internal', `The server's answer to ${method} ${path} could not be read.`);
    return value;
  }
}

function closed(): ChatClientError {
  return new ChatClientError('closed', 'The client is closed.');
}
