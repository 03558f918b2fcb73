import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { EventSource } from 'eventsource';
import WebSocket from 'ws';
import { ChatClient, type HistoryEvent, type StoredEvent, type TransportName } from '../client';
import { startChaosStore, type ChaosEngine, type ChaosStore } from './lib/chaos-store';
import { startFaultProxy, type FaultProxy } from './lib/fault-proxy';
import { freePort } from './lib/free-port';
import { prng } from './lib/prng';

/**
 * The chaos run behind the delivery guarantees, held by the client library itself: every
 * receiver and every sender is a `ChatClient` (receivers on one transport each, all four
 * transports, spread over two server processes; senders through `send()`, with its outbox and
 * cids), while, at random, connections are cut, a process is killed and restarted, the store
 * fails (append-only, fsync always: an acknowledged write survives; bench/lib/chaos-store.ts:
 * one Redis restarted, or on a Redis Cluster the room's master restarted, the room's slot moved
 * to another master, another master restarted), a reader stalls, and a reader sleeps through
 * more messages than the room keeps. The faults reach the clients through
 * their network, never their code: each client talks to the servers through its own TCP proxy
 * (bench/lib/fault-proxy.ts), which picks a server process for every connection, and can cut,
 * stall or refuse. Each receiver checks what the library hands it, event by event: no id twice,
 * ids strictly increasing, and every skip announced as a gap with exactly its count. At the end
 * every receiver must hold the last acknowledged id, and every send must have settled once.
 */

export interface ChaosOptions {
  seconds: number;
  seed: number;
  /** Receivers per transport. */
  receivers: number;
  /** Messages per second over all senders. */
  rate: number;
  historyLimit: number;
  /** The store: one redis-server (the default), or a Redis Cluster of three masters. */
  engine?: ChaosEngine;
  /** Where each server process's logs go (`server-0.log`, `server-1.log`, at LOG_LEVEL info); default: nowhere. */
  serverLogDir?: string;
  log?: (line: string) => void;
}

export interface ReceiverReport {
  name: string;
  transport: TransportName;
  received: number;
  last: number;
  gaps: Array<{ after: number; missed: number | null }>;
  reconnects: number;
  problems: string[];
}

export interface ChaosReport {
  engine: ChaosEngine;
  /** The store, with its addresses. */
  store: string;
  /** Every fault, when it began (seconds into the run) and what exactly it did. */
  faults: Array<{ at: number; name: string; detail: string }>;
  acked: number;
  lastId: number;
  ackMismatches: string[];
  /** Sends that were refused or never settled (each must resolve once, with its stored message). */
  sendProblems: string[];
  /** Server processes that exited when no fault killed them. */
  crashes: string[];
  events: Record<string, number>;
  receivers: ReceiverReport[];
  seconds: number;
}

const ROOT = join(__dirname, '..');
const ROOM = 'chaos';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One receiver's view of the room, checked as the library hands it on. */
class Tracker {
  epoch = '';
  last = 0;
  joined = false;
  received = 0;
  reconnects = 0;
  readonly gaps: Array<{ after: number; missed: number | null }> = [];
  readonly problems: string[] = [];
  private pendingGap: number | null | undefined;

  constructor(
    readonly name: string,
    readonly transport: TransportName,
    /** Seconds into the run, to line a problem up with the faults. */
    private readonly clock: () => string,
  ) {}

  private problem(text: string): void {
    this.problems.push(`${text} (at ${this.clock()} s)`);
  }

  /** A `history` event (join, resume or resync). */
  history(h: HistoryEvent): void {
    // An empty epoch means none was known yet (an empty room): learning one is no change.
    if (this.epoch !== '' && h.epoch !== this.epoch) {
      this.problem(`the epoch changed from ${this.epoch} to ${h.epoch}: an acknowledged history was lost`);
    }
    if (h.epoch !== '') this.epoch = h.epoch;
    if (this.joined && h.gap) {
      this.gaps.push({ after: this.last, missed: h.missed });
      this.pendingGap = h.missed;
    }
    this.joined = true;
    for (const m of h.messages) this.message(m);
  }

