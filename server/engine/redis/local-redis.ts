import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createConnection } from 'node:net';
import { resolve } from 'node:path';

/** True when something at host:port answers a Redis PING within `timeoutMs`. */
export function redisAnswers(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((done) => {
    const socket = createConnection({ host, port });
    const finish = (ok: boolean) => {
      socket.destroy();
      done(ok);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('error', () => finish(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => finish(data.toString().startsWith('+PONG')));
  });
}

/** True when `redis-server` is on the PATH. */
export function redisServerInstalled(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** A redis-server this process started for itself; `stop()` shuts it down. */
export interface LocalRedis {
  readonly url: string;
  readonly dir: string;
  /** Shuts it down (SIGTERM: it writes what it holds). */
  stop(): Promise<void>;
  /** Kills it (SIGKILL: a crash). */
  kill(): Promise<void>;
}

/**
 * Starts `redis-server` on host:port with its data in `dir` (append-only file on unless turned
 * off, so history survives a restart) and resolves once it answers.
 */
export async function startLocalRedis(
  host: string,
  port: number,
  dir: string,
  options: { appendOnly?: boolean; fsyncAlways?: boolean } = {},
): Promise<LocalRedis> {
  const dataDir = resolve(dir);
  mkdirSync(dataDir, { recursive: true });
  const child: ChildProcess = spawn(
    'redis-server',
    [
      '--port', String(port), '--bind', host, '--dir', dataDir,
      '--appendonly', options.appendOnly === false ? 'no' : 'yes', '--save', '', '--daemonize', 'no',
      '--appendfsync', options.fsyncAlways ? 'always' : 'everysec',
    ],
    { stdio: 'ignore' },
  );
  let exited = false;
  child.once('exit', () => (exited = true));
  const end = (signal: NodeJS.Signals) =>
    new Promise<void>((done) => {
      if (exited) return done();
      child.once('exit', () => done());
      child.kill(signal);
    });
  for (let i = 0; i < 100 && !exited; i++) {
    if (await redisAnswers(host, port, 200)) {
      return {
        url: `redis://${host}:${port}`,
        dir: dataDir,
        stop: () => end('SIGTERM'),
        kill: () => end('SIGKILL'),
      };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  throw new Error(`redis-server did not start on ${host}:${port}`);
}
