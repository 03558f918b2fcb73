import WebSocket from 'ws';
import { EventSource } from 'eventsource';
import { ChatClient, type TextMessage, type TransportName } from '../../client';
import type { RunningServer } from '../../server/server';
import { withChatServer } from '../helpers/chat-fixture';
import type { TestRedis } from '../helpers/redis-server';
import { record, type Recording } from './helpers/record';
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy';

let server: RunningServer;
let redis: TestRedis;
// A short history, so that a client away for a few messages comes back to a gap.
withChatServer({ HISTORY_LIMIT: '5' }, (r, s) => {
  redis = r;
  server = s;
});

const clients: ChatClient[] = [];
const proxies: TcpProxy[] = [];
afterEach(async () => {
  for (const chat of clients.splice(0)) chat.close();
  await Promise.all(proxies.splice(0).map((p) => p.close()));
});

/** A client of `room` over `transport` only, with short timings so the suite stays quick. */
function join(transport: TransportName, room: string, name: string, port = server.port): { chat: ChatClient; seen: Recording } {
  const chat = new ChatClient({
    url: `http://127.0.0.1:${port}`,
    room,
    name,
    transports: [transport],
    WebSocket,
    EventSource,
    pollIntervalMs: 150,
    reconnectBaseMs: 100,
    reconnectMaxMs: 400,
  });
  clients.push(chat);
  return { chat, seen: record(chat) };
}

const isIncreasing = (ids: number[]) => ids.every((id, i) => i === 0 || id > ids[i - 1]!);

describe.each<TransportName>(['ws', 'sse', 'longpoll', 'poll'])('new ChatClient({ transports: [%p] }) against a real server', (transport) => {
  it("sends and receives: two clients see each other's messages in id order, once, and send resolves with the stored message", async () => {
    const room = `pair-${transport}`;
    const a = join(transport, room, 'alice');
    const b = join(transport, room, 'bob');
    await a.seen.until(() => a.chat.state === 'open', 'a open');
    await b.seen.until(() => b.chat.state === 'open', 'b open');
    const first = await a.chat.send('hello from alice');
    expect(first).toMatchObject({ room, user: 'alice', text: 'hello from alice', cid: expect.any(String) });
    const second = await b.chat.send('  hello from bob  ');
    expect(second).toMatchObject({ user: 'bob', text: 'hello from bob' });
    const third = await a.chat.send('third');
    const ids = [first.id, second.id, third.id];
    expect(isIncreasing(ids)).toBe(true);
    for (const { seen } of [a, b]) {
      await seen.until(() => seen.ids().length >= 3, `${transport}: all three messages`);
      expect(seen.ids()).toEqual(ids);
    }
    expect(a.chat.pending).toEqual([]);
    expect(a.chat.transport).toBe(transport);
  });

  it('resumes after the network went away: brings what was missed, no gap, no repeat', async () => {
    const room = `resume-${transport}`;
    const proxy = await startTcpProxy(server.port);
    proxies.push(proxy);
    const a = join(transport, room, 'alice', proxy.port);
    const b = join(transport, room, 'bob');
    await a.seen.until(() => a.chat.state === 'open', 'a open');
    await b.seen.until(() => b.chat.state === 'open', 'b open');
    const before = await b.chat.send('before the cut');
    await a.seen.until(() => a.seen.ids().includes(before.id), 'a saw the first message');

    await proxy.down();
    await a.seen.until(() => a.chat.state === 'reconnecting', 'a noticed the cut');
    const missed = [await b.chat.send('missed one'), await b.chat.send('missed two')];
    const queued = a.chat.send('typed while offline');
    await proxy.up();

    const mine = await queued;
    await a.seen.until(() => a.seen.ids().includes(mine.id), 'a caught up');
    const expected = [before.id, ...missed.map((m) => m.id), mine.id];
    expect(a.seen.ids()).toEqual(expected);
    expect(a.seen.histories.length).toBeGreaterThanOrEqual(2);
    expect(a.seen.histories.every((h) => !h.gap)).toBe(true);
    await b.seen.until(() => b.seen.ids().includes(mine.id), 'b saw the queued send');
    expect(b.seen.ids()).toEqual(expected);
  });

  it('comes back to a gap when more was said than the room keeps: says how much was missed, repeats nothing', async () => {
    const room = `gap-${transport}`;
    const proxy = await startTcpProxy(server.port);
    proxies.push(proxy);
    const a = join(transport, room, 'alice', proxy.port);
    const b = join(transport, room, 'bob');
    await a.seen.until(() => a.chat.state === 'open', 'a open');
    const first = await b.chat.send('seen by both');
    await a.seen.until(() => a.seen.ids().includes(first.id), 'a saw the first message');
    await proxy.down();
    await a.seen.until(() => a.chat.state === 'reconnecting', 'a noticed the cut');
    const sent: TextMessage[] = [];
    for (let i = 0; i < 8; i++) sent.push(await b.chat.send(`while away ${i}`));
    await proxy.up();
    await a.seen.until(() => a.seen.ids().includes(sent[7]!.id), 'a caught up');
    const last = a.seen.histories.at(-1)!;
    expect(last).toMatchObject({ gap: true, missed: 3 });
    expect(last.messages.map((m) => m.id)).toEqual(sent.slice(3).map((m) => m.id));
    expect(new Set(a.seen.ids()).size).toBe(a.seen.ids().length);
  });

  it('starts over with the new history, flagged as a gap, after the room was cleared', async () => {
    const room = `reset-${transport}`;
    // The room has a history before alice joins, so her first history tells her its epoch (an
    // empty room has none yet, and a cursor without one is trusted as it is: no reset to see).
    const seed = join(transport, room, 'seed');
    await seed.chat.send('before alice');
    seed.chat.close();
    const proxy = await startTcpProxy(server.port);
    proxies.push(proxy);
    const a = join(transport, room, 'alice', proxy.port);
    await a.seen.until(() => a.chat.state === 'open', 'a open');
    const epoch = a.chat.cursor.epoch;
    expect(epoch).not.toBe('');
    await a.chat.send('before the reset');
    await a.seen.until(() => a.chat.cursor.since === 2, 'a saw its message');
    await proxy.down();
    await a.seen.until(() => a.chat.state === 'reconnecting', 'a noticed the cut');
    // What `npm run history -- clear ROOM` deletes (PROTOCOL.md "Redis layout").
    await redis.client().del(`chat:{${room}}:history`, `chat:{${room}}:seq`, `chat:{${room}}:epoch`);
    const b = join(transport, room, 'bob');
    await b.seen.until(() => b.chat.state === 'open', 'b open');
    const fresh = await b.chat.send('after the reset');
    await proxy.up();
    await a.seen.until(() => a.seen.histories.length >= 2 && a.chat.cursor.since === fresh.id, 'a resynchronized');
    const last = a.seen.histories.at(-1)!;
    expect(last.gap).toBe(true);
    expect(last.epoch).not.toBe(epoch);
    expect(last.messages.map((m) => m.text)).toEqual(['after the reset']);
  });
});
