import { execSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import Redis from 'ioredis';
import { historyKey } from '../server/engine/redis/keys';
import { startLocalRedis, type LocalRedis } from '../server/engine/redis/local-redis';
import { freePort } from './lib/free-port';
import type { Job } from './load';
import { runTransports } from './transports';

/**
 * `npm run bench`: our server against a bare `ws` broadcast server, measured in the same run on
 * the same machine, each figure printed beside its ratio to the baseline. Every server and the
 * load generator run in processes of their own; a private redis-server is started and stopped.
 */

const ROOT = join(__dirname, '..');
const children = new Set<ChildProcess>();

export interface ServerHandle {
  port: number;
  pid: number;
  stop(): Promise<void>;
}

const V8_FLAGS = ['--max-semi-space-size=2'];

/** The compiled JavaScript of a TypeScript entry point: servers are measured as `npm start` runs them. */
const compiled = (entry: string) => join(ROOT, 'dist', entry.replace(/\.ts$/, '.js'));

/** Starts an entry point (compiled) with env and resolves once it prints its address. */
export function startProcess(entry: string, env: Record<string, string>): Promise<ServerHandle> {
  // Servers run with the V8 flags `npm start` gives them (package.json), the baseline too.
  const child = spawn(process.execPath, [...V8_FLAGS, compiled(entry)], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.add(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        resolve({
          port: Number(m[1]),
          pid: child.pid!,
          stop: () =>
            new Promise<void>((done) => {
              children.delete(child);
              if (child.exitCode !== null) return done();
              child.once('exit', () => done());
              child.kill('SIGKILL');
            }),
        });
      }
    });
    child.once('exit', (code) => reject(new Error(`${entry} exited with ${code}: ${out}`)));
  });
}

/** Runs one load job in its own process and returns its RESULT. */
export function runLoad<T>(job: Job): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [compiled('bench/load.ts'), JSON.stringify(job)], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.add(child);
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.once('exit', (code) => {
      children.delete(child);
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (code === 0 && line) resolve(JSON.parse(line.slice(7)) as T);
      else reject(new Error(`load generator failed (${code}): ${out}`));
    });
  });
}

interface FanoutResult {
  sent: number;
  delivered: number;
  lost: number;
  deliveriesPerSec: number;
  latencyMs: { p50: number; p99: number; max: number };
  serverCores: number;
  serverCpuSec: number;
  serverPeakMb: number;
  clientCores: number;
}

const ratio = (ours: number, base: number) => (base > 0 ? `${(ours / base).toFixed(2)}×` : 'n/a');
const pad = (s: string | number, n: number) => String(s).padEnd(n);

function printFanout(title: string, ours: FanoutResult, base: FanoutResult): void {
  console.log(`\n## ${title}`);
  const rows: Array<[string, number, number, string]> = [
    ['deliveries/s', ours.deliveriesPerSec, base.deliveriesPerSec, ratio(ours.deliveriesPerSec, base.deliveriesPerSec)],
    ['latency p50 ms', ours.latencyMs.p50, base.latencyMs.p50, ratio(ours.latencyMs.p50, base.latencyMs.p50)],
    ['latency p99 ms', ours.latencyMs.p99, base.latencyMs.p99, ratio(ours.latencyMs.p99, base.latencyMs.p99)],
    ['latency max ms', ours.latencyMs.max, base.latencyMs.max, ratio(ours.latencyMs.max, base.latencyMs.max)],
    ['messages lost', ours.lost, base.lost, ''],
    ['server CPU (cores)', ours.serverCores, base.serverCores, ratio(ours.serverCores, base.serverCores)],
    ['server CPU µs/delivery', perDelivery(ours), perDelivery(base), ratio(perDelivery(ours), perDelivery(base))],
    ['server peak MB', ours.serverPeakMb, base.serverPeakMb, ratio(ours.serverPeakMb, base.serverPeakMb)],
    ['load generator CPU (cores)', ours.clientCores, base.clientCores, ''],
  ];
  console.log(`${pad('figure', 28)}${pad('ours', 12)}${pad('baseline', 12)}ours/baseline`);
  for (const [name, a, b, r] of rows) console.log(`${pad(name, 28)}${pad(a, 12)}${pad(b, 12)}${r}`);
  if (ours.clientCores > 0.85 || base.clientCores > 0.85) {
    console.log('note: the load generator was near one full core: these figures are limited by the client, not the server.');
  }
}

