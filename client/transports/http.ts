import type { FetchInit, FetchLike } from '../environment';
import { ChatClientError, codeForStatus } from '../errors';
import { parseJson, readErrorBody, readPostAnswer, type ServerError } from '../wire';
import type { MessageDraft, SendOutcome, TransportContext } from './transport';

/** An HTTP request of the client (a send, a short poll, a backend-API call) not answered in this long is given up. */
export const REQUEST_TIMEOUT_MS = 15_000;

type QueryValue = string | number | undefined;

/** `BASE/api/rooms/ROOM/PATH?QUERY`, leaving out empty values. */
export function roomUrl(context: Pick<TransportContext, 'baseUrl' | 'room'>, path: string, query: Record<string, QueryValue> = {}): string {
  const url = new URL(`api/rooms/${encodeURIComponent(context.room)}/${path}`, context.baseUrl);
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== '') url.searchParams.set(key, String(value));
  }
  return url.toString();
}

/** `Authorization: Bearer TOKEN`, the HTTP carrier of a token (PROTOCOL.md "Identity and access"). */
export function authHeaders(token: string | undefined): Record<string, string> {
  return token === undefined ? {} : { Authorization: `Bearer ${token}` };
}

/** An HTTP answer: its status and its body, parsed when it is JSON. */
export interface JsonAnswer {
  readonly status: number;
  readonly body: unknown;
}

/**
 * Fetches `url` and reads the JSON answer, giving up after `timeoutMs` or when `signal` aborts.
 * Rejects only when no answer came (network down, aborted, timed out).
 */
export async function fetchJson(
  fetch: FetchLike,
  url: string,
  init: FetchInit,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<JsonAnswer> {
  const controller = new AbortController();
  const abort = () => controller.abort();
  signal.addEventListener('abort', abort);
  const timer = setTimeout(abort, timeoutMs);
  try {
    if (signal.aborted) throw new Error('aborted');
    const response = await fetch(url, { ...init, signal: controller.signal });
    const text = await response.text();
    return { status: response.status, body: parseJson(text) };
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', abort);
  }
}

/** The error an HTTP answer stands for: its own `{"error"}` body, or one named after its status. */
export function answerError(answer: JsonAnswer): ServerError {
  return readErrorBody(answer.body) ?? { code: codeForStatus(answer.status), message: `HTTP ${answer.status}` };
}

/**
 * Sends over HTTP for the SSE and polling transports: `POST /api/rooms/:room/messages`, one at a
 * time so the messages are stored in the order they were sent. `close()` aborts what is left.
 */
export class HttpSender {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly controller = new AbortController();

  constructor(private readonly context: TransportContext) {}

  send(draft: MessageDraft): Promise<SendOutcome> {
    const run = () => this.post(draft);
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  close(): void {
    this.controller.abort();
  }

  private async post(draft: MessageDraft): Promise<SendOutcome> {
    const { fetch } = this.context;
    if (!fetch || this.controller.signal.aborted) throw disconnected(draft.cid);
    const name = this.context.name();
    const body = JSON.stringify({ user: name === '' ? undefined : name, text: draft.text, cid: draft.cid });
    let answer: JsonAnswer;
    try {
      answer = await fetchJson(
        fetch,
        roomUrl(this.context, 'messages'),
        { method: 'POST', headers: { 'Content-Type': 'application/json', ...authHeaders(this.context.token) }, body },
        REQUEST_TIMEOUT_MS,
        this.controller.signal,
      );
    } catch {
      throw disconnected(draft.cid);
    }
    const message = answer.status >= 200 && answer.status < 300 ? readPostAnswer(answer.body) : undefined;
    if (message) return { id: message.id, message };
    const error = answerError(answer);
    throw new ChatClientError(error.code, error.message, draft.cid);
  }
}

/** A send whose answer never came: it may or may not be stored, so it is resent with its cid. */
export function disconnected(cid: string): ChatClientError {
  return new ChatClientError('disconnected', 'The connection went away before the server answered.', cid);
}
