import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { startLocalRedis, type LocalRedis } from '../server/engine/redis/local-redis';
import { freePort } from './lib/free-port';
import { prng } from './lib/prng';

/**
 * The chaos run behind the delivery guarantees: receivers on all four transports, spread over
 * two server processes, while senders send with cids and, at random, sockets are cut, a process
 * is killed and restarted, Redis is restarted (append-only, fsync always: an acknowledged write
 * survives), a reader stalls, and a reader sleeps through more messages than the room keeps.
 * Each receiver checks, message by message: no id twice, ids strictly increasing, and every skip
 * announced as a gap with exactly its count. At the end every receiver must hold the last
 * acknowledged id.
 */

export interface ChaosOptions {
  seconds: number;
  seed: number;
  /** Receivers per transport. */
  receivers: number;
  /** Messages per second over all senders. */
  rate: number;
  historyLimit: number;
  log?: (line: string) => void;
}

export interface ReceiverReport {
  name: string;
  transport: Transport;
  received: number;
  last: number;
  gaps: Array<{ after: number; missed: number | null }>;
  reconnects: number;
  problems: string[];
}

export interface ChaosReport {
  acked: number;
  lastId: number;
  ackMismatches: string[];
  events: Record<string, number>;
  receivers: ReceiverReport[];
  seconds: number;
}

type Transport = 'ws' | 'sse' | 'longpoll' | 'poll';
interface Message {
  id: number;
  text: string;
}

const ROOT = join(__dirname, '..');
const ROOM = 'chaos';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One receiver's view of the room, checked as it goes. */
class Tracker {
  epoch: string | undefined;
  last = 0;
  joined = false;
  received = 0;
  reconnects = 0;
  readonly gaps: Array<{ after: number; missed: number | null }> = [];
  readonly problems: string[] = [];
  private pendingGap: number | null | undefined;

  constructor(
    readonly name: string,
    readonly transport: Transport,
  ) {}

  /** A history answer (join, resume or resync). */
  history(epoch: string, messages: Message[], gap: boolean, missed: number | null | undefined): void {
    if (this.epoch !== undefined && epoch !== this.epoch) {
      this.problems.push(`the epoch changed from ${this.epoch} to ${epoch}: an acknowledged history was lost`);
    }
    this.epoch = epoch;
    this.joined = true;
    if (gap) this.gap(missed ?? null);
    for (const m of messages) this.message(m);
  }

  gap(missed: number | null): void {
    this.gaps.push({ after: this.last, missed });
    this.pendingGap = missed;
  }

  message(m: Message): void {
    if (m.id <= this.last) {
      this.problems.push(`message ${m.id} came again (or out of order) after ${this.last}`);
      return;
    }
    const skipped = m.id - this.last - 1;
    if (skipped > 0 && this.pendingGap !== skipped) {
      this.problems.push(`ids jumped from ${this.last} to ${m.id} with ${this.pendingGap === undefined ? 'no gap reported' : `a gap of ${this.pendingGap} reported`}`);
    }
    this.pendingGap = undefined;
    this.last = m.id;
    this.received++;
  }

