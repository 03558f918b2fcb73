import Redis from 'ioredis';
import { WebSocketServer, type WebSocket } from 'ws';
import { historyKey } from '../server/engine/redis/keys';

/**
 * The baseline: a bare `ws` broadcast server with no Redis on the send path. Each text it
 * receives becomes one pre-serialized string of the same shape as ours, sent to every client.
 * With REDIS_URL it also replays a room's history on connect with one LRANGE, the baseline
 * for the time to join.
 */
const port = Number(process.env.PORT ?? 0);
const redis = process.env.REDIS_URL ? new Redis(process.env.REDIS_URL) : undefined;
const clients = new Set<WebSocket>();
const wss = new WebSocketServer({ port, host: '127.0.0.1', perMessageDeflate: false, maxPayload: 65536 });
let id = 0;

wss.on('connection', async (socket, req) => {
  clients.add(socket);
  socket.on('close', () => clients.delete(socket));
  socket.on('message', (data) => {
    const text = data.toString();
    const frame = `{"type":"message","id":${++id},"room":"bench","user":"sender","text":${JSON.stringify(text)},"ts":${Date.now()}}`;
    for (const client of clients) client.send(frame);
  });
  if (redis && req.url?.includes('history')) {
    const items = await redis.lrange(historyKey('bench-join'), 0, -1);
    socket.send(`{"type":"history","room":"bench-join","messages":[${items.reverse().join(',')}],"gap":false}`);
  }
});
wss.on('listening', () => {
  const address = wss.address() as { port: number };
  process.stdout.write(`Baseline listening on http://127.0.0.1:${address.port}\n`);
});