function perDelivery(r: FanoutResult): number {
  return Math.round((r.serverCpuSec / Math.max(1, r.delivered)) * 1e6 * 100) / 100;
}

async function fanoutPair(redisUrl: string, clients: number, senders: number, rate: number, seconds: number) {
  const ours = await startProcess('server/index.ts', { REDIS_URL: redisUrl, RATE_LIMIT: '0' });
  const oursResult = await runLoad<FanoutResult>({
    mode: 'fanout',
    url: `ws://127.0.0.1:${ours.port}/ws/bench`,
    serverPid: ours.pid,
    clients,
    senders,
    rate,
    seconds,
  });
  await ours.stop();
  const base = await startProcess('bench/baseline-server.ts', {});
  const baseResult = await runLoad<FanoutResult>({
    mode: 'fanout',
    url: `ws://127.0.0.1:${base.port}/`,
    serverPid: base.pid,
    clients,
    senders,
    rate,
    seconds,
  });
  await base.stop();
  return { ours: oursResult, base: baseResult };
}

async function main(): Promise<void> {
  const opts = new Command()
    .name('npm run bench --')
    .option('--clients <n>', 'receivers in the room', (v) => Number(v), 1000)
    .option('--seconds <n>', 'measured seconds per run', (v) => Number(v), 10)
    .option('--saturate', 'raise the rate until p99 passes 250 ms or a message is lost')
    .option('--transports', 'compare WebSocket, SSE, long polling and short polling on one room')
    .option('--only <scenarios>', 'a comma-separated subset of: 50, 100, join, idle', (v) => v.split(','))
    .parse()
    .opts<{ clients: number; seconds: number; saturate?: boolean; transports?: boolean; only?: string[] }>();
  const wanted = (scenario: string) => !opts.only || opts.only.includes(scenario);

  execSync('npm run -s build', { cwd: ROOT, stdio: 'inherit' });
  const dir = mkdtempSync(join(tmpdir(), 'chat-bench-'));
  let redis: LocalRedis | undefined;
  try {
    redis = await startLocalRedis('127.0.0.1', await freePort(), dir, { appendOnly: false });
    console.log(`# chat server benchmark (Node ${process.version}, ${new Date().toISOString()})`);
    console.log(`private redis-server at ${redis.url}; each figure beside the same figure for a bare ws broadcast server`);
    if (opts.transports) {
      await runTransports(redis.url);
      return;
    }
    if (opts.saturate) {
      await saturate(redis.url, opts.clients);
      return;
    }
    if (wanted('50')) {
      const a = await fanoutPair(redis.url, opts.clients, 1, 50, opts.seconds);
      printFanout(`${opts.clients} clients × 50 messages/s, 1 sender`, a.ours, a.base);
    }
    if (wanted('100')) {
      const b = await fanoutPair(redis.url, opts.clients, 5, 100, opts.seconds);
      printFanout(`${opts.clients} clients × 100 messages/s, 5 senders`, b.ours, b.base);
    }
    if (wanted('join')) await joins(redis.url);
    if (wanted('idle')) await idleMemory(redis.url);
  } finally {
    for (const child of children) child.kill('SIGKILL');
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Raises the rate by half each step until p99 passes 250 ms or a message is lost. */
async function saturate(redisUrl: string, clients: number): Promise<void> {
  for (const [name, entry, url] of [
    ['ours', 'server/index.ts', (p: number) => `ws://127.0.0.1:${p}/ws/bench`],
    ['baseline', 'bench/baseline-server.ts', (p: number) => `ws://127.0.0.1:${p}/`],
  ] as const) {
    let rate = 50;
    let held = 0;
    console.log(`\n## saturation, ${name}: ${clients} clients, 5 senders, 5 s per step`);
    for (;;) {
      const server = await startProcess(entry, { REDIS_URL: redisUrl, RATE_LIMIT: '0' });
      const r = await runLoad<FanoutResult>({ mode: 'fanout', url: url(server.port), serverPid: server.pid, clients, senders: 5, rate, seconds: 5 });
      await server.stop();
      console.log(`rate ${rate}/s: ${r.deliveriesPerSec} deliveries/s, p99 ${r.latencyMs.p99} ms, lost ${r.lost}, server ${r.serverCores} cores, load generator ${r.clientCores} cores`);
      if (r.latencyMs.p99 > 250 || r.lost > 0) break;
      held = rate;
      rate = Math.round(rate * 1.5);
    }
    console.log(`highest rate that held (${name}): ${held} messages/s = ${held * clients} deliveries/s`);
  }
}

/** Time to join a room holding 100 messages, beside a bare ws server replaying the same list with one LRANGE. */
async function joins(redisUrl: string): Promise<void> {
  const client = new Redis(redisUrl);
  const ours = await startProcess('server/index.ts', { REDIS_URL: redisUrl, RATE_LIMIT: '0' });
  const seedSocket = await import('ws').then(
    (ws) =>
      new Promise<import('ws').WebSocket>((resolve) => {
        const s = new ws.default(`ws://127.0.0.1:${ours.port}/ws/bench-join?name=seed`);
        s.once('open', () => resolve(s));
      }),
  );
  for (let i = 0; i < 100; i++) seedSocket.send(`history message number ${i} with some ordinary chat text`);
  while ((await client.llen(historyKey('bench-join'))) < 100) await new Promise((r) => setTimeout(r, 20));
  seedSocket.close();
  type JoinResult = { joinMs: { p50: number; p99: number; max: number } };
  const oursResult = await runLoad<JoinResult>({ mode: 'join', url: `ws://127.0.0.1:${ours.port}/ws/bench-join`, serverPid: ours.pid, joins: 200 });
  await ours.stop();
  const base = await startProcess('bench/baseline-server.ts', { REDIS_URL: redisUrl });
  const baseResult = await runLoad<JoinResult>({ mode: 'join', url: `ws://127.0.0.1:${base.port}/history`, serverPid: base.pid, joins: 200 });
  await base.stop();
  client.disconnect();
  console.log('\n## time to join a room with a 100-message history (200 joins, one at a time)');
  console.log(`${pad('figure', 28)}${pad('ours', 12)}${pad('baseline', 12)}ours/baseline`);
  for (const k of ['p50', 'p99', 'max'] as const) {
    console.log(`${pad(`join ${k} ms`, 28)}${pad(oursResult.joinMs[k], 12)}${pad(baseResult.joinMs[k], 12)}${ratio(oursResult.joinMs[k], baseResult.joinMs[k])}`);
  }
}

/** Server memory per idle WebSocket at 10,000 connections (100 rooms of 100). */
async function idleMemory(redisUrl: string): Promise<void> {
  const ours = await startProcess('server/index.ts', { REDIS_URL: redisUrl, RATE_LIMIT: '0' });
  const r = await runLoad<{ rssBeforeMb: number; rssAfterMb: number; kbPerConnection: number }>({
    mode: 'idle',
    url: `ws://127.0.0.1:${ours.port}/ws`,
    serverPid: ours.pid,
    clients: 10_000,
    rooms: 100,
  });
  await ours.stop();
  console.log('\n## memory per idle connection (10,000 WebSockets in 100 rooms)');
  console.log(`server RSS ${r.rssBeforeMb} MB before, ${r.rssAfterMb} MB after: ${r.kbPerConnection} KB per connection`);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    for (const child of children) child.kill('SIGKILL');
    process.exit(1);
  });
}
