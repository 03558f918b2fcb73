import { Agent, request, type IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import WebSocket from 'ws';
import { Histogram } from './lib/histogram';
import { cpuSeconds, memoryMb } from './lib/proc';
import { frameType, historyShape, messageId, rawConnect, readCounts, sentAtBytes, TYPE_HISTORY, TYPE_MESSAGE, type RawSocket } from './lib/raw-ws';
import { nowMs, round, Samples } from './lib/stats';

/**
 * The load generator, in processes of its own so that its CPU is not the server's. Each takes one
 * JSON job on argv (with its `part` of `parts`), opens its sockets, prints READY, starts on GO
 * from its stdin (all parts at once), ends what runs until told on STOP, and prints
 * `RESULT {json}` as its last line. Message texts carry their send time, so each delivery's
 * latency is measured where it lands; latencies travel as mergeable histograms.
 *
 * Kept light, because it shares a 2-core machine with the server: the fan-out and join modes
 * use `lib/raw-ws.ts` (frames read in place off the socket's chunks, no string per frame, no
 * UTF-8 validation, no event per frame), read only a frame's type byte and its timestamp bytes
 * (and ids when checking order), and can be split over several processes (`--generators`).
 */

/** A job for one generator process (its `part` and `parts` are added by `LoadParts`). */
export type Job =
  | FanoutJob
  | JoinsJob
  | { mode: 'idle'; port: number; serverPid: number; clients: number; rooms: number }
  | {
      mode: 'transport';
      transport: 'ws' | 'sse' | 'longpoll' | 'poll';
      base: string;
      room: string;
      serverPid: number;
      clients: number;
      rate: number;
      seconds: number;
      pollIntervalMs: number;
    };

/** Which server a job talks to: ours (`/ws/ROOM?name=…`) or the bare baseline (`/ROOM`). */
export type ServerKind = 'ours' | 'base';

/**
 * How a fan-out spaces its messages. `spread`: `rate` messages/s in all, evenly (one every
 * 1/rate s, the senders taking turns), so at 500 msg/s no two leave in the same tick. `burst`:
 * every sender sends one message in the same tick, `rate / senders` times a second (5 senders
 * × 100 msg/s: five messages at once every 10 ms), all senders in the first generator process,
 * so that they reach the server together.
 */
export type Pacing = 'spread' | 'burst';

/**
 * `clients` sockets over `rooms` rooms (client k is member k / rooms of room k % rooms); the
 * first `senders` members of each room also send, `rate` messages/s in all (message i goes to
 * room i % rooms), for `seconds`, paced as `pacing` says. Every member counts what it receives,
 * senders too.
 */
export interface FanoutJob {
  mode: 'fanout';
  kind: ServerKind;
  port: number;
  clients: number;
  rooms: number;
  /** Room names are `${roomPrefix}-${r}`, or `roomPrefix` alone for one room. */
  roomPrefix: string;
  senders: number;
  rate: number;
  seconds: number;
  /** Connects in flight while the sockets open (per generator process). */
  inFlight: number;
  /** Evenly spaced (the default) or in bursts. */
  pacing?: Pacing;
}

/**
 * A storm of `joiners` joins (joiner n into room n % rooms, `inFlight` connects in flight in all),
 * each timed from its connect to its history frame; meanwhile `present.members` members who were
 * there before receive `present.rate` messages/s in `present.room`. With `cursors`, each joiner
 * gives its room's cursor. With `checkIds`, every joiner's ids must run on without gap or repeat
 * from its history into the live messages (ours only: the baseline's live ids are its own).
 */
export interface JoinsJob {
  mode: 'joins';
  kind: ServerKind;
  port: number;
  joiners: number;
  rooms: number;
  /** Room names are `${roomPrefix}-${r}`, r from 0 (the present members are in one of them). */
  roomPrefix: string;
  cursors: Record<string, { since: number; epoch: string }> | null;
  /** Messages each room holds (what a joiner without a cursor must get). */
  historyCount: number;
  inFlight: number;
  present: { members: number; rate: number; room: string };
  checkIds: boolean;
}

/** Every job runs in one of `parts` generator processes, as part `part`. */
type Part = { part: number; parts: number };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---- the parent's commands (stdin) and our reports (stdout) ----------------------------------

const commands = new Set<string>();
let wake: (() => void) | undefined;
createInterface({ input: process.stdin }).on('line', (line) => {
  commands.add(line.trim());
  wake?.();
});

/** Resolves once the parent has sent `word` (GO, STOP). */
async function until(word: string): Promise<void> {
  while (!commands.has(word)) await new Promise<void>((r) => (wake = r));
}

const report = (line: string) => process.stdout.write(`${line}\n`);

const roomName = (job: { rooms: number; roomPrefix: string }, r: number) =>
  job.rooms === 1 ? job.roomPrefix : `${job.roomPrefix}-${r}`;

function pathFor(kind: ServerKind, room: string, query: Record<string, string | number>): string {
  const q = new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)])).toString();
  return kind === 'ours' ? `/ws/${encodeURIComponent(room)}?${q}` : `/${encodeURIComponent(room)}${q ? `?${q}` : ''}`;
}

