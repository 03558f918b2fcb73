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

describe.each<TransportName>(['ws', 'sse', 'longpoll', 'poll'])('new ChatClient({ transports: [%p] }) in a room whose history Redis loses', (transport) => {
  it('starts over after the reset gap and hands on every new message, though it joined the room while it was empty', async () => {
    const room = `lost-${transport}`;
    const options = { url: `http://127.0.0.1:${port}`, room, WebSocket, EventSource, pollIntervalMs: 150, reconnectBaseMs: 200, reconnectMaxMs: 1000 };
    const reader = new ChatClient({ ...options, name: 'reader', transports: [transport] });
    const sender = new ChatClient({ ...options, name: 'sender', transports: ['poll'] });
    clients.push(reader, sender);
    const seen = record(reader);
    await seen.until(() => reader.state === 'open', 'open');
    for (const text of ['before 1', 'before 2', 'before 3']) await sender.send(text);
    await seen.until(() => seen.messages.length === 3, 'the first three');

    await redis.kill(); // no persistence: it comes back empty, as a wiped master does
    await redis.start();
    const after = [];
    for (const text of ['after 1', 'after 2', 'after 3']) after.push(await sender.send(text));
    expect(after.map((m) => m.id)).toEqual([1, 2, 3]); // the room began anew

    const texts = () => [...seen.histories.flatMap((h) => h.messages), ...seen.messages].map((m) => m.text);
    await seen.until(() => texts().filter((t) => t?.startsWith('after')).length >= 3, 'the new messages');
    expect(texts().filter((t) => t?.startsWith('after'))).toEqual(['after 1', 'after 2', 'after 3']);
    expect(seen.histories.some((h) => h.gap && h.missed === null)).toBe(true);
  });
});
