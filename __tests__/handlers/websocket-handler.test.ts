import WebSocket from 'ws';
import { EchoHandler } from '../../server/handlers/echo-handler';
import { WebSocketHandler, closeReason } from '../../server/handlers/websocket-handler';
import { WebSocketClosedError } from '../../server/errors';
import { serveHandlers, type HandlerApp } from '../helpers/handler-app';
import { closeClients, TestClient } from '../helpers/ws-client';

const events: string[] = [];

class ThrowsInOnMessage extends WebSocketHandler {
  override onMessage(message: string): void {
    if (message === 'boom') throw new Error('boom');
    this.writeMessage(`ok:${message}`);
  }
}

class ThrowsInOpen extends WebSocketHandler {
  override open(): void {
    throw new Error('open failed');
  }
}

class SlowOpen extends WebSocketHandler {
  override async open(): Promise<void> {
    events.push('open:start');
    await new Promise((r) => setTimeout(r, 150));
    events.push('open:end');
  }
  override onMessage(message: string): void {
    events.push(`message:${message}`);
    this.writeMessage({ type: 'seen', message });
  }
  override onClose(code: number): void {
    events.push(`close:${code}`);
  }
}

class WritesAfterClose extends WebSocketHandler {
  override onMessage(): void {
    this.close(1000, 'bye');
    try {
      this.writeMessage('late');
    } catch (err) {
      events.push(err instanceof WebSocketClosedError ? 'WebSocketClosedError' : 'other');
    }
  }
}

class OnlyExampleOrigin extends EchoHandler {
  override checkOrigin(origin: string): boolean {
    return origin === 'https://chat.example';
  }
}

let app: HandlerApp;
const url = (path: string) => `ws://127.0.0.1:${app.port}${path}`;

beforeAll(async () => {
  app = await serveHandlers(
    {
      '/echo/:name': EchoHandler,
      '/throws': ThrowsInOnMessage,
      '/throws-open': ThrowsInOpen,
      '/slow-open': SlowOpen,
      '/writes-after-close': WritesAfterClose,
      '/only-example': OnlyExampleOrigin,
    },
    { maxFrameBytes: 1024, maxPayload: 4096 },
  );
});
beforeEach(() => (events.length = 0));
afterEach(closeClients);
afterAll(() => app.close());

describe('EchoHandler (a subclass in a few lines)', () => {
  it('runs open() with the route params and echoes messages', async () => {
    const client = new TestClient(url('/echo/alice'));
    await client.waitFor((f) => f.type === 'hello');
    expect(client.frames[0]).toEqual({ type: 'hello', path: { name: 'alice' } });
    client.send('{"type":"ping","n":1}');
    await client.waitFor((f) => f.type === 'ping');
    expect(client.frames[1]).toEqual({ type: 'ping', n: 1 });
  });
});

describe('WebSocketHandler#run()', () => {
  it('never calls onMessage before open() has finished, and keeps arrival order', async () => {
    const client = new TestClient(url('/slow-open'));
    await client.opened();
    client.send('one');
    client.send('two');
    await client.waitForCount('seen', 2);
    expect(events).toEqual(['open:start', 'open:end', 'message:one', 'message:two']);
  });

  it('calls onClose once after the peer closes', async () => {
    const client = new TestClient(url('/slow-open'));
    await client.opened();
    await client.close();
    await new Promise((r) => setTimeout(r, 250));
    expect(events.filter((e) => e.startsWith('close:'))).toEqual(['close:1005']);
  });

  it('closes only the throwing socket with 1011 when onMessage throws', async () => {
    const bad = new TestClient(url('/throws'));
    const good = new TestClient(url('/throws'));
    await Promise.all([bad.opened(), good.opened()]);
    bad.send('boom');
    expect((await bad.closed).code).toBe(1011);
    good.send('still here');
    await good.waitFor(() => true);
    expect(good.socket.readyState).toBe(WebSocket.OPEN);
  });

  it('closes with 1011 when open() throws', async () => {
    const client = new TestClient(url('/throws-open'));
    expect((await client.closed).code).toBe(1011);
  });

  it('closes unmatched paths with 1008 instead of leaving them open', async () => {
    const client = new TestClient(url('/no/such/path'));
    expect(await client.closed).toEqual({ code: 1008, reason: 'no WebSocket endpoint at /no/such/path' });
  });

  it('closes binary frames with 1003', async () => {
    const client = new TestClient(url('/echo/x'));
    await client.opened();
    client.socket.send(Buffer.from([1, 2, 3]), { binary: true });
    expect((await client.closed).code).toBe(1003);
  });

  it('closes frames over maxMessageSize with 1009', async () => {
    const client = new TestClient(url('/echo/x'));
    await client.opened();
    client.send('x'.repeat(2000));
    expect((await client.closed).code).toBe(1009);
  });

  it('closes frames over the server maxPayload with 1009', async () => {
    const client = new TestClient(url('/echo/x'));
    await client.opened();
    client.send('x'.repeat(5000));
    expect((await client.closed).code).toBe(1009);
  });
});

describe('WebSocketHandler#writeMessage(message)', () => {
  it('throws WebSocketClosedError once the socket is closing', async () => {
    const client = new TestClient(url('/writes-after-close'));
    await client.opened();
    client.send('x');
    expect((await client.closed).code).toBe(1000);
    expect(events).toEqual(['WebSocketClosedError']);
  });
});

describe('WebSocketHandler#checkOrigin(origin)', () => {
  it('allows the server’s own origin by default and clients that send no Origin', async () => {
    const same = new TestClient(url('/echo/x'), { origin: `http://127.0.0.1:${app.port}` });
    const none = new TestClient(url('/echo/x'));
    await Promise.all([same.waitFor((f) => f.type === 'hello'), none.waitFor((f) => f.type === 'hello')]);
  });

  it('closes a foreign origin with 1008 before open()', async () => {
    const client = new TestClient(url('/echo/x'), { origin: 'https://evil.example' });
    expect(await client.closed).toEqual({ code: 1008, reason: 'origin not allowed' });
    expect(client.frames).toEqual([]);
  });

  it('can be overridden', async () => {
    const ok = new TestClient(url('/only-example'), { origin: 'https://chat.example' });
    await ok.waitFor((f) => f.type === 'hello');
    const no = new TestClient(url('/only-example'), { origin: `http://127.0.0.1:${app.port}` });
    expect((await no.closed).code).toBe(1008);
  });
});

describe('SocketRegistry heartbeat', () => {
  it('terminates a peer that answers no ping within one more interval', async () => {
    const beating = await serveHandlers({ '/echo/:name': EchoHandler }, { pingIntervalMs: 100 });
    try {
      const silent = new TestClient(`ws://127.0.0.1:${beating.port}/echo/x`, { autoPong: false });
      const alive = new TestClient(`ws://127.0.0.1:${beating.port}/echo/y`);
      await Promise.all([silent.opened(), alive.opened()]);
      expect((await silent.closed).code).toBe(1006);
      expect(alive.socket.readyState).toBe(WebSocket.OPEN);
    } finally {
      await closeClients();
      await beating.close();
    }
  });
});

describe('closeReason(reason)', () => {
  it('keeps a reason within the 123 bytes a close frame allows, cut on a character boundary', () => {
    expect(closeReason('short')).toBe('short');
    const long = closeReason('हिन्दी '.repeat(30));
    expect(Buffer.byteLength(long)).toBeLessThanOrEqual(123);
    expect(long.endsWith('…')).toBe(true);
    expect(long).not.toContain('\uFFFD');
  });
});
