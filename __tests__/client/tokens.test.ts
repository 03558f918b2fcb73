import { createHmac } from 'node:crypto';
import WebSocket from 'ws';
import { EventSource } from 'eventsource';
import { ChatClient, type TransportName } from '../../client';
import type { RunningServer } from '../../server/server';
import { withChatServer } from '../helpers/chat-fixture';
import { record } from './helpers/record';

const SECRET = 'a-test-secret-of-at-least-32-bytes!!';
let server: RunningServer;
withChatServer({ AUTH_SECRET: SECRET }, (_redis, s) => (server = s));

const clients: ChatClient[] = [];
afterEach(() => clients.splice(0).forEach((chat) => chat.close()));

/** An HS256 token, as the app's backend would sign it. */
function token(claims: Record<string, unknown>): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const unsigned = `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ iat: now, exp: now + 600, ...claims })}`;
  return `${unsigned}.${createHmac('sha256', SECRET).update(unsigned).digest('base64url')}`;
}

function join(transport: TransportName, options: { token?: string; getToken?: () => Promise<string> }) {
  const chat = new ChatClient({ url: server.url, room: `tokens-${transport}`, transports: [transport], WebSocket, EventSource, ...options });
  clients.push(chat);
  return { chat, seen: record(chat) };
}

describe.each<TransportName>(['ws', 'sse', 'longpoll', 'poll'])('new ChatClient({ token, transports: [%p] }) against a server that verifies tokens', (transport) => {
  it('carries the token: the server stores the message under the token’s user', async () => {
    const { chat } = join(transport, { token: token({ sub: `user-${transport}`, name: 'Token Holder' }) });
    const stored = await chat.send('signed in');
    expect(stored).toMatchObject({ uid: `user-${transport}`, user: 'Token Holder' });
    expect(chat.isOwn(stored)).toBe(true);
  });

  it('ends in closed with unauthorized, and no retry, when the token is refused', async () => {
    const { chat, seen } = join(transport, { getToken: async () => token({ sub: 'mallory' }).slice(0, -2) + 'xx' });
    await seen.until(() => chat.state === 'closed', 'closed');
    expect(seen.errors.map((e) => e.code)).toContain('unauthorized');
    expect(seen.states).not.toContain('open');
  });
});

describe("new ChatClient({ token, WebSocket: a browser's }) against a server that verifies tokens", () => {
  /** A browser's WebSocket cannot set headers: only the subprotocol can carry the token. */
  class BrowserLikeWebSocket extends WebSocket {
    constructor(url: string, protocols: string[]) {
      super(url, protocols);
    }
  }

  it('carries the token in the bearer.TOKEN subprotocol alone, and the server selects chat', async () => {
    const made: BrowserLikeWebSocket[] = [];
    class Recording extends BrowserLikeWebSocket {
      constructor(url: string, protocols: string[]) {
        super(url, protocols);
        made.push(this);
      }
    }
    const chat = new ChatClient({ url: server.url, room: 'tokens-browser', transports: ['ws'], WebSocket: Recording, token: token({ sub: 'browser-user' }) });
    clients.push(chat);
    const stored = await chat.send('from a page');
    expect(stored).toMatchObject({ uid: 'browser-user' });
    expect(made[0]!.protocol).toBe('chat');
  });
});
