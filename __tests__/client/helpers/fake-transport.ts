import type { CursorQuery } from '../../../client/cursor';
import type {
  CloseInfo,
  CursorReader,
  MessageDraft,
  SendOutcome,
  Transport,
  TransportContext,
  TransportEvents,
  TransportFactory,
  TransportName,
} from '../../../client/transports/transport';
import type { HistoryAnswer, StoredEvent, TextMessage } from '../../../client/wire';

/** A send the fake transport was handed, for the test to answer. */
export interface FakeSend {
  readonly draft: MessageDraft;
  resolve(outcome: SendOutcome): void;
  reject(error: Error): void;
}

/**
 * A transport the test drives by hand: it records what the client asks of it and delivers what
 * the test tells it to. No network, no timers.
 */
export class FakeTransport implements Transport {
  readonly sends: FakeSend[] = [];
  cursorAtConnect: CursorQuery | undefined;
  closedByClient = false;
  private events: TransportEvents | undefined;

  constructor(
    readonly name: TransportName,
    readonly context: TransportContext,
    readonly carriesName: boolean,
  ) {}

  connect(cursor: CursorReader, events: TransportEvents): void {
    this.cursorAtConnect = cursor.query();
    this.events = events;
  }

  send(draft: MessageDraft): Promise<SendOutcome> {
    return new Promise((resolve, reject) => this.sends.push({ draft, resolve, reject }));
  }

  close(): void {
    this.closedByClient = true;
  }

  /** The server's history answer: the connection opens. */
  open(answer: Partial<HistoryAnswer> = {}): void {
    this.events!.history({ epoch: 'E1', messages: [], gap: false, missed: null, me: null, ...answer });
  }

  deliver(message: StoredEvent, epoch?: string): void {
    this.events!.message(message, epoch);
  }

  serverError(code: string, message = code): void {
    this.events!.error({ code, message });
  }

  /** The connection ends without the client asking. */
  drop(info: CloseInfo = { opened: true }): void {
    this.events!.close(info);
  }
}

/** A factory of fake transports that keeps every one it made. */
export function fakeTransports(carriesName: (name: TransportName) => boolean = (n) => n === 'ws' || n === 'sse') {
  const made: FakeTransport[] = [];
  const factory: TransportFactory = (name, context) => {
    const transport = new FakeTransport(name, context, carriesName(name));
    made.push(transport);
    return transport;
  };
  return {
    made,
    factory,
    get last(): FakeTransport {
      const last = made[made.length - 1];
      if (!last) throw new Error('no transport was made');
      return last;
    },
  };
}

/** A stored message, as the server would send it. */
export function msg(id: number, extra: Partial<TextMessage> = {}): TextMessage {
  return { id, room: 'lobby', user: 'bob', text: `m${id}`, ts: 1_700_000_000_000 + id, ...extra };
}

/** Lets pending promise callbacks run (fake timers do not touch promises). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}
