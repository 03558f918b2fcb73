import Redis from 'ioredis';
import { WebSocketServer, type WebSocket } from 'ws';
import { historyKey } from '../server/engine/redis/keys';

/**
 * The baseline: a bare `ws` broadcast server with no Redis on the send path. A client joins the
 * room its path names (`/ROOM`; `/` is the room `bench`); each text it receives becomes one
 * string of the same shape as ours, sent to every client of that room. With REDIS_URL and
 * `?history=1` a join also replays the room's stored history with one LRANGE (our server's own
 * list), keeping only ids after `since` when given: the baseline for the time to join.
 */
const port = Number(process.env.PORT ?? 0);
const redis = process.env.REDIS_URL ? new Redis(process.env.REDIS_URL) : undefined;
const rooms = new Map<string, Set<WebSocket>>();
const wss = new WebSocketServer({ port, host: '127.0.0.1', perMessageDeflate: false, maxPayload: 65536 });
let id = 0;

wss.on('connection', async (socket, req) => {
  const url = new URL(req.url ?? '/', 'http://x');
  const room = decodeURIComponent(url.pathname.slice(1)) || 'bench';
  let members = rooms.get(room);
  if (!members) rooms.set(room, (members = new Set()));
  members.add(socket);
  socket.on('close', () => {
    members.delete(socket);
    if (members.size === 0 && rooms.get(room) === members) rooms.delete(room);
  });
  socket.on('message', (data) => {
    const text = data.toString();
    const frame = `{"type":"message","id":${++id},"room":${JSON.stringify(room)},"user":"sender","text":${JSON.stringify(text)},"ts":${Date.now()}}`;
    for (const client of members) client.send(frame);
  });
  if (redis && url.searchParams.has('history')) {
    const since = Number(url.searchParams.get('since') ?? -1);
    let items = (await redis.lrange(historyKey(room), 0, -1)).reverse();
    // Stored messages start with their id (`{"id":N,`), so the cursor is a filter on that prefix.
    if (since >= 0) items = items.filter((json) => Number(json.slice(6, json.indexOf(','))) > since);
    socket.send(`{"type":"history","room":${JSON.stringify(room)},"messages":[${items.join(',')}],"gap":false}`);
  }
});
wss.on('listening', () => {
  const address = wss.address() as { port: number };
  process.stdout.write(`Baseline listening on http://127.0.0.1:${address.port}\n`);
});
