import WebSocket from 'ws';
import { EventSource } from 'eventsource';
import { ChatClient, type TransportName } from '../../client';
import { http } from '../helpers/http';
import { startTestRedis, type TestRedis } from '../helpers/redis-server';
import { killServers, spawnServer, type ServerProcess } from '../helpers/spawn-server';
import { record } from './helpers/record';

jest.setTimeout(30_000);

let redis: TestRedis;
let server: ServerProcess;
let port: number;
const clients: ChatClient[] = [];
const env = () => ({ REDIS_URL: redis.url, RATE_LIMIT: '0', PORT: String(port) });

beforeAll(async () => {
  redis = await startTestRedis();
  port = 0;
  server = await spawnServer(env());
  port = server.port;
});
afterEach(() => {
  for (const chat of clients.splice(0)) chat.close();
});
afterAll(async () => {
  await killServers();
  await redis?.stop();
});

describe.each<TransportName>(['ws', 'sse', 'longpoll', 'poll'])('new ChatClient({ transports: [%p] }) when the server is SIGKILLed and restarted', (transport) => {
  it('stores a send made while the server was down exactly once, hands no id on twice and reports no gap', async () => {
    const room = `restart-${transport}`;
    const chat = new ChatClient({
      url: `http://127.0.0.1:${port}`,
      room,
      name: 'alice',
      transports: [transport],
      WebSocket,
      EventSource,
      pollIntervalMs: 150,
      reconnectBaseMs: 200,
      reconnectMaxMs: 1000,
    });
    clients.push(chat);
    const seen = record(chat);
    await seen.until(() => chat.state === 'open', 'open');
    const before = await chat.send('before the crash');

    // One send on the wire as the process dies (it may or may not be stored), one queued while it is down.
    const inFlight = chat.send('in flight at the crash');
    await server.kill('SIGKILL');
    await seen.until(() => chat.state === 'reconnecting', 'the client noticed');
    const queued = chat.send('queued while down');
    expect(chat.pending.map((p) => p.text)).toContain('queued while down');
    server = await spawnServer(env());

    const [flown, waited] = await Promise.all([inFlight, queued]);
    await seen.until(() => seen.ids().includes(waited.id) && seen.ids().includes(flown.id), 'both sends came back');
    const stored = await http(port, 'GET', `/api/rooms/${room}/messages`);
    const texts = (stored.json.messages as Array<{ text: string }>).map((m) => m.text);
    expect(texts.sort()).toEqual(['before the crash', 'in flight at the crash', 'queued while down'].sort());
    const ids = seen.ids();
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual([...ids].sort((x, y) => x - y));
    expect(ids).toEqual([before.id, ...[flown.id, waited.id].sort((x, y) => x - y)]);
    expect(seen.histories.length).toBeGreaterThanOrEqual(2);
    expect(seen.histories.some((h) => h.gap)).toBe(false);
    expect(chat.pending).toEqual([]);
  });
});
