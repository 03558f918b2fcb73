import { EventSource } from 'eventsource';
import type { RunningServer } from '../../server/server';
import { sseCursor } from '../../server/transports/sse';
import { SseReader } from '../helpers/http';
import { withChatServer } from '../helpers/chat-fixture';
import { startTestRedis, type TestRedis } from '../helpers/redis-server';
import { startChatServer } from '../helpers/start-server';

let redis: TestRedis;
let server: RunningServer;
const readers: SseReader[] = [];

withChatServer({}, (r, s) => {
  redis = r;
  server = s;
});
afterEach(async () => {
  for (const r of readers.splice(0)) r.close();
  await redis.flush();
});

function open(path: string, headers: Record<string, string> = {}): SseReader {
  const reader = new SseReader(server.port, path, headers);
  readers.push(reader);
  return reader;
}

async function seed(room: string, count: number): Promise<string> {
  for (let i = 1; i <= count; i++) await server.history.append(room, { user: 'seed', text: `m${i}` });
  return (await server.history.since(room)).epoch;
}

describe('sseCursor(lastEventId, query)', () => {
  it('takes E:ID and bare ID, and the header wins over the query', () => {
    expect(sseCursor('ep:5', { since: 1, epoch: 'x' })).toEqual({ since: 5, epoch: 'ep' });
    expect(sseCursor('7', { since: 1 })).toEqual({ since: 7 });
    expect(sseCursor(undefined, { since: 1 })).toEqual({ since: 1 });
  });
  it('takes :ID, the id of an event sent while the room had no epoch yet, as a cursor without one', () => {
    expect(sseCursor(':0', { since: 4, epoch: 'x' })).toEqual({ since: 0 });
  });
  it('rejects anything else with bad_request', () => {
    expect(() => sseCursor('ep:x', {})).toThrow(expect.objectContaining({ code: 'bad_request' }));
  });
});