/** Runs `open(i)` for i in [0, count), at most `parallel` at a time; resolves with what each gave. */
async function pool<T>(count: number, parallel: number, open: (i: number) => Promise<T>): Promise<T[]> {
  const out = new Array<T>(count);
  let next = 0;
  const lane = async () => {
    while (next < count) {
      const i = next++;
      out[i] = await open(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, lane));
  return out;
}

/** Opens a WebSocket with the ws library (the transports comparison, which meters its bytes). */
function openSocket(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

/** The send time a message text carries (`t:1234.567`), from a frame already made a string. */
function sentAt(frame: string): number {
  const at = frame.indexOf('"text":"t:');
  if (at < 0) return NaN;
  return parseFloat(frame.slice(at + 10));
}

/**
 * Sends `rate` messages per second in total through `send`, for `seconds` or until `stopped()`,
 * `burst` of them at a time (in the same tick), `rate / burst` times a second.
 */
async function paced(rate: number, seconds: number, send: (i: number) => void, stopped = () => false, burst = 1): Promise<number> {
  const start = nowMs();
  let sent = 0;
  const total = Number.isFinite(seconds) ? Math.round(rate * seconds) : Infinity;
  while (sent < total && !stopped()) {
    const due = Math.min(total, (Math.floor(((nowMs() - start) / 1000) * (rate / burst)) + 1) * burst);
    while (sent < due) send(sent++);
    await sleep(1);
  }
  return sent;
}

const cpuOfSelf = (since: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1e6;
};

async function fanout(job: FanoutJob & Part) {
  const latency = new Histogram();
  let delivered = 0;
  let measuring = false;
  const onText = (buf: Buffer, start: number, end: number) => {
    if (!measuring || frameType(buf, start) !== TYPE_MESSAGE) return;
    const t = sentAtBytes(buf, start, end);
    if (Number.isNaN(t)) return;
    delivered++;
    latency.add(nowMs() - t);
  };
  // Member j of room r is client k = j * rooms + r; this process holds the members with j % parts
  // === part, but in bursts every sender is in part 0, so that a burst leaves in one tick.
  const burst = job.pacing === 'burst';
  const partOf = (j: number) => (burst && j < job.senders ? 0 : j % job.parts);
  const mine: Array<{ room: number; j: number }> = [];
  const membersHere = new Array<number>(job.rooms).fill(0);
  for (let k = 0; k < job.clients; k++) {
    const room = k % job.rooms;
    const j = Math.floor(k / job.rooms);
    if (partOf(j) !== job.part) continue;
    mine.push({ room, j });
    membersHere[room]!++;
  }
  const sockets = await pool(mine.length, job.inFlight, (i) =>
    rawConnect(job.port, pathFor(job.kind, roomName(job, mine[i]!.room), job.kind === 'ours' ? { name: 'r' } : {}), onText),
  );
  const senders = new Map<string, RawSocket>();
  mine.forEach((m, i) => m.j < job.senders && senders.set(`${m.room}:${m.j}`, sockets[i]!));
  // What this process should receive: each message reaches every member of its room.
  const total = Math.round(job.rate * job.seconds);
  let expected = 0;
  for (let r = 0; r < job.rooms; r++) expected += (Math.floor(total / job.rooms) + (r < total % job.rooms ? 1 : 0)) * membersHere[r]!;
  report('READY');
  await until('GO');
  measuring = true;
  const own0 = process.cpuUsage();
  const reads0 = { ...readCounts };
  const t0 = nowMs();
  await paced(
    job.rate,
    job.seconds,
    (i) => {
      const room = i % job.rooms;
      const j = Math.floor(i / job.rooms) % job.senders;
      senders.get(`${room}:${j}`)?.send(`t:${nowMs().toFixed(3)}`);
    },
    undefined,
    burst ? job.senders * job.rooms : 1,
  );
  const tSent = nowMs();
  const cpuSent = cpuOfSelf(own0);
  const deliveredAtSent = delivered;
  report('SENT');
  const drainUntil = nowMs() + 5000;
  while (delivered < expected && nowMs() < drainUntil) await sleep(20);
  const tDone = nowMs();
  const cpu = cpuOfSelf(own0);
  const textReads = readCounts.reads - reads0.reads;
  const textFrames = readCounts.frames - reads0.frames;
  // The sockets stay open until the parent has read the server's CPU: closing them costs ours a
  // presence write per member, which is no part of delivering.
  report('DRAINED');
  await until('STOP');
  for (const s of sockets) s.terminate();
  return { sent: total, expected, delivered, deliveredAtSent, textReads, textFrames, latency: latency.toJSON(), cpuSec: cpu, cpuSentSec: cpuSent, t0, tSent, tDone };
}

/** What one generator process reports of a fan-out. */
export type FanoutPartResult = Awaited<ReturnType<typeof fanout>>;

async function joins(job: JoinsJob & Part) {
  let measuring = false;
  let stopped = false;
  // The members already present (part 0 only): their latency while the storm goes on.
  const presentLatency = new Histogram();
  let presentDelivered = 0;
  let presentMaxId = 0;
  const present =
    job.part === 0
      ? await pool(job.present.members, job.present.members, () =>
          rawConnect(job.port, pathFor(job.kind, job.present.room, job.kind === 'ours' ? { name: 'present' } : {}), (buf, start, end) => {
            if (!measuring || frameType(buf, start) !== TYPE_MESSAGE) return;
            const t = sentAtBytes(buf, start, end);
            if (Number.isNaN(t)) return;
            presentDelivered++;
            presentMaxId = Math.max(presentMaxId, messageId(buf, start));
            presentLatency.add(nowMs() - t);
          }),
        )
      : [];
  const mine: number[] = [];
  for (let n = job.part; n < job.joiners; n += job.parts) mine.push(n);
  report('READY');
  await until('GO');
  measuring = true;
  const own0 = process.cpuUsage();
  const t0 = nowMs();
  const sending =
    job.part === 0 ? paced(job.present.rate, Infinity, () => present[0]!.send(`t:${nowMs().toFixed(3)}`), () => stopped) : Promise.resolve(0);

  const historyMs = new Histogram();
  let lastOpen = 0;
  let lastHistory = 0;
  let failed = 0;
  let badHistory = 0;
  let gaps = 0;
  let idViolations = 0;
  let firstError = '';
  const sockets: RawSocket[] = [];
  // For the joiners of the present members' room: the last id each has (checked at the end).
  const lastIds: Array<{ last: number }> = [];
  await pool(mine.length, Math.max(1, Math.round(job.inFlight / job.parts)), async (i) => {
    const room = `${job.roomPrefix}-${mine[i]! % job.rooms}`;
    const cursor = job.cursors?.[room];
    const query: Record<string, string | number> = job.kind === 'ours' ? { name: `j${mine[i]!}` } : { history: 1 };
    if (cursor) {
      query.since = cursor.since;
      if (job.kind === 'ours') query.epoch = cursor.epoch;
    }
    const start = nowMs();
    const state = { last: -1, history: false, violated: false };
    let joined: () => void = () => undefined;
    const gotHistory = new Promise<void>((r) => (joined = r));
    try {
      const socket = await rawConnect(
        job.port,
        pathFor(job.kind, room, query),
        (buf, s, e) => {
          const type = frameType(buf, s);
          if (type === TYPE_HISTORY && !state.history) {
            const now = nowMs();
            state.history = true;
            historyMs.add(now - start);
            lastHistory = Math.max(lastHistory, now);
            const shape = historyShape(buf, s, e);
            // With a cursor: the messages right after it, or — when the room moved on by more than
            // it retains during a long storm — a gap with the whole retained window, which must
            // then really start after the cursor's next id.
            const ok = !cursor
              ? !shape.gap && shape.count === job.historyCount
              : shape.gap
                ? shape.count === job.historyCount && shape.first > cursor.since + 1
                : shape.count === 0 || shape.first === cursor.since + 1;
            if (!ok) badHistory++;
            if (cursor && shape.gap) gaps++;
            state.last = shape.count > 0 ? shape.last : (cursor?.since ?? 0);
            if (room === job.present.room) lastIds.push(state);
            joined();
          } else if (type === TYPE_MESSAGE && job.checkIds) {
            const id = messageId(buf, s);
            if (!state.history || id !== state.last + 1) {
              if (!state.violated) idViolations++;
              state.violated = true;
            }
            state.last = Math.max(state.last, id);
          }
        },
        () => joined(),
      );
      lastOpen = Math.max(lastOpen, nowMs());
      sockets.push(socket);
      await gotHistory;
      if (!state.history) throw new Error('closed before its history frame');
    } catch (err) {
      failed++;
      firstError ||= (err as Error).message;
    }
  });
  report('JOINED');
  await until('STOP');
  stopped = true;
  const sent = await sending;
  await sleep(1000); // what is in flight lands
  const cpu = cpuOfSelf(own0);
  const tEnd = nowMs();
  for (const s of [...sockets, ...present]) s.terminate();
  return {
    joiners: mine.length,
    t0,
    lastOpen,
    lastHistory,
    history: historyMs.toJSON(),
    failed,
    badHistory,
    gaps,
    idViolations,
    firstError,
    presentRoomLasts: lastIds.map((s) => s.last),
    present: { sent, delivered: presentDelivered, expected: sent * present.length, maxId: presentMaxId, latency: presentLatency.toJSON() },
    cpuSec: cpu,
    seconds: (tEnd - t0) / 1000,
  };
}

/** What one generator process reports of a join storm. */
export type JoinsPartResult = Awaited<ReturnType<typeof joins>>;

async function idle(job: Extract<Job, { mode: 'idle' }>) {
  await sleep(500);
  const before = memoryMb(job.serverPid).rss;
  const sockets = await pool(job.clients, 200, (i) => rawConnect(job.port, `/ws/idle-${i % job.rooms}?name=idle`, () => undefined));
  await sleep(3000);
  const after = memoryMb(job.serverPid).rss;
  for (const ws of sockets) ws.terminate();
  return {
    clients: job.clients,
    rssBeforeMb: round(before, 1),
    rssAfterMb: round(after, 1),
    kbPerConnection: round(((after - before) * 1024) / job.clients, 2),
  };
}

/** Counts the bytes of every connection a transport's clients open, both ways. */
class WireMeter {
  private readonly sockets: Socket[] = [];
  requests = 0;

  track(socket: Socket): Socket {
    this.sockets.push(socket);
    return socket;
  }

  get bytes(): number {
    return this.sockets.reduce((sum, s) => sum + s.bytesRead + s.bytesWritten, 0);
  }

  agent(): Agent {
    const agent = new Agent({ keepAlive: true, maxSockets: Infinity });
    const create = agent.createConnection.bind(agent);
    agent.createConnection = ((options: object, cb: unknown) => this.track(create(options as never, cb as never) as Socket)) as never;
    return agent;
  }
}

async function transport(job: Extract<Job, { mode: 'transport' }>) {
  const latency = new Samples();
  const meter = new WireMeter();
  const agent = meter.agent();
  let delivered = 0;
  let stopped = false;
  const host = new URL(job.base);
  const onMessageJson = (json: string) => {
    const t = sentAt(json);
    if (Number.isNaN(t)) return;
    delivered++;
    latency.add(nowMs() - t);
  };
  const get = (path: string, headers: Record<string, string> = {}): Promise<IncomingMessage> =>
    new Promise((resolve, reject) => {
      meter.requests++;
      const req = request({ host: host.hostname, port: host.port, path: encodeURI(path), agent, headers }, resolve);
      req.on('error', reject);
      req.end();
    });
  const readAll = async (res: IncomingMessage) => {
    let text = '';
    for await (const chunk of res) text += chunk;
    return text;
  };

  const stops: Array<() => void> = [];
  const path = `/api/rooms/${job.room}`;
  for (let i = 0; i < job.clients; i++) {
    if (job.transport === 'ws') {
      const ws = new WebSocket(`${job.base.replace('http', 'ws')}/ws/${job.room}?name=c`, {
        perMessageDeflate: false,
        createConnection: ((opts: { host: string; port: number }) => meter.track(connect(opts.port, opts.host))) as never,
      });
      meter.requests++;
      ws.on('message', (data: Buffer) => {
        const frame = data.toString();
        if (frame.startsWith('{"type":"message"')) onMessageJson(frame);
      });
      await new Promise((r) => ws.once('open', r));
      stops.push(() => ws.terminate());
    } else if (job.transport === 'sse') {
      const res = await get(`${path}/events`);
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        for (const line of chunk.split('\n')) if (line.startsWith('data: {"id"')) onMessageJson(line.slice(6));
      });
      stops.push(() => res.destroy());
    } else {
      const longPoll = job.transport === 'longpoll';
      const first = JSON.parse(await readAll(await get(`${path}/messages`))) as { last: number; epoch: string };
      let since = first.last;
      void (async () => {
        while (!stopped) {
          const url = longPoll
            ? `${path}/poll?since=${since}&epoch=${first.epoch}&timeout=30`
            : `${path}/messages?since=${since}&epoch=${first.epoch}`;
          const answer = JSON.parse(await readAll(await get(url))) as { last: number; messages: Array<{ text: string }> };
          for (const m of answer.messages) onMessageJson(JSON.stringify(m));
          since = answer.last;
          if (!longPoll) await sleep(job.pollIntervalMs);
        }
      })().catch(() => undefined);
    }
  }
  const sender = await openSocket(`${job.base.replace('http', 'ws')}/ws/${job.room}?name=sender`);
  await sleep(1000);
  const requests0 = meter.requests;
  const bytes0 = meter.bytes;
  delivered = 0;
  const cpu0 = cpuSeconds(job.serverPid);
  const t0 = nowMs();
  const sent = await paced(job.rate, job.seconds, () => sender.send(`t:${nowMs().toFixed(3)}`));
  const expected = sent * job.clients;
  const drainUntil = nowMs() + job.pollIntervalMs + 3000;
  while (delivered < expected && nowMs() < drainUntil) await sleep(20);
  const wall = (nowMs() - t0) / 1000;
  const cpu1 = cpuSeconds(job.serverPid);
  const requests = meter.requests - requests0;
  const bytes = meter.bytes - bytes0;
  stopped = true;
  for (const stop of stops) stop();
  sender.terminate();
  agent.destroy();
  return {
    transport: job.transport,
    sent,
    delivered,
    lost: expected - delivered,
    latencyMs: mapValues(latency.summary(), (v) => round(v, 1)),
    requestsPerDelivery: round(requests / Math.max(1, delivered), 3),
    bytesPerDelivery: round(bytes / Math.max(1, delivered), 0),
    serverCpuSec: round(cpu1 - cpu0, 3),
    seconds: round(wall, 1),
  };
}

function mapValues<T extends Record<string, number>>(o: T, f: (v: number) => number): T {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v)])) as T;
}

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2]!) as Job & Part;
  const run = { fanout, joins, idle, transport }[job.mode] as (job: Job & Part) => Promise<object>;
  if (job.mode !== 'fanout' && job.mode !== 'joins') {
    report('READY');
    await until('GO');
  }
  const result = await run(job);
  report(`RESULT ${JSON.stringify(result)}`);
  process.exit(0);
}

void main();