  /** A `message` event, or one message of a history. */
  message(m: StoredEvent): void {
    if (m.id <= this.last) {
      this.problem(`message ${m.id} came again (or out of order) after ${this.last}`);
      return;
    }
    const skipped = m.id - this.last - 1;
    if (skipped > 0 && this.pendingGap !== skipped) {
      this.problem(`ids jumped from ${this.last} to ${m.id} with ${this.pendingGap === undefined ? 'no gap reported' : `a gap of ${this.pendingGap} reported`}`);
    }
    this.pendingGap = undefined;
    this.last = m.id;
    this.received++;
  }
}

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const engine = options.engine ?? 'redis';
  const log = options.log ?? (() => undefined);
  const random = prng(options.seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const events: Record<string, number> = {};
  const count = (event: string) => (events[event] = (events[event] ?? 0) + 1);
  const faults: ChaosReport['faults'] = [];
  const started = Date.now();
  const clock = () => ((Date.now() - started) / 1000).toFixed(1);

  // ---- the store and two server processes --------------------------------------------------
  const store: ChaosStore = await startChaosStore(engine, ROOM, random);
  log(`store: ${store.description}`);
  const ports: number[] = [];
  const servers: Array<ChildProcess | undefined> = [undefined, undefined];
  const crashes: string[] = [];
  // A run that dies halfway (a throw, an exit) still takes its server processes with it.
  const killServersOnExit = () => servers.forEach((child) => child?.kill('SIGKILL'));
  process.on('exit', killServersOnExit);
  // The store's own variables and nothing inherited about Redis: a REDIS_CLUSTER_NODES in the
  // environment would win over REDIS_URL, and neither may ever lead to someone else's Redis.
  const inherited: NodeJS.ProcessEnv = { ...process.env };
  delete inherited.REDIS_URL;
  delete inherited.REDIS_CLUSTER_NODES;
  if (options.serverLogDir) mkdirSync(options.serverLogDir, { recursive: true });
  const startServer = (slot: number) =>
    new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'server', 'index.ts')], {
        cwd: ROOT,
        env: {
          ...inherited,
          ...store.env,
          ENGINE: 'redis',
          PORT: String(ports[slot]),
          HOST: '127.0.0.1',
          HISTORY_LIMIT: String(options.historyLimit),
          RATE_LIMIT: '0',
          MAX_BUFFERED_BYTES: '16384',
          PING_INTERVAL_MS: '2000',
          LOG_LEVEL: options.serverLogDir ? 'info' : 'silent',
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      servers[slot] = child;
      // Logs (pino) go to stdout, as the line that says the server listens does.
      const logFile = options.serverLogDir ? createWriteStream(join(options.serverLogDir, `server-${slot}.log`), { flags: 'a' }) : undefined;
      let listening = false;
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        logFile?.write(d);
        if (listening) return;
        out += d.toString();
        if (out.includes('listening on')) {
          listening = true;
          resolve();
        }
      });
      child.once('exit', (code, signal) => {
        logFile?.end();
        if (!listening) reject(new Error(`server exited ${code}`));
        // killServer forgets a process before it kills it: one still known died by itself.
        else if (servers[slot] === child) crashes.push(`server process ${slot} exited by itself (${signal ?? `code ${code}`}, at ${clock()} s)`);
      });
    });
  const killServer = async (slot: number) => {
    const child = servers[slot];
    servers[slot] = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((done) => {
      child.once('exit', () => done());
      child.kill('SIGKILL');
    });
  };

  let stopping = false;
  const clients: ChatClient[] = [];
  const proxies: FaultProxy[] = [];
  try {
    ports.push(await freePort(), await freePort());
    await Promise.all([startServer(0), startServer(1)]);

    const stops: Array<() => void> = [];
    /** A client of its own through a proxy of its own, reconnecting briskly (the run is short). */
    const client = async (name: string, transport: TransportName): Promise<{ chat: ChatClient; proxy: FaultProxy }> => {
      const proxy = await startFaultProxy(() => pick(ports));
      proxies.push(proxy);
      const chat = new ChatClient({
        url: `http://127.0.0.1:${proxy.port}`,
        room: ROOM,
        name,
        transports: [transport],
        WebSocket,
        EventSource,
        reconnectBaseMs: 300,
        reconnectMaxMs: 2000,
        connectTimeoutMs: 10_000,
        pollIntervalMs: 150,
        longPollTimeoutSec: 3,
      });
      clients.push(chat);
      return { chat, proxy };
    };

    // Every cid anyone saw stored, with its id: one cid with two ids is a message stored twice.
    const acked = new Map<string, number>();
    const ackMismatches: string[] = [];
    let newestAcked = 0;
    const ack = (cid: string, id: number) => {
      const before = acked.get(cid);
      if (before !== undefined && before !== id) ackMismatches.push(`${cid} acked as ${before} and then ${id} (at ${clock()} s)`);
      acked.set(cid, id);
      newestAcked = Math.max(newestAcked, id);
    };

    // ---- receivers: a ChatClient each, on one transport ----------------------------------------
    const trackers: Tracker[] = [];
    const readers: Array<{ name: string; transport: TransportName; proxy: FaultProxy }> = [];
    for (const transport of ['ws', 'sse', 'longpoll', 'poll'] as const) {
      for (let i = 0; i < options.receivers; i++) {
        const t = new Tracker(`${transport}-${i}`, transport, clock);
        trackers.push(t);
        const { chat, proxy } = await client(t.name, transport);
        const seen = new Map<string, number>();
        const observe = (m: StoredEvent) => {
          if (m.text !== undefined && m.cid !== undefined) seen.set(m.cid, m.id);
        };
        chat.on('history', (h) => {
          h.messages.forEach(observe);
          t.history(h);
        });
        chat.on('message', (m) => {
          observe(m);
          t.message(m);
        });
        chat.on('state', (state) => {
          if (state === 'reconnecting') t.reconnects++;
          if (state === 'closed' && !stopping) t.problems.push(`the client stopped for good (${chat.me ? 'after joining' : 'before joining'}, at ${clock()} s)`);
        });
        stops.push(() => seen.forEach((id, cid) => ack(cid, id)));
        readers.push({ name: t.name, transport, proxy });
      }
    }
    // A stalled socket is a WebSocket's trouble (the server's slow-consumer close): only ws readers stall.
    const wsReaders = readers.filter((r) => r.transport === 'ws');
    const deadline = Date.now() + 15_000;
    while (trackers.some((t) => !t.joined) && Date.now() < deadline) await sleep(50);

    // ---- senders: ChatClient.send, its outbox and cids ---------------------------------------
    const sendProblems: string[] = [];
    const sends: Array<Promise<void>> = [];
    const senderCount = 3;
    const interval = (1000 * senderCount) / options.rate;
    const sender = async (name: string, transport: TransportName) => {
      // The HTTP sender's transport sends with POST; it polls too, but nothing here reads it.
      const { chat } = await client(name, transport);
      for (let i = 0; Date.now() - started <= options.seconds * 1000; i++) {
        const text = `message ${name}-${i}`;
        sends.push(
          chat.send(text).then(
            (stored) => {
              if (stored.text !== text || stored.cid === undefined) sendProblems.push(`${name}-${i} resolved with ${JSON.stringify(stored)}`);
              else ack(stored.cid, stored.id);
            },
            (err: unknown) => {
              sendProblems.push(`${name}-${i} was refused: ${(err as Error).message} (at ${clock()} s)`);
            },
          ),
        );
        await sleep(interval * (0.5 + random()));
      }
    };

    const sending = Promise.all([sender('sender-0', 'ws'), sender('sender-1', 'ws'), sender('http-sender', 'poll')]);

    // ---- chaos -------------------------------------------------------------------------------
    const sleepMs = Math.ceil((options.historyLimit / options.rate) * 1500);
    const actions: ReadonlyArray<{ name: string; act: () => Promise<string> }> = [
      { name: 'cut a connection', act: async () => cut(pick(readers)) },
      { name: 'cut a connection', act: async () => cut(pick(readers)) },
      {
        name: 'stall a reader',
        async act() {
          const reader = pick(wsReaders);
          const ms = Math.round(1500 + random() * 2500);
          reader.proxy.stall(ms);
          return `${reader.name}, ${ms} ms`;
        },
      },
      {
        name: 'kill and restart a server process',
        async act() {
          const slot = Math.floor(random() * 2);
          await killServer(slot);
          const downMs = Math.round(300 + random() * 1200);
          await sleep(downMs);
          await startServer(slot);
          return `process ${slot}, down ${downMs} ms`;
        },
      },
      // One Redis restarted, or the cluster's faults (bench/lib/chaos-store.ts).
      ...store.faults,
      {
        name: 'a reader sleeps through an overflow',
        async act() {
          // Refused until the room has moved on by more than it keeps, whatever slows the sends
          // meanwhile (a store restarting, a slot moving): a fixed sleep sometimes saw no overflow.
          const reader = pick(readers);
          const [from, since] = [newestAcked, Date.now()];
          reader.proxy.refuse(sleepMs);
          while (newestAcked - from <= options.historyLimit + 2 && Date.now() - since < 4 * sleepMs) {
            reader.proxy.refuse(500);
            await sleep(250);
          }
          return `${reader.name}, ${Date.now() - since} ms, ${newestAcked - from} messages`;
        },
      },
    ];
    const chaosUntil = started + options.seconds * 1000;
    // Every kind of fault once, in a seeded order, then at random.
    const firstRound = [...actions].sort(() => random() - 0.5);
    while (Date.now() < chaosUntil - 2000) {
      await sleep(800 + random() * 1500);
      const { name, act } = firstRound.shift() ?? pick(actions);
      const at = (Date.now() - started) / 1000;
      count(name);
      const detail = await act();
      faults.push({ at, name, detail });
      log(`chaos [${at.toFixed(1)} s]: ${name}${detail ? ` (${detail})` : ''}`);
    }

    await sending;
    // Every send settles once the servers and the store are back; one that never does is a problem.
    let giveUp: ReturnType<typeof setTimeout> | undefined;
    const settled = await Promise.race([
      Promise.all(sends).then(() => true),
      new Promise<boolean>((resolve) => (giveUp = setTimeout(() => resolve(false), 30_000))),
    ]);
    clearTimeout(giveUp);
    if (!settled) sendProblems.push(`${clients.reduce((n, c) => n + c.pending.length, 0)} sends never settled`);
    const lastId = Math.max(0, ...acked.values());
    const catchUpUntil = Date.now() + 20_000;
    while (trackers.some((t) => t.last < lastId) && Date.now() < catchUpUntil) await sleep(100);
    stopping = true;
    for (const stop of stops) stop();

    return {
      engine,
      store: store.description,
      faults,
      acked: [...acked.keys()].length,
      lastId,
      ackMismatches,
      sendProblems,
      crashes,
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
  } finally {
    stopping = true;
    for (const chat of clients) chat.close();
    await Promise.all(proxies.map((p) => p.close()));
    await Promise.all([killServer(0), killServer(1)]);
    process.off('exit', killServersOnExit);
    await store.stop();
  }
}

/** Cuts every connection of one client (both ends see it die, as in a network cut). */
function cut(reader: { name: string; proxy: FaultProxy }): string {
  reader.proxy.cut();
  return reader.name;
}
