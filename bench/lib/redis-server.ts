import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { redisAnswers } from '../../server/engine/redis/local-redis';
import { freePort } from './free-port';

/**
 * The benchmark's own redis-server: 127.0.0.1, a free port, no persistence
 * (`--save "" --appendonly no`), its pid known so its CPU can be read, stopped at the end.
 * The Redis on 6379 is never touched.
 */
export interface BenchRedis {
  readonly url: string;
  readonly pid: number;
  /** A client for the bench's own reads (cursors, INFO). */
  readonly client: Redis;
  /** Calls per command so far (INFO commandstats; `info` itself left out). */
  commandCalls(): Promise<Map<string, number>>;
  stop(): Promise<void>;
}

/** Starts the bench's own redis-server and resolves once it answers. */
export async function startBenchRedis(): Promise<BenchRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'chat-bench-redis-'));
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no'],
    { stdio: 'ignore' },
  );
  const stop = () =>
    new Promise<void>((done) => {
      const finish = () => {
        rmSync(dir, { recursive: true, force: true });
        done();
      };
      if (child.exitCode !== null || child.signalCode !== null) return finish();
      child.once('exit', finish);
      child.kill('SIGKILL');
    });
  // A bench that dies any way at all still takes its redis-server with it.
  process.once('exit', () => child.kill('SIGKILL'));
  for (let i = 0; i < 100; i++) {
    if (await redisAnswers('127.0.0.1', port, 200)) {
      const url = `redis://127.0.0.1:${port}`;
      const client = new Redis(url);
      return {
        url,
        pid: child.pid!,
        client,
        async commandCalls() {
          const text = await client.info('commandstats');
          const calls = new Map<string, number>();
          for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) if (m[1] !== 'info') calls.set(m[1]!, Number(m[2]));
          return calls;
        },
        async stop() {
          client.disconnect();
          await stop();
        },
      };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  await stop();
  throw new Error(`redis-server did not start on 127.0.0.1:${port}`);
}

/** Calls per command between two `commandCalls()` readings, largest first. */
export function callsBetween(before: Map<string, number>, after: Map<string, number>): Array<[string, number]> {
  const delta: Array<[string, number]> = [];
  for (const [cmd, n] of after) {
    const d = n - (before.get(cmd) ?? 0);
    if (d > 0) delta.push([cmd, d]);
  }
  return delta.sort((a, b) => b[1] - a[1]);
}
