import { request } from 'node:http';

/** Percent-encodes what a raw request line cannot carry (non-ASCII, spaces), and nothing else. */
export function encodePath(path: string): string {
  return path.toWellFormed().replace(/[^\x21-\x7e]+/g, (run: string) => encodeURIComponent(run));
}

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** The parsed body, loosely typed so tests can assert on it directly. */
  json: any;
}

/** A plain HTTP request to a test server on 127.0.0.1. */
export function http(
  port: number,
  method: string,
  path: string,
  body?: string | Buffer | object,
  headers: Record<string, string> = {},
): Promise<HttpAnswer> {
  const payload = body === undefined ? undefined : typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path: encodePath(path), agent: false, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => {
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    if (payload !== undefined) req.end(payload);
    else req.end();
  });
}

/** An SSE event as parsed off the wire. */
export interface SseEvent {
  id?: string;
  event: string;
  data: string;
}

/** A raw SSE reader: the bytes as the server sent them, parsed into events; no reconnects. */
export class SseReader {
  readonly events: SseEvent[] = [];
  raw = '';
  status = 0;
  /** True once the server ended the stream. */
  ended = false;
  headers: Record<string, string | string[] | undefined> = {};
  private readonly req;
  private waiters: Array<() => void> = [];

  constructor(port: number, path: string, headers: Record<string, string> = {}) {
    this.req = request({ host: '127.0.0.1', port, path: encodePath(path), agent: false, headers }, (res) => {
      this.status = res.statusCode ?? 0;
      this.headers = res.headers;
      res.setEncoding('utf8');
      let buffer = '';
      res.on('data', (chunk: string) => {
        this.raw += chunk;
        buffer += chunk;
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event: SseEvent = { event: 'message', data: '' };
          let hasField = false;
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) continue;
            const [field, ...rest] = line.split(': ');
            const value = rest.join(': ');
            if (field === 'id') event.id = value;
            if (field === 'event') event.event = value;
            if (field === 'data') event.data += value;
            if (field === 'id' || field === 'event' || field === 'data') hasField = true;
          }
          if (hasField) this.events.push(event);
        }
        this.wake();
      });
      res.on('end', () => {
        this.ended = true;
        this.wake();
      });
    });
    this.req.on('error', () => this.wake());
    this.req.end();
  }

  ofType(event: string): SseEvent[] {
    return this.events.filter((e) => e.event === event);
  }

  /** Message ids received, in order. */
  messageIds(): number[] {
    return this.ofType('message').map((e) => (JSON.parse(e.data) as { id: number }).id);
  }

  waitFor(check: () => boolean, timeoutMs = 5000): Promise<void> {
    return new Promise((resolve, reject) => {
      if (check()) return resolve();
      const timer = setTimeout(() => reject(new Error(`timed out; got ${this.raw.slice(0, 800)}`)), timeoutMs);
      const waiter = () => {
        if (!check()) return;
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve();
      };
      this.waiters.push(waiter);
    });
  }

  close(): void {
    this.req.destroy();
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }
}