describe('GET /api/rooms/:room/events', () => {
  it('sends retry, then the replay as id: E:ID events, with headers for proxies', async () => {
    const epoch = await seed('r', 2);
    const sse = open('/api/rooms/r/events');
    await sse.waitFor(() => sse.ofType('message').length === 2);
    expect(sse.status).toBe(200);
    expect(sse.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(sse.headers['x-accel-buffering']).toBe('no');
    expect(sse.headers['cache-control']).toContain('no-cache');
    expect(sse.raw.startsWith('retry: 3000\n\n')).toBe(true);
    expect(sse.ofType('message').map((e) => e.id)).toEqual([`${epoch}:1`, `${epoch}:2`]);
    expect(JSON.parse(sse.ofType('message')[0]!.data)).toMatchObject({ id: 1, room: 'r', text: 'm1' });
  });

  it('streams new messages live', async () => {
    const sse = open('/api/rooms/live/events');
    await sse.waitFor(() => sse.events.length > 0); // the ready event
    await server.history.append('live', { user: 'u', text: 'fresh' });
    await sse.waitFor(() => sse.ofType('message').length === 1);
    expect(JSON.parse(sse.ofType('message')[0]!.data).text).toBe('fresh');
  });

  it('resumes from since, and the Last-Event-ID header wins over since', async () => {
    const epoch = await seed('r', 5);
    const bySince = open(`/api/rooms/r/events?since=3&epoch=${epoch}`);
    const byHeader = open('/api/rooms/r/events?since=1', { 'Last-Event-ID': `${epoch}:4` });
    const byBareId = open('/api/rooms/r/events', { 'Last-Event-ID': '4' });
    await bySince.waitFor(() => bySince.messageIds().length === 2);
    await byHeader.waitFor(() => byHeader.messageIds().length === 1);
    await byBareId.waitFor(() => byBareId.messageIds().length === 1);
    expect(bySince.messageIds()).toEqual([4, 5]);
    expect(byHeader.messageIds()).toEqual([5]);
    expect(byBareId.messageIds()).toEqual([5]);
  });

  it('sends event: gap with missed before the replay when it cannot resume', async () => {
    const epoch = await seed('r', 104);
    const sse = open(`/api/rooms/r/events?since=2&epoch=${epoch}`);
    await sse.waitFor(() => sse.ofType('message').length === 100);
    expect(sse.events[0]).toEqual({ event: 'gap', data: JSON.stringify({ missed: 2, epoch }) });
  });

  it('sends event: gap with missed null for a stale epoch', async () => {
    await seed('r', 2);
    const sse = open('/api/rooms/r/events', { 'Last-Event-ID': 'oldepoch:2' });
    await sse.waitFor(() => sse.ofType('message').length === 2);
    expect(JSON.parse(sse.events[0]!.data)).toMatchObject({ missed: null });
  });

  it.each([
    ['a bad room', '/api/rooms/no!pe/events', {}],
    ['a bad since', '/api/rooms/r/events?since=x', {}],
    ['a bad Last-Event-ID', '/api/rooms/r/events', { 'Last-Event-ID': 'garbage id' }],
  ])('answers %s with 400 and a JSON error, not a stream', async (_what, path, headers) => {
    const sse = open(path, headers as Record<string, string>);
    await sse.waitFor(() => sse.status !== 0 && sse.raw.length > 0);
    expect(sse.status).toBe(400);
    expect(JSON.parse(sse.raw).error.code).toBe('bad_request');
  });

  it('answers 200 with retry and one event: error when Redis is down, then ends, so EventSource retries', async () => {
    const own = await startTestRedis();
    const fragile = await startChatServer(own.url);
    await own.kill();
    const sse = new SseReader(fragile.port, '/api/rooms/r/events');
    await sse.waitFor(() => sse.ended);
    expect(sse.status).toBe(200);
    expect(sse.raw.startsWith('retry: 3000\n\n')).toBe(true);
    expect(sse.ofType('error').map((e) => JSON.parse(e.data).code)).toEqual(['unavailable']);
    sse.close();
    await fragile.close();
    await own.stop();
  });

  it('forgets a stream the moment its client goes away', async () => {
    const sse = open('/api/rooms/bye/events');
    await sse.waitFor(() => sse.events.length > 0);
    expect(server.app.transports.sse.size).toBe(1);
    sse.close();
    const start = Date.now();
    while (server.app.transports.sse.size > 0 && Date.now() - start < 2000) await new Promise((r) => setTimeout(r, 10));
    expect(server.app.transports.sse.size).toBe(0);
    expect(server.hub.memberCounts().size).toBe(0);
  });

  it('lets a real EventSource resume by itself with Last-Event-ID after the server restarts', async () => {
    const first = await startChatServer(redis.url);
    const port = first.port;
    const seen: number[] = [];
    const source = new EventSource(`http://127.0.0.1:${port}/api/rooms/resume/events`);
    source.addEventListener('message', (e) => seen.push((JSON.parse(e.data) as { id: number }).id));
    try {
      await server.history.append('resume', { user: 'u', text: 'one' });
      while (seen.length < 1) await new Promise((r) => setTimeout(r, 10));
      await first.close(); // the stream is cut
      for (let i = 2; i <= 4; i++) await server.history.append('resume', { user: 'u', text: `m${i}` });
      await startChatServer(redis.url, { PORT: String(port) });
      const deadline = Date.now() + 10_000;
      while (seen.length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(seen).toEqual([1, 2, 3, 4]);
    } finally {
      source.close();
    }
  }, 20_000);

  it('lets a real EventSource whose reconnect lands during a Redis outage resume by itself once Redis is back', async () => {
    const own = await startTestRedis({ appendOnly: true });
    const fragile = await startChatServer(own.url);
    const seen: number[] = [];
    const errors: string[] = [];
    const source = new EventSource(`http://127.0.0.1:${fragile.port}/api/rooms/outage/events`);
    source.addEventListener('message', (e) => seen.push((JSON.parse(e.data) as { id: number }).id));
    source.addEventListener('error', (e) => errors.push(String((e as { data?: string }).data ?? 'error')));
    try {
      await fragile.history.append('outage', { user: 'u', text: 'one' });
      while (seen.length < 1) await new Promise((r) => setTimeout(r, 10));
      await own.kill(); // the stream ends; its reconnects meet the outage
      await new Promise((r) => setTimeout(r, 4000));
      expect(source.readyState).not.toBe(EventSource.CLOSED);
      await own.start();
      // The server's connection comes back on its own schedule: resend with a cid until it is stored.
      for (let tries = 0; ; tries++) {
        try {
          await fragile.history.append('outage', { user: 'u', text: 'two', cid: 'two' });
          break;
        } catch (err) {
          if (tries > 50) throw err;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
      const deadline = Date.now() + 15_000;
      while (seen.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(seen).toEqual([1, 2]);
    } finally {
      source.close();
      await fragile.close();
      await own.stop();
    }
  }, 30_000);
});

describe('GET /api/rooms/:room/events in a room that had no messages', () => {
  it('gives live messages the epoch their first message created, and resumes from the empty room’s ready id', async () => {
    const fresh = new SseReader(server.port, '/api/rooms/was-empty/events');
    await fresh.waitFor(() => fresh.ofType('ready').length === 1);
    const readyId = fresh.ofType('ready')[0]!.id!;
    expect(readyId).toBe(':0');
    const { epoch } = await server.history.append('was-empty', { user: 'u', text: 'first' });
    await fresh.waitFor(() => fresh.ofType('message').length === 1);
    expect(fresh.ofType('message')[0]!.id).toBe(`${epoch}:1`);
    fresh.close();
    const resumed = new SseReader(server.port, '/api/rooms/was-empty/events', { 'Last-Event-ID': readyId });
    await resumed.waitFor(() => resumed.ofType('ready').length === 1);
    expect([resumed.status, resumed.messageIds(), resumed.ofType('gap')]).toEqual([200, [1], []]);
    resumed.close();
  });
});

describe('GET /api/rooms/:room/events and clients that go away', () => {
  it('leaves nothing behind when the client leaves while its history is read', async () => {
    const { connect } = await import('node:net');
    const leaky = await startChatServer(redis.url, { MAX_CONNECTIONS_PER_IP: '5' });
    for (let i = 0; i < 30; i++) {
      const socket = connect(leaky.port, '127.0.0.1', () => {
        socket.write(`GET /api/rooms/leak/events?name=ghost${i} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
        socket.destroy();
      });
      socket.on('error', () => undefined);
    }
    await new Promise((r) => setTimeout(r, 500));
    expect(leaky.app.transports.sse.size).toBe(0);
    expect(leaky.hub.memberCounts().size).toBe(0);
    // Nothing holds the address's places: a real client still gets in.
    const real = new SseReader(leaky.port, '/api/rooms/leak/events?name=real');
    await real.waitFor(() => real.ofType('ready').length === 1);
    expect(real.status).toBe(200);
    real.close();
  });

  it('cuts off a reader that stopped reading once MAX_BUFFERED_BYTES wait for it', async () => {
    const { connect } = await import('node:net');
    const small = await startChatServer(redis.url, { MAX_BUFFERED_BYTES: '65536', MAX_MESSAGE_LENGTH: '8000' });
    const socket = connect(small.port, '127.0.0.1');
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write('GET /api/rooms/stall/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    await new Promise<void>((resolve) => socket.once('data', () => resolve()));
    socket.pause(); // reads nothing more
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    const text = 'z'.repeat(7000);
    for (let i = 0; i < 3000 && small.app.transports.sse.size > 0; i++) await small.history.append('stall', { user: 'u', text });
    expect(small.app.transports.sse.size).toBe(0);
    socket.resume();
    await closed;
  }, 60_000);
});
