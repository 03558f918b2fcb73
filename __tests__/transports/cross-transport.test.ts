import type { RunningServer } from '../../server/server';
import { http, SseReader } from '../helpers/http';
import { withChatServer } from '../helpers/chat-fixture';
import { roomUrl } from '../helpers/start-server';
import { closeClients, TestClient } from '../helpers/ws-client';

afterEach(closeClients);

// The same behaviour on every engine: the memory engine may not drift from Redis.
describe.each(['redis', 'memory'])('on the %s engine', (engine) => {
  let server: RunningServer;
  withChatServer({ ENGINE: engine, MEMORY_SNAPSHOT_PATH: '' }, (_redis, s) => (server = s));

  type Seen = Array<{ id: number; text: string }>;

  /** Follows a room by long polling with its cursor until `count` messages are seen. */
  async function longPollFollow(room: string, count: number): Promise<Seen> {
    const seen: Seen = [];
    let since = 0;
    let epoch = '';
    while (seen.length < count) {
      const res = await http(server.port, 'GET', `/api/rooms/${room}/poll?since=${since}${epoch ? `&epoch=${epoch}` : ''}&timeout=5`);
      epoch = res.json.epoch;
      for (const m of res.json.messages as Seen) seen.push({ id: m.id, text: m.text });
      since = res.json.last;
    }
    return seen;
  }

  /** Follows a room by short polling every 20 ms. */
  async function shortPollFollow(room: string, count: number): Promise<Seen> {
    const seen: Seen = [];
    let since = 0;
    while (seen.length < count) {
      const res = await http(server.port, 'GET', `/api/rooms/${room}/messages?since=${since}`);
      for (const m of res.json.messages as Seen) seen.push({ id: m.id, text: m.text });
      since = res.json.last;
      await new Promise((r) => setTimeout(r, 20));
    }
    return seen;
  }

  describe('every transport on one room', () => {
    it('delivers messages sent over WebSocket and HTTP to members on every transport, in one order', async () => {
      const room = 'mixed';
      const ws = await TestClient.join(roomUrl(server, room, { name: 'ws' }));
      const sse = new SseReader(server.port, `/api/rooms/${room}/events`);
      await sse.waitFor(() => sse.events.length > 0);
      const longPoll = longPollFollow(room, 40);
      const shortPoll = shortPollFollow(room, 40);

      const wsSends = (async () => {
        for (let i = 0; i < 20; i++) ws.send({ type: 'message', text: `ws-${i}`, cid: `w${i}` });
        await ws.waitForCount('ack', 20);
      })();
      const httpSends = (async () => {
        for (let i = 0; i < 20; i++) await http(server.port, 'POST', `/api/rooms/${room}/messages`, { user: 'http', text: `http-${i}` });
      })();
      await Promise.all([wsSends, httpSends]);

      await ws.waitForCount('message', 40);
      await sse.waitFor(() => sse.ofType('message').length === 40);
      const byWs = ws.ofType('message').map((f) => ({ id: f.id as number, text: f.text as string }));
      const bySse = sse.ofType('message').map((e) => {
        const m = JSON.parse(e.data) as { id: number; text: string };
        return { id: m.id, text: m.text };
      });
      expect(byWs.map((m) => m.id)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
      expect(bySse).toEqual(byWs);
      expect(await longPoll).toEqual(byWs);
      expect(await shortPoll).toEqual(byWs);
      sse.close();
    }, 20_000);
  });

  describe('every transport, resuming into a room that was reset and is now empty', () => {
    // A client holding a cursor of the old history must hear of the reset even though there is
    // nothing to replay: otherwise it drops the room's new messages (ids restart at 1).
    it('announces the gap with the new epoch on WebSocket, SSE, long polling and short polling', async () => {
      const room = 'reset-empty'; // never written to here: as after `clear`, or a Redis that lost its data
      const stale = 'stale-epoch';

      const ws = await TestClient.join(roomUrl(server, room, { since: 1, epoch: stale }));
      const history = ws.ofType('history')[0]!;
      expect(history).toMatchObject({ gap: true, messages: [] });

      const sse = new SseReader(server.port, `/api/rooms/${room}/events?since=1&epoch=${stale}`);
      await sse.waitFor(() => sse.ofType('ready').length === 1);
      expect(sse.ofType('gap').map((e) => JSON.parse(e.data))).toEqual([{ missed: null, epoch: history.epoch }]);
      sse.close();

      const longPoll = await http(server.port, 'GET', `/api/rooms/${room}/poll?since=1&epoch=${stale}&timeout=5`);
      expect(longPoll.json).toMatchObject({ gap: true, messages: [], epoch: history.epoch });

      const shortPoll = await http(server.port, 'GET', `/api/rooms/${room}/messages?since=1&epoch=${stale}`);
      expect(shortPoll.json).toMatchObject({ gap: true, messages: [], epoch: history.epoch });
    });
  });
});
