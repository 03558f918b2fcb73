import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { redisAnswers } from '../../server/engine/redis/local-redis';
import { freePort } from './free-port';

/** A private redis-server for one test file: a free port, no persistence unless asked. */
export interface TestRedis {
  readonly port: number;
  readonly url: string;
  /** A plain client for assertions and for corrupting data on purpose. */
  client(): Redis;
  flush(): Promise<void>;
  /** Kills the server (SIGKILL: an outage, not a shutdown). */
  kill(): Promise<void>;
  /** Starts it again on the same port and data directory. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts a redis-server of the suite's own; never the user's. */
export async function startTestRedis(options: { appendOnly?: boolean } = {}): Promise<TestRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'chat-redis-'));
  const clients: Redis[] = [];
  let child: ChildProcess | undefined;

  const start = async () => {
    const proc = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', options.appendOnly ? 'yes' : 'no',
        '--appendfsync', 'always', '--dir', dir, '--loglevel', 'warning'],
      { stdio: 'ignore' },
    );
    child = proc;
    for (let i = 0; i < 200; i++) {
      if (await redisAnswers('127.0.0.1', port, 200)) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`redis-server did not start on port ${port}`);
  };
  const kill = async () => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null) return;
    await new Promise<void>((done) => {
      proc.once('exit', () => done());
      proc.kill('SIGKILL');
    });
  };

  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    client() {
      const c = new Redis(port, '127.0.0.1', { lazyConnect: false, maxRetriesPerRequest: 1 });
      c.on('error', () => undefined);
      clients.push(c);
      return c;
    },
    async flush() {
      const c = new Redis(port, '127.0.0.1');
      await c.flushall();
      c.disconnect();
    },
    kill,
    start,
    async stop() {
      for (const c of clients) c.disconnect();
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
