import { spawn } from 'node:child_process';
import { join } from 'node:path';
import WebSocket from 'ws';
import { ChatClient } from '../client';
import { record } from './client/helpers/record';
import { http } from './helpers/http';
import { startTestRedis, type TestRedis } from './helpers/redis-server';
import { roomUrl } from './helpers/start-server';
import { killServers, runServerToExit, spawnServer, type ServerProcess } from './helpers/spawn-server';
import { closeClients, TestClient } from './helpers/ws-client';

// WORKERS (PROTOCOL.md v2 "Scaling out"): npm start runs that many server processes on one port.

jest.setTimeout(40_000);
let redis: TestRedis;
const clients: ChatClient[] = [];

beforeAll(async () => {
  redis = await startTestRedis();
});
afterEach(async () => {
  for (const chat of clients.splice(0)) chat.close();
  await closeClients();
  await killServers();
});
afterAll(async () => {
  await redis.stop();
});

const workerPids = (server: ServerProcess): number[] =>
  [...server.output().matchAll(/"workerPid":(\d+)[^\n]*"msg":"worker started"/g)].map((m) => Number(m[1]));
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const until = async (check: () => boolean, timeoutMs = 15_000): Promise<void> => {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
};

describe('WORKERS=2', () => {
  it('prints one ready line once both listen on one port, and every worker serves the same rooms', async () => {
    const server = await spawnServer({ REDIS_URL: redis.url, WORKERS: '2', LOG_LEVEL: 'info', RATE_LIMIT: '0' });
    const ready = server.output().split('\n').filter((l) => l.startsWith('Chat server listening'));
    expect(ready).toEqual([`Chat server listening on http://127.0.0.1:${server.port} · engine: redis at ${redis.url} · 2 workers`]);
    expect(workerPids(server)).toHaveLength(2);
    // Round-robin: eight connections reach both workers, and all see one room.
    const members = await Promise.all(Array.from({ length: 8 }, () => TestClient.join(roomUrl(server, 'shared'))));
    await http(server.port, 'POST', '/api/rooms/shared/messages', { user: 'u', text: 'to all' });
    await Promise.all(members.map((m) => m.waitFor((f) => f.type === 'message' && f.text === 'to all')));
  });

  it('restarts a worker that dies; its clients reconnect and resume with no gap and no repeat', async () => {
    const server = await spawnServer({ REDIS_URL: redis.url, WORKERS: '2', LOG_LEVEL: 'info', RATE_LIMIT: '0' });
    const [victim] = workerPids(server);
    const chats = Array.from({ length: 6 }, (_, i) => {
      const chat = new ChatClient({ url: `http://127.0.0.1:${server.port}`, room: 'survive', name: `c${i}`, transports: ['ws'], WebSocket });
      clients.push(chat);
      return { chat, seen: record(chat) };
    });
    await Promise.all(chats.map(({ seen }) => seen.until(() => seen.states.includes('open'), 'open')));
    const sender = chats[0]!.chat;
    for (let i = 1; i <= 5; i++) await sender.send(`before ${i}`);
    process.kill(victim!, 'SIGKILL');
    for (let i = 1; i <= 5; i++) await sender.send(`after ${i}`);
    await until(() => server.output().includes('a worker exited; restarting it'));
    await until(() => workerPids(server).length === 3);
    for (const { seen } of chats) {
      await seen.until(() => seen.ids().includes(10), 'all ten messages');
      expect(seen.ids()).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
      expect(seen.histories.some((h) => h.gap)).toBe(false);
    }
  });

  it('stops every worker on SIGTERM with the graceful shutdown of one process (1001) and exits 0', async () => {
    const server = await spawnServer({ REDIS_URL: redis.url, WORKERS: '2', LOG_LEVEL: 'info' });
    const pids = workerPids(server);
    const members = await Promise.all(Array.from({ length: 4 }, () => TestClient.join(roomUrl(server, 'bye'))));
    expect(await server.kill('SIGTERM')).toBe(0);
    for (const m of members) expect((await m.closed).code).toBe(1001);
    expect(pids.filter(alive)).toEqual([]);
  });

  it('stops everything when its parent goes away, as npm’s shell or a process manager would', async () => {
    const entry = join(__dirname, '..', 'server', 'index.ts');
    const shell = spawn('sh', ['-c', `"${process.execPath}" --import tsx "${entry}"`], {
      cwd: join(__dirname, '..'),
      env: { ...process.env, REDIS_URL: redis.url, WORKERS: '2', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    shell.stdout!.on('data', (d) => (out += d));
    await until(() => out.includes('Chat server listening'));
    const primary = Number(/"pid":(\d+)[^\n]*"msg":"worker started"/.exec(out)![1]);
    const pids = [...out.matchAll(/"workerPid":(\d+)/g)].map((m) => Number(m[1]));
    shell.kill('SIGKILL'); // the shell dies; the primary is orphaned
    await until(() => !alive(primary) && pids.every((p) => !alive(p)), 15_000);
  });
});

describe('WORKERS with the memory engine', () => {
  it('stops at start with a sentence: the memory engine serves one process', async () => {
    const { code, output } = await runServerToExit({ ENGINE: 'memory', WORKERS: '2', MEMORY_SNAPSHOT_PATH: '' });
    expect(code).toBe(1);
    expect(output).toContain('WORKERS must be 1 (it is 2)');
  });
});

describe('npm start with WORKERS=2, stopped the way a container runtime stops it', () => {
  it('stops every process when SIGTERM is sent to npm itself (the start script execs node)', async () => {
    const npm = spawn('npm', ['start'], {
      cwd: join(__dirname, '..'),
      env: { ...process.env, REDIS_URL: redis.url, WORKERS: '2', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    npm.stdout!.on('data', (d) => (out += d));
    npm.stderr!.on('data', (d) => (out += d));
    await until(() => /Chat server listening on http:\/\/127\.0\.0\.1:(\d+)/.test(out), 90_000);
    const port = Number(/listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out)![1]);
    const pids = [...out.matchAll(/"pid":(\d+)/g), ...out.matchAll(/"workerPid":(\d+)/g)].map((m) => Number(m[1]));
    expect(pids.length).toBeGreaterThanOrEqual(3);
    npm.kill('SIGTERM');
    await until(() => pids.every((pid) => !alive(pid)), 15_000);
    await expect(http(port, 'GET', '/healthz')).rejects.toThrow();
  }, 120_000);
});
