import WebSocket from 'ws';

/** A frame as the server sent it, parsed. */
export type Frame = { type: string; [key: string]: unknown };

const open = new Set<TestClient>();

/**
 * A recording WebSocket client: every frame is kept, and tests wait for the frames they expect.
 * `closeClients()` in afterEach closes whatever a test left open.
 */
export class TestClient {
  readonly frames: Frame[] = [];
  readonly socket: WebSocket;
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters: Array<() => void> = [];

  constructor(url: string, options: WebSocket.ClientOptions = {}, protocols?: string[]) {
    this.socket = protocols ? new WebSocket(url, protocols, options) : new WebSocket(url, options);
    open.add(this);
    this.socket.on('message', (data, isBinary) => {
      if (!isBinary) this.frames.push(parseFrame(data.toString()));
      this.wake();
    });
    this.socket.on('error', () => undefined);
    this.closed = new Promise((resolve) =>
      this.socket.once('close', (code, reason) => {
        open.delete(this);
        this.wake();
        resolve({ code, reason: reason.toString() });
      }),
    );
  }

  /** Opens and resolves once the history frame has come. */
  static async join(url: string, options?: WebSocket.ClientOptions): Promise<TestClient> {
    const client = new TestClient(url, options);
    await client.waitFor((f) => f.type === 'history');
    return client;
  }

  opened(): Promise<void> {
    if (this.socket.readyState === WebSocket.OPEN) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.socket.once('open', () => resolve());
      this.socket.once('error', reject);
    });
  }

  send(data: string | object): void {
    this.socket.send(typeof data === 'string' ? data : JSON.stringify(data));
  }

  ofType(type: string): Frame[] {
    return this.frames.filter((f) => f.type === type);
  }

  /** Ids of the message frames received, in order. */
  messageIds(): number[] {
    return this.ofType('message').map((f) => f.id as number);
  }

  /** Resolves with the first frame (from the start) that matches, waiting up to `timeoutMs`. */
  waitFor(match: (frame: Frame) => boolean, timeoutMs = 5000): Promise<Frame> {
    return this.until(() => this.frames.find(match), timeoutMs, 'a matching frame');
  }

  /** Resolves once `count` frames of `type` have come. */
  async waitForCount(type: string, count: number, timeoutMs = 5000): Promise<Frame[]> {
    await this.until(() => (this.ofType(type).length >= count ? true : undefined), timeoutMs, `${count} ${type} frames`);
    return this.ofType(type);
  }

  close(): Promise<{ code: number; reason: string }> {
    if (this.socket.readyState === WebSocket.OPEN || this.socket.readyState === WebSocket.CONNECTING) {
      this.socket.close();
    }
    return this.closed;
  }

  private until<T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const attempt = () => {
        const value = check();
        if (value !== undefined) {
          cleanup();
          resolve(value);
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; got ${JSON.stringify(this.frames).slice(0, 600)}`));
      }, timeoutMs);
      const waiter = () => void attempt();
      const cleanup = () => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== waiter);
      };
      if (!attempt()) this.waiters.push(waiter);
    });
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

/**
 * Opens a WebSocket that the server should refuse in the handshake, and resolves with the HTTP
 * status and JSON body it answered instead of 101 (rejects if it upgraded).
 */
export function refusedUpgrade(url: string, options: WebSocket.ClientOptions = {}): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, options);
    socket.on('open', () => {
      socket.terminate();
      reject(new Error('the server upgraded the connection'));
    });
    socket.on('error', () => undefined);
    socket.on('unexpected-response', (_req, res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => {
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // not JSON
        }
        resolve({ status: res.statusCode ?? 0, body });
        socket.terminate();
      });
    });
  });
}

export async function closeClients(): Promise<void> {
  await Promise.all([...open].map((c) => c.close()));
}

/** A JSON frame as it is; any other text as `{ type: 'text', text }`. */
function parseFrame(text: string): Frame {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Frame;
  } catch {
    // not JSON
  }
  return { type: 'text', text };
}
