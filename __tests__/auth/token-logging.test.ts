import WebSocket from 'ws';
import { http } from '../helpers/http';
import { startTestRedis, type TestRedis } from '../helpers/redis-server';
import { killServers, spawnServer, type ServerProcess } from '../helpers/spawn-server';
import { signToken, TEST_SECRET } from '../helpers/tokens';

let redis: TestRedis;
let server: ServerProcess;

beforeAll(async () => {
  redis = await startTestRedis();
  server = await spawnServer({ REDIS_URL: redis.url, AUTH_SECRET: TEST_SECRET, LOG_LEVEL: 'debug' });
});
afterAll(async () => {
  await killServers();
  await redis.stop();
});

const opened = (url: string, options: WebSocket.ClientOptions, protocols?: string[]) =>
  new Promise<void>((resolve) => {
    const socket = protocols ? new WebSocket(url, protocols, options) : new WebSocket(url, options);
    socket.on('message', () => socket.close());
    socket.on('close', () => resolve());
    socket.on('error', () => resolve());
  });

describe('the request log', () => {
  it('never holds a token, in whatever carrier it came, valid or not', async () => {
    const valid = signToken({ sub: 'u-logged' });
    const forged = signToken({ sub: 'u-logged' }, {}, 'not-the-secret-but-long-enough-to-sign!!');
    const base = `ws://127.0.0.1:${server.port}/ws/lobby`;
    for (const token of [valid, forged]) {
      await http(server.port, 'GET', `/api/rooms/lobby/messages?token=${token}`);
      await http(server.port, 'GET', '/api/rooms/lobby/messages', undefined, { authorization: `Bearer ${token}` });
      await http(server.port, 'POST', '/api/rooms/lobby/messages', { text: 'hi' }, { cookie: `chat_token=${token}` });
      await opened(`${base}?token=${token}`, {});
      await opened(base, { headers: { authorization: `Bearer ${token}` } });
      await opened(base, {}, ['chat', `bearer.${token}`]);
    }
    await new Promise((r) => setTimeout(r, 300));
    const log = server.output();
    expect(log).toContain('"url":"/api/rooms/lobby/messages?token=[redacted]"');
    expect(log).toContain('"status":401');
    for (const token of [valid, forged]) {
      // The signature alone is enough to replay a token: neither it nor the token may appear.
      expect(log).not.toContain(token);
      expect(log).not.toContain(token.split('.')[2]!);
    }
  });
});
