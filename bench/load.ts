import { Agent, request, type IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import WebSocket from 'ws';
import { cpuSeconds, memoryMb } from './lib/proc';
import { nowMs, round, Samples } from './lib/stats';

/**
 * The load generator, in a process of its own so that its CPU is not the server's. It takes one
 * JSON job on argv, runs it against a server, and prints `RESULT {json}` as its last line.
 * Message texts carry their send time, so each delivery's latency is measured where it lands.
 */

export type Job =
  | { mode: 'fanout'; url: string; serverPid: number; clients: number; senders: number; rate: number; seconds: number }
  | { mode: 'join'; url: string; serverPid: number; joins: number }
  | { mode: 'idle'; url: string; serverPid: number; clients: number; rooms: number }
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function openSocket(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

/** Opens `count` sockets, `parallel` at a time. */
async function openMany(count: number, url: (i: number) => string, parallel = 100): Promise<WebSocket[]> {
  const sockets: WebSocket[] = [];
  for (let i = 0; i < count; i += parallel) {
    const batch = await Promise.all(Array.from({ length: Math.min(parallel, count - i) }, (_, j) => openSocket(url(i + j))));
    sockets.push(...batch);
  }
  return sockets;
}

/** The send time a message text carries (`t:1234.567`), read without parsing the frame. */
function sentAt(frame: string): number {
  const at = frame.indexOf('"text":"t:');
  if (at < 0) return NaN;
  return parseFloat(frame.slice(at + 10));
}

/** Sends `rate` messages per second in total from `send`, for `seconds`, keeping to schedule. */
async function paced(rate: number, seconds: number, send: (i: number) => void): Promise<number> {
  const start = nowMs();
  let sent = 0;
  const total = Math.round(rate * seconds);
  while (sent < total) {
    const due = Math.min(total, Math.floor(((nowMs() - start) / 1000) * rate) + 1);
    while (sent < due) send(sent++);
    await sleep(1);
  }
  return sent;
}

async function fanout(job: Extract<Job, { mode: 'fanout' }>) {
  const latency = new Samples();
  let delivered = 0;
  let measuring = false;
  const receivers = await openMany(job.clients, () => `${job.url}?name=r`);
  for (const ws of receivers) {
    ws.on('message', (data: Buffer) => {
      if (!measuring) return;
      const t = sentAt(data.toString());
      if (Number.isNaN(t)) return;
      delivered++;
      latency.add(nowMs() - t);
    });
  }
  const senders = await openMany(job.senders, () => `${job.url}?name=sender`);
  await sleep(1500); // let presence settle
  measuring = true;
  const cpu0 = cpuSeconds(job.serverPid);
  const own0 = process.cpuUsage();
  const t0 = nowMs();
  const sent = await paced(job.rate, job.seconds, (i) => senders[i % senders.length]!.send(`t:${nowMs().toFixed(3)}`));
  const sendWall = (nowMs() - t0) / 1000;
  const cpu1 = cpuSeconds(job.serverPid);
  const own1 = process.cpuUsage(own0);
  // Drain what is in flight before counting losses.
  const expected = sent * job.clients;
  const drainUntil = nowMs() + 5000;
  while (delivered < expected && nowMs() < drainUntil) await sleep(20);
  for (const ws of [...receivers, ...senders]) ws.terminate();
  return {
    sent,
    delivered,
    lost: expected - delivered,
    deliveriesPerSec: round(delivered / sendWall, 0),
    latencyMs: mapValues(latency.summary(), (v) => round(v, 2)),
    serverCores: round((cpu1 - cpu0) / sendWall, 3),
    serverCpuSec: round(cpu1 - cpu0, 3),
    serverPeakMb: round(memoryMb(job.serverPid).peak, 1),
    clientCores: round((own1.user + own1.system) / 1e6 / sendWall, 3),
  };
}

async function join(job: Extract<Job, { mode: 'join' }>) {
  const times = new Samples();
  for (let i = 0; i < job.joins; i++) {
    const t0 = nowMs();
    const ws = new WebSocket(job.url, { perMessageDeflate: false });
    await new Promise<void>((resolve, reject) => {
      ws.once('message', () => resolve());
      ws.once('error', reject);
    });
    times.add(nowMs() - t0);
    ws.terminate();
  }
  return { joins: job.joins, joinMs: mapValues(times.summary(), (v) => round(v, 2)) };
}

async function idle(job: Extract<Job, { mode: 'idle' }>) {
  await sleep(500);
  const before = memoryMb(job.serverPid).rss;
  const sockets = await openMany(job.clients, (i) => `${job.url}/idle-${i % job.rooms}?name=idle`, 200);
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
  const job = JSON.parse(process.argv[2]!) as Job;
  const run = { fanout, join, idle, transport }[job.mode] as (job: Job) => Promise<object>;
  const result = await run(job);
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
  process.exit(0);
}

void main();
