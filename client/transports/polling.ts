import { readHistory } from '../wire';
import { answerError, authHeaders, fetchJson, HttpSender, type JsonAnswer } from './http';
import type {
  CursorReader,
  MessageDraft,
  SendOutcome,
  Transport,
  TransportContext,
  TransportEvents,
  TransportName,
} from './transport';

/**
 * The polling loop that long and short polling share (engine.io-client's `Polling`): GET the
 * messages after the cursor, hand them on, wait, repeat; send with POST. The first answer of a
 * connection opens it; an answer with `gap` resynchronizes it.
 */
export abstract class PollingTransport implements Transport {
  abstract readonly name: TransportName;
  readonly carriesName = false;
  protected readonly controller = new AbortController();
  private readonly sender: HttpSender;
  private events: TransportEvents | undefined;
  private cursor: CursorReader | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private inFlight = false;
  private again = false;
  private opened = false;
  private closed = false;

  constructor(protected readonly context: TransportContext) {
    this.sender = new HttpSender(context);
  }

  /** Override to give the URL of the next request; `first` is the connection's first. */
  protected abstract requestUrl(cursor: CursorReader, first: boolean): string;

  /** Override to say how long a request may take before it is given up. */
  protected abstract requestTimeoutMs(first: boolean): number;

  /** Override to say how long to wait between an answer and the next request. */
  protected abstract get intervalMs(): number;

  connect(cursor: CursorReader, events: TransportEvents): void {
    this.cursor = cursor;
    this.events = events;
    this.poll();
  }

  async send(draft: MessageDraft): Promise<SendOutcome> {
    const outcome = await this.sender.send(draft);
    this.afterSend();
    return outcome;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    this.controller.abort();
    this.sender.close();
  }

  /** Invoked after one of our sends was stored. */
  protected afterSend(): void {}

  /** Asks again now, rather than at the next tick (or right after the request in flight). */
  protected pollNow(): void {
    if (this.closed) return;
    if (this.inFlight) {
      this.again = true;
      return;
    }
    this.poll();
  }

  private poll(): void {
    const { fetch } = this.context;
    const cursor = this.cursor;
    if (this.closed || this.inFlight || !cursor) return;
    if (!fetch) {
      queueMicrotask(() => this.ended(undefined));
      return;
    }
    clearTimeout(this.timer);
    this.inFlight = true;
    this.again = false;
    const first = !this.opened;
    fetchJson(
      fetch,
      this.requestUrl(cursor, first),
      { headers: authHeaders(this.context.token), cache: 'no-store' },
      this.requestTimeoutMs(first),
      this.controller.signal,
    ).then(
      (answer) => this.onAnswer(answer),
      () => this.ended(undefined),
    );
  }

  private onAnswer(answer: JsonAnswer): void {
    this.inFlight = false;
    if (this.closed) return;
    const history = answer.status === 200 ? readHistory(answer.body) : undefined;
    if (!history) {
      this.ended(answer);
      return;
    }
    const events = this.events!;
    if (!this.opened || history.gap) {
      this.opened = true;
      events.history(history);
    } else {
      for (const message of history.messages) {
        if (this.closed) return;
        events.message(message, history.epoch);
      }
    }
    if (this.closed) return;
    if (this.again) this.poll();
    else this.timer = setTimeout(() => this.poll(), this.intervalMs);
  }

  private ended(answer: JsonAnswer | undefined): void {
    this.inFlight = false;
    if (this.closed) return;
    this.close();
    if (answer === undefined) {
      this.events?.close({ opened: this.opened });
      return;
    }
    const error = answerError(answer);
    this.events?.error({ code: error.code, message: error.message });
    this.events?.close({ opened: this.opened, code: error.code });
  }
}