  query(extra = ''): string {
    const parts = [];
    if (this.joined) parts.push(`since=${this.last}`);
    if (this.epoch) parts.push(`epoch=${this.epoch}`);
    if (extra) parts.push(extra);
    return parts.length ? `?${parts.join('&')}` : '';
  }
}

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const log = options.log ?? (() => undefined);
  const random = prng(options.seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const events: Record<string, number> = {};
  const count = (event: string) => (events[event] = (events[event] ?? 0) + 1);
  const started = Date.now();

  // ---- Redis and two server processes ------------------------------------------------------
  const redisPort = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'chat-chaos-'));
  let redis: LocalRedis = await startLocalRedis('127.0.0.1', redisPort, dir, { fsyncAlways: true });
  const redisUrl = redis.url;
  const ports = [await freePort(), await freePort()];
  const servers: Array<ChildProcess | undefined> = [undefined, undefined];
  const startServer = (slot: number) =>
    new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'server', 'index.ts')], {
        cwd: ROOT,
        env: {
          ...process.env,
          PORT: String(ports[slot]),
          HOST: '127.0.0.1',
          REDIS_URL: redisUrl,
          HISTORY_LIMIT: String(options.historyLimit),
          RATE_LIMIT: '0',
          MAX_BUFFERED_BYTES: '16384',
          PING_INTERVAL_MS: '2000',
          LOG_LEVEL: 'silent',
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      servers[slot] = child;
      let out = '';
      child.stdout!.on('data', (d) => {
        out += d;
        if (out.includes('listening on')) resolve();
      });
      child.once('exit', (code) => (out.includes('listening on') ? undefined : reject(new Error(`server exited ${code}`))));
    });
  const killServer = async (slot: number) => {
    const child = servers[slot];
    servers[slot] = undefined;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((done) => {
      child.once('exit', () => done());
      child.kill('SIGKILL');
    });
  };
  await Promise.all([startServer(0), startServer(1)]);
  const anyPort = () => pick(ports);

  let stopping = false;
  const stops: Array<() => void> = [];

  // ---- receivers ---------------------------------------------------------------------------
  const trackers: Tracker[] = [];
  const cutters: Array<() => void> = [];
  const stallers: Array<(ms: number) => void> = [];
  const sleepers: Array<(ms: number) => void> = [];

  const wsReceiver = (t: Tracker) => {
    let socket: WebSocket | undefined;
    let asleepUntil = 0;
    const open = () => {
      if (stopping) return;
      const ws = new WebSocket(`ws://127.0.0.1:${anyPort()}/ws/${ROOM}${t.query('name=' + t.name)}`);
      socket = ws;
      ws.on('message', (data: Buffer) => {
        const frame = JSON.parse(data.toString()) as { type: string; epoch: string; messages: Message[]; gap: boolean; missed?: number } & Message;
        if (frame.type === 'history') t.history(frame.epoch, frame.messages, frame.gap, frame.missed);
        if (frame.type === 'message') t.message(frame);
      });
      ws.on('error', () => undefined);
      ws.once('close', () => {
        if (socket !== ws || stopping) return;
        t.reconnects++;
        setTimeout(open, Math.max(50 + random() * 250, asleepUntil - Date.now()));
      });
    };
    open();
    cutters.push(() => socket?.terminate());
    stallers.push((ms) => {
      const raw = (socket as unknown as { _socket?: { pause(): void; resume(): void } } | undefined)?._socket;
      raw?.pause();
      setTimeout(() => raw?.resume(), ms);
    });
    sleepers.push((ms) => {
      asleepUntil = Date.now() + ms;
      socket?.terminate();
    });
    stops.push(() => socket?.terminate());
  };

  const sseReceiver = (t: Tracker) => {
    let req: ClientRequest | undefined;
    let asleepUntil = 0;
    const open = () => {
      if (stopping) return;
      const headers: Record<string, string> = t.joined && t.epoch ? { 'Last-Event-ID': `${t.epoch}:${t.last}` } : {};
      const r = request({ host: '127.0.0.1', port: anyPort(), path: `/api/rooms/${ROOM}/events?name=${t.name}`, headers, agent: false });
      req = r;
      const again = () => {
        if (req !== r || stopping) return;
        req = undefined;
        t.reconnects++;
        setTimeout(open, Math.max(50 + random() * 250, asleepUntil - Date.now()));
      };
      r.on('response', (res: IncomingMessage) => {
        if (res.statusCode !== 200) {
          res.resume();
          res.once('end', again);
          return;
        }
        res.setEncoding('utf8');
        let buffer = '';
        res.on('data', (chunk: string) => {
          buffer += chunk;
          let end;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const event = /^event: (.*)$/m.exec(block)?.[1];
            const data = /^data: (.*)$/m.exec(block)?.[1];
            if (!event || !data) continue;
            const value = JSON.parse(data) as { epoch: string; missed: number | null; last: number } & Message;
            if (event === 'gap') {
              if (t.epoch !== undefined && value.epoch !== t.epoch) t.history(value.epoch, [], true, null);
              else {
                t.epoch = value.epoch;
                t.gap(value.missed);
              }
            } else if (event === 'ready') {
              if (!t.joined) t.history(value.epoch, [], false, undefined);
            } else if (event === 'message') {
              const epoch = /^id: ([^:]+):/m.exec(block)?.[1];
              if (!t.joined && epoch) t.history(epoch, [], false, undefined);
              t.message(value);
            }
          }
        });
        res.once('end', again);
        res.once('error', again);
      });
      r.on('error', again);
      r.end();
    };
    open();
    cutters.push(() => req?.destroy());
    sleepers.push((ms) => {
      asleepUntil = Date.now() + ms;
      req?.destroy();
    });
    stops.push(() => req?.destroy());
  };

  const pollReceiver = (t: Tracker, long: boolean) => {
    let asleepUntil = 0;
    let current: ClientRequest | undefined;
    void (async () => {
      while (!stopping) {
        if (Date.now() < asleepUntil) {
          await sleep(50);
          continue;
        }
        const path = long
          ? `/api/rooms/${ROOM}/poll${t.query('timeout=3')}`
          : `/api/rooms/${ROOM}/messages${t.query()}`;
        try {
          const answer = await new Promise<{ epoch: string; messages: Message[]; gap: boolean; missed?: number }>((resolve, reject) => {
            const r = request({ host: '127.0.0.1', port: anyPort(), path, agent: false }, (res) => {
              let text = '';
              res.setEncoding('utf8');
              res.on('data', (d) => (text += d));
              res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(text)) : reject(new Error(`HTTP ${res.statusCode}`))));
              res.on('error', reject);
            });
            current = r;
            r.on('error', reject);
            r.end();
          });
          if (!t.joined || answer.gap || answer.epoch !== t.epoch) t.history(answer.epoch, answer.messages, answer.gap, answer.missed);
          else for (const m of answer.messages) t.message(m);
          if (!long) await sleep(150);
        } catch {
          t.reconnects++;
          await sleep(100 + random() * 200);
        }
      }
    })();
    cutters.push(() => current?.destroy());
    sleepers.push((ms) => {
      asleepUntil = Date.now() + ms;
      current?.destroy();
    });
  };

  for (const transport of ['ws', 'sse', 'longpoll', 'poll'] as const) {
    for (let i = 0; i < options.receivers; i++) {
      const t = new Tracker(`${transport}-${i}`, transport);
      trackers.push(t);
      if (transport === 'ws') wsReceiver(t);
      if (transport === 'sse') sseReceiver(t);
      if (transport === 'longpoll') pollReceiver(t, true);
      if (transport === 'poll') pollReceiver(t, false);
    }
  }
  const deadline = Date.now() + 15_000;
  while (trackers.some((t) => !t.joined) && Date.now() < deadline) await sleep(50);

  // ---- senders -----------------------------------------------------------------------------
  const acked = new Map<string, number>();
  const ackMismatches: string[] = [];
  const ack = (cid: string, id: number) => {
    const before = acked.get(cid);
    if (before !== undefined && before !== id) ackMismatches.push(`${cid} acked as ${before} and then ${id}`);
    acked.set(cid, id);
  };
  const senderCount = 3;
  const interval = (1000 * senderCount) / options.rate;

  const wsSender = async (n: number) => {
    let socket: WebSocket | undefined;
    const waiters = new Map<string, (ok: boolean) => void>();
    const connect = () =>
      new Promise<WebSocket | undefined>((resolve) => {
        const ws = new WebSocket(`ws://127.0.0.1:${anyPort()}/ws/${ROOM}?name=sender-${n}`);
        ws.on('message', (data: Buffer) => {
          const f = JSON.parse(data.toString()) as { type: string; cid?: string; id?: number };
          if (f.type === 'ack' && f.cid) {
            ack(f.cid, f.id!);
            waiters.get(f.cid)?.(true);
          }
          if (f.type === 'error' && f.cid) waiters.get(f.cid)?.(false);
          if (f.type === 'history') resolve(ws);
        });
        ws.on('error', () => undefined);
        ws.once('close', () => {
          for (const w of waiters.values()) w(false);
          resolve(undefined);
        });
      });
    for (let i = 0; ; i++) {
      if (Date.now() - started > options.seconds * 1000) break;
      const cid = `ws${n}-${i}`;
      for (let attempt = 0; ; attempt++) {
        if (!socket || socket.readyState !== WebSocket.OPEN) socket = await connect();
        if (!socket) {
          await sleep(100);
          continue;
        }
        const ok = await new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(false), 3000);
          waiters.set(cid, (value) => {
            clearTimeout(timer);
            resolve(value);
          });
          socket!.send(JSON.stringify({ type: 'message', text: `message ${cid}`, cid }));
        });
        waiters.delete(cid);
        if (ok) break;
        await sleep(100);
      }
      await sleep(interval * (0.5 + random()));
    }
    socket?.close();
  };

  const httpSender = async () => {
    for (let i = 0; ; i++) {
      if (Date.now() - started > options.seconds * 1000) break;
      const cid = `http-${i}`;
      for (;;) {
        const result = await new Promise<number | undefined>((resolve) => {
          const body = JSON.stringify({ user: 'http-sender', text: `message ${cid}`, cid });
          const r = request(
            { host: '127.0.0.1', port: anyPort(), path: `/api/rooms/${ROOM}/messages`, method: 'POST', agent: false, headers: { 'content-type': 'application/json' } },
            (res) => {
              let text = '';
              res.on('data', (d) => (text += d));
              res.on('end', () => resolve(res.statusCode! < 300 ? (JSON.parse(text) as { message: Message }).message.id : undefined));
              res.on('error', () => resolve(undefined));
            },
          );
          r.on('error', () => resolve(undefined));
          r.end(body);
        });
        if (result !== undefined) {
          ack(cid, result);
          break;
        }
        await sleep(100);
      }
      await sleep(interval * (0.5 + random()));
    }
  };

  const sending = Promise.all([wsSender(0), wsSender(1), httpSender()]);

  // ---- chaos -------------------------------------------------------------------------------
  const sleepMs = Math.ceil((options.historyLimit / options.rate) * 1500);
  const actions: Array<[string, () => Promise<void>]> = [
    ['cut a connection', async () => pick(cutters)()],
    ['cut a connection', async () => pick(cutters)()],
    ['stall a reader', async () => pick(stallers)(1500 + random() * 2500)],
    ['kill and restart a server process', async () => {
      const slot = Math.floor(random() * 2);
      await killServer(slot);
      await sleep(300 + random() * 1200);
      await startServer(slot);
    }],
    ['restart Redis', async () => {
      await redis.kill();
      await sleep(300 + random() * 1000);
      redis = await startLocalRedis('127.0.0.1', redisPort, dir, { fsyncAlways: true });
    }],
    ['a reader sleeps through an overflow', async () => pick(sleepers)(sleepMs)],
  ];
  const chaosUntil = started + options.seconds * 1000;
  // Every kind of fault once, in a seeded order, then at random.
  const firstRound = [...actions].sort(() => random() - 0.5);
  while (Date.now() < chaosUntil - 2000) {
    await sleep(800 + random() * 1500);
    const [name, act] = firstRound.shift() ?? pick(actions);
    count(name);
    log(`chaos: ${name}`);
    await act();
  }

  await sending;
  const lastId = Math.max(0, ...acked.values());
  const catchUpUntil = Date.now() + 20_000;
  while (trackers.some((t) => t.last < lastId) && Date.now() < catchUpUntil) await sleep(100);
  stopping = true;
  for (const stop of stops) stop();
  await Promise.all([killServer(0), killServer(1)]);
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });

  return {
    acked: acked.size,
    lastId,
    ackMismatches,
    events,
    seconds: Math.round((Date.now() - started) / 1000),
    receivers: trackers.map((t) => ({
      name: t.name,
      transport: t.transport,
      received: t.received,
      last: t.last,
      gaps: t.gaps,
      reconnects: t.reconnects,
      problems: t.last === lastId ? t.problems : [...t.problems, `ended at id ${t.last}, not at the last acknowledged id ${lastId}`],
    })),
  };
}
