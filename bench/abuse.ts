import { spawn } from 'node:child_process';
import { join } from 'node:path';
import WebSocket from 'ws';
import { startLocalRedis } from '../server/engine/redis/local-redis';
import { freePort } from './lib/free-port';
import { cpuSeconds } from './lib/proc';

/**
 * `node --import tsx bench/abuse.ts`: the flood and growth cases of the "limits and abuse" issue,
 * measured the way they were reported, against a server of this tree with its defaults and a
 * private redis-server. Loopback only; every process is stopped at the end.
 *   1. one WebSocket sends 100,000 one-byte frames in 10 s: what the server stored, and its CPU
 *      in the 10 s after the flooder left;
 *   2. 50 WebSockets of one address send as fast as they can for 9 s: what was stored;
 *   3. one address opens 2,000 WebSockets: how many the server takes.
 */

const ROOT = join(__dirname, '..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const redisPort = await freePort();
  const redis = await startLocalRedis('127.0.0.1', redisPort, `/tmp/chat-abuse-${process.pid}`, { appendOnly: false });
  const port = await freePort();
  const server = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'server', 'index.ts')], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', REDIS_URL: redis.url, LOG_LEVEL: 'silent' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve) => server.stdout!.on('data', (d: Buffer) => d.toString().includes('listening') && resolve()));
  const url = (room: string) => `ws://127.0.0.1:${port}/ws/${room}`;
  const last = async (room: string) => {
    const res = await fetch(`http://127.0.0.1:${port}/api/rooms/${room}/messages?limit=1`);
    return ((await res.json()) as { last: number }).last;
  };
  const open = (room: string) =>
    new Promise<WebSocket | undefined>((resolve) => {
      const ws = new WebSocket(url(room));
      ws.on('open', () => resolve(ws));
      ws.on('error', () => resolve(undefined));
      ws.on('unexpected-response', () => resolve(undefined));
    });
  try {
    // 1. One flooder.
    const flooder = (await open('flood'))!;
    let closed = '';
    flooder.on('close', (code, reason) => (closed = `${code} ${reason.toString()}`));
    const started = Date.now();
    let sent = 0;
    while (Date.now() - started < 10_000 && sent < 100_000 && flooder.readyState === WebSocket.OPEN) {
      for (let i = 0; i < 1000 && flooder.readyState === WebSocket.OPEN; i++, sent++) flooder.send('x');
      await sleep(100);
    }
    flooder.terminate();
    const storedAtLeave = await last('flood');
    const cpuAtLeave = cpuSeconds(server.pid!);
    await sleep(10_000);
    const cpuAfter = cpuSeconds(server.pid!) - cpuAtLeave;
    const storedAfter = (await last('flood')) - storedAtLeave;
    console.log(`1. one WebSocket flooding: sent ${sent} frames before the server closed it (${closed || 'not closed'}); stored ${storedAtLeave}; after it left: ${storedAfter} more stored, server CPU ${cpuAfter.toFixed(2)} s in 10 s`);

    // 2. Fifty sockets of one address.
    const sockets = (await Promise.all(Array.from({ length: 50 }, () => open('many')))).filter((s): s is WebSocket => !!s);
    const until = Date.now() + 9000;
    let i = 0;
    while (Date.now() < until) {
      for (const s of sockets) if (s.readyState === WebSocket.OPEN) s.send(JSON.stringify({ type: 'message', text: `m${i++}` }));
      await sleep(20);
    }
    await sleep(500);
    console.log(`2. 50 WebSockets of one address for 9 s (RATE_LIMIT 20): ${await last('many')} messages stored`);
    for (const s of sockets) s.terminate();
    await sleep(500);

    // 3. Two thousand connections of one address.
    const many = await Promise.all(Array.from({ length: 2000 }, () => open('crowd')));
    console.log(`3. one address opening 2,000 WebSockets: ${many.filter(Boolean).length} accepted (MAX_CONNECTIONS_PER_IP 100)`);
    for (const s of many) s?.terminate();
  } finally {
    server.kill('SIGKILL');
    await redis.stop();
  }
}

void main();
