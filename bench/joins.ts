import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { epochKey, seqKey } from '../server/engine/redis/keys';
import { Histogram } from './lib/histogram';
import { label, startServer, type BenchContext, type ServerSpec } from './lib/measure';
import { LoadParts, REPO } from './lib/processes';
import { cpuSecondsOf, machineCpu, tcpCounters } from './lib/proc';
import { frameType, rawConnect, TYPE_MESSAGE } from './lib/raw-ws';
import { callsBetween, type BenchRedis } from './lib/redis-server';
import { fmt, printTable } from './lib/report';
import { round } from './lib/stats';
import { barChart } from './lib/svg';
import type { JoinsJob, JoinsPartResult } from './load';

/**
 * The join storm (`npm run bench -- --joins`, and its smaller half in the default run): N
 * clients join at once (at most `inFlight` connects in flight), into one room or spread over
 * 100, every room holding 100 messages, with or without a cursor; meanwhile 10 members who were
 * there before receive 10 messages/s in the first room. Ours (Redis engine, and the memory
 * engine) beside the bare `ws` server that reads one LRANGE per join, each on a fresh process.
 */

/** One storm: how many join, into how many rooms, with or without cursors. */
export interface JoinCase {
  joiners: number;
  rooms: number;
  cursors: boolean;
}

/** What `runJoins` runs: every size × room count × with and without cursors, on each engine and the baseline. */
export interface JoinOptions {
  sizes: number[];
  roomCounts: number[];
  engines: Array<'redis' | 'memory'>;
  passes: number;
  inFlight: number;
  generators: number;
}

const ROOM_PREFIX = 'join';
const SEEDED_ROOMS = 100;
const HISTORY = 100;
const PRESENT = { members: 10, rate: 10, room: `${ROOM_PREFIX}-0` };

/** The figures of one storm on one server. */
export interface JoinFigures {
  /** From the storm's start until every joiner's socket was open, and until every one had its history. */
  allOpenMs: number;
  allHistoryMs: number;
  historyP50: number;
  historyP99: number;
  failed: number;
  badHistory: number;
  /** Cursor joins told `gap` (rightly: the room moved on by more than it keeps during the storm). */
  gaps: number;
  idViolations: number;
  /** Joiners of the present members' room that ended behind the newest message (lost a live one). */
  joinersBehind: number;
  /** Connects the kernel dropped because the server's listen queue was full, and SYNs sent again. */
  listenOverflows: number;
  synRetrans: number;
  commandsPerJoin: number;
  commandBreakdown: string;
  presentP99: number;
  presentLost: number;
  serverCpuSec: number;
  serverCpuMsPerJoin: number;
  clientCores: number;
  machineCores: number;
  otherCores: number;
}

/** Sends 100 messages into each of the 100 join rooms through the server, and waits until each is stored. */
async function seed(port: number): Promise<number> {
  let sent = 0;
  await Promise.all(
    Array.from({ length: SEEDED_ROOMS }, async (_, r) => {
      let seen = 0;
      let wake = () => undefined as void;
      const socket = await rawConnect(port, `/ws/${ROOM_PREFIX}-${r}?name=seed`, (buf, start) => {
        if (frameType(buf, start) === TYPE_MESSAGE) {
          seen++;
          wake();
        }
      });
      // In steps of 20: a connection may have 64 frames waiting (PROTOCOL.md v2).
      for (let i = 0; i < HISTORY; i += 20) {
        for (let k = i; k < i + 20; k++) socket.send(`history message number ${k} with some ordinary chat text`);
        sent += 20;
        while (seen < i + 20) await new Promise<void>((r) => (wake = r));
      }
      socket.terminate();
    }),
  );
  return sent;
}

/** Each room's cursor 10 messages back: from Redis, or from the server's own API (memory engine). */
async function cursorsFor(rooms: number, from: { redis: BenchRedis } | { port: number }): Promise<Record<string, { since: number; epoch: string }>> {
  const out: Record<string, { since: number; epoch: string }> = {};
  for (let r = 0; r < rooms; r++) {
    const room = `${ROOM_PREFIX}-${r}`;
    let last: number;
    let epoch: string;
    if ('redis' in from) {
      last = Number(await from.redis.client.get(seqKey(room)));
      epoch = (await from.redis.client.get(epochKey(room))) ?? '';
    } else {
      const res = await fetch(`http://127.0.0.1:${from.port}/api/rooms/${room}/messages?limit=1`);
      ({ last, epoch } = (await res.json()) as { last: number; epoch: string });
    }
    out[room] = { since: last - 10, epoch };
  }
  return out;
}

/** One storm on one fresh server. */
async function storm(spec: ServerSpec, c: JoinCase, o: JoinOptions, ctx: BenchContext, redis: BenchRedis, perSend: number): Promise<JoinFigures> {
  const server = await startServer(spec, ctx, true);
  try {
    const memory = spec.kind === 'ours' && spec.engine === 'memory';
    if (memory) await seed(server.port);
    const job: JoinsJob = {
      mode: 'joins',
      kind: spec.kind,
      port: server.port,
      joiners: c.joiners,
      rooms: c.rooms,
      roomPrefix: ROOM_PREFIX,
      cursors: c.cursors ? await cursorsFor(c.rooms, memory ? { port: server.port } : { redis }) : null,
      historyCount: HISTORY,
      inFlight: o.inFlight,
      present: PRESENT,
      checkIds: spec.kind === 'ours',
    };
    const parts = await LoadParts.start(job, o.generators);
    await new Promise((r) => setTimeout(r, 500));
    const calls0 = await redis.commandCalls();
    const cpu0 = cpuSecondsOf(server.pids);
    const redisCpu0 = cpuSecondsOf([ctx.redisPid]);
    const own0 = cpuSecondsOf(parts.pids);
    const m0 = machineCpu();
    const tcp0 = tcpCounters();
    parts.go();
    await parts.all('JOINED');
    const tcp1 = tcpCounters();
    // The present members go on receiving for a second after the storm: their p99 covers it.
    await new Promise((r) => setTimeout(r, 1000));
    const calls1 = await redis.commandCalls();
    const cpu1 = cpuSecondsOf(server.pids);
    const redisCpu1 = cpuSecondsOf([ctx.redisPid]);
    const own1 = cpuSecondsOf(parts.pids);
    const m1 = machineCpu();
    parts.stop();
    const results = await parts.results<JoinsPartResult>();
    const t0 = Math.min(...results.map((r) => r.t0));
    const wall = Math.max(...results.map((r) => r.seconds)) - 1; // less the drain after STOP
    const history = new Histogram();
    for (const r of results) history.merge(r.history);
    const present = results[0]!.present;
    const presentLatency = new Histogram().merge(present.latency);
    const sum = (f: (r: JoinsPartResult) => number) => results.reduce((s, r) => s + f(r), 0);
    // Redis commands of the joins: all calls in the window, less those of the present members' sends.
    const delta = callsBetween(calls0, calls1);
    const total = delta.reduce((s, [, n]) => s + n, 0);
    const commands = spec.kind === 'ours' && memory ? NaN : Math.max(0, total - (spec.kind === 'ours' ? present.sent * perSend : 0)) / c.joiners;
    const firstError = results.map((r) => r.firstError).find(Boolean);
    if (firstError) console.log(`(${label(spec)}: first failed join: ${firstError})`);
    return {
      allOpenMs: round(Math.max(...results.map((r) => r.lastOpen)) - t0, 0),
      allHistoryMs: round(Math.max(...results.map((r) => r.lastHistory)) - t0, 0),
      historyP50: round(history.quantile(0.5), 1),
      historyP99: round(history.quantile(0.99), 1),
      failed: sum((r) => r.failed),
      badHistory: sum((r) => r.badHistory),
      gaps: sum((r) => r.gaps),
      idViolations: spec.kind === 'ours' ? sum((r) => r.idViolations) : NaN,
      joinersBehind:
        spec.kind === 'ours' ? sum((r) => r.presentRoomLasts.filter((last) => last < present.maxId).length) : NaN,
      listenOverflows: tcp1.listenOverflows - tcp0.listenOverflows,
      synRetrans: tcp1.synRetrans - tcp0.synRetrans,
      commandsPerJoin: memory ? NaN : round(commands, 2),
      commandBreakdown: memory
        ? ''
        : delta
            .filter(([, n]) => n / c.joiners >= 0.005)
            .map(([cmd, n]) => `${cmd} ${fmt(round(n / c.joiners, 3))}`)
            .join(', '),
      presentP99: round(presentLatency.quantile(0.99), 1),
      presentLost: present.expected - present.delivered,
      serverCpuSec: round(cpu1 - cpu0, 2),
      serverCpuMsPerJoin: round(((cpu1 - cpu0) / c.joiners) * 1000, 3),
      clientCores: round((own1 - own0) / wall, 2),
      machineCores: round((m1.busy - m0.busy) / wall, 2),
      otherCores: round(Math.max(0, (m1.busy - m0.busy - (cpu1 - cpu0) - (own1 - own0) - (redisCpu1 - redisCpu0)) / wall), 2),
    };
  } finally {
    await server.stop();
  }
}

/** A case as the chart labels it: `3,000 · 100 rooms, cursor`. */
export const caseLabel = (c: JoinCase): string =>
  `${c.joiners.toLocaleString('en-US')} · ${c.rooms === 1 ? '1 room' : `${c.rooms} rooms`}${c.cursors ? ', cursor' : ''}`;

/** One case of one pass: every server's figures, the baseline last. */
export interface JoinRun {
  pass: number;
  case: JoinCase;
  figures: Array<[ServerSpec, JoinFigures]>;
}

/** Runs every case `passes` times; prints a table per case and writes docs/joins.svg. */
export async function runJoins(o: JoinOptions, ctx: BenchContext, redis: BenchRedis): Promise<JoinRun[]> {
  // Seed the Redis rooms once through our own server, counting the Redis commands of a send.
  const seeder = await startServer({ kind: 'ours', engine: 'redis' }, ctx);
  const calls0 = await redis.commandCalls();
  const seeded = await seed(seeder.port);
  const calls1 = await redis.commandCalls();
  await seeder.stop();
  const perSend = callsBetween(calls0, calls1).reduce((s, [, n]) => s + n, 0) / seeded;
  console.log(`\nseeded ${SEEDED_ROOMS} rooms × ${HISTORY} messages through our server (${fmt(perSend)} Redis commands per send, taken off the join figures for the present members' sends)`);

  const specs: ServerSpec[] = [...o.engines.map((engine): ServerSpec => ({ kind: 'ours', engine })), { kind: 'base' }];
  const cases: JoinCase[] = [];
  for (const joiners of o.sizes) for (const rooms of o.roomCounts) for (const cursors of [false, true]) cases.push({ joiners, rooms, cursors });
  const runs: JoinRun[] = [];
  for (let pass = 1; pass <= o.passes; pass++) {
    for (const c of cases) {
      const figures: Array<[ServerSpec, JoinFigures]> = [];
      for (const spec of specs) figures.push([spec, await storm(spec, c, o, ctx, redis, perSend)]);
      runs.push({ pass, case: c, figures });
      printJoin(c, pass, o, figures);
    }
  }
  writeJoinChart(runs, specs, o);
  return runs;
}

function printJoin(c: JoinCase, pass: number, o: JoinOptions, figures: Array<[ServerSpec, JoinFigures]>): void {
  const col = (f: (x: JoinFigures) => number | string) => figures.map(([, x]) => f(x));
  printTable(
    `join storm: ${c.joiners.toLocaleString('en-US')} joiners, ${c.rooms === 1 ? 'one room' : `${c.rooms} rooms`}, ${c.cursors ? 'each with a cursor 10 back' : 'no cursor'} (pass ${pass}; ${o.inFlight} connects in flight; ${PRESENT.members} present members at ${PRESENT.rate} msg/s)`,
    figures.map(([s]) => label(s)),
    [
      ['time until all connected ms', ...col((x) => x.allOpenMs)],
      ['time until all have history ms', ...col((x) => x.allHistoryMs)],
      ['history p50 ms (connect→history)', ...col((x) => x.historyP50)],
      ['history p99 ms', ...col((x) => x.historyP99)],
      ['joins failed', ...col((x) => x.failed)],
      ['wrong history (count/first id/gap)', ...col((x) => x.badHistory)],
      ['cursor joins told gap (rightly)', ...col((x) => x.gaps)],
      ['joiners with ids out of order', ...col((x) => x.idViolations)],
      ['joiners behind at the end', ...col((x) => x.joinersBehind)],
      ['listen queue overflows (kernel)', ...col((x) => x.listenOverflows)],
      ['SYNs sent again (kernel)', ...col((x) => x.synRetrans)],
      ['Redis commands per join', ...col((x) => x.commandsPerJoin)],
      ['present members p99 ms', ...col((x) => x.presentP99)],
      ['present members lost', ...col((x) => x.presentLost)],
      ['server CPU ms per join', ...col((x) => x.serverCpuMsPerJoin)],
      ['load generator CPU (cores)', ...col((x) => x.clientCores)],
      ['whole machine busy (cores of 2)', ...col((x) => x.machineCores)],
      ['… of it, other processes', ...col((x) => x.otherCores)],
    ],
    ['listen queue overflows (kernel)', 'SYNs sent again (kernel)'],
  );
  for (const [spec, x] of figures) if (x.commandBreakdown) console.log(`Redis commands per join, ${label(spec)} (sends included): ${x.commandBreakdown}`);
}

/** docs/joins.svg: time until all connected and history p99, per case, ours beside the baseline (mean of the passes). */
function writeJoinChart(runs: JoinRun[], specs: ServerSpec[], o: JoinOptions): void {
  const keys = [...new Set(runs.map((r) => caseLabel(r.case)))];
  const mean = (key: string, si: number, f: (x: JoinFigures) => number) => {
    const xs = runs.filter((r) => caseLabel(r.case) === key).map((r) => f(r.figures[si]![1]));
    return xs.reduce((a, b) => a + b, 0) / xs.length;
  };
  const panel = (title: string, f: (x: JoinFigures) => number) => ({
    title,
    groups: keys.map((k) => ({ label: k, values: specs.map((_, si) => mean(k, si, f)) })),
  });
  const svg = barChart({
    title: 'Join storm: ours beside a bare ws server that reads one LRANGE per join',
    subtitle: `each room holds 100 messages; ${o.inFlight} connects in flight; 10 present members at 10 msg/s; ms, lower is better; ${o.passes > 1 ? `mean of ${o.passes} runs` : 'one run'}`,
    series: specs.map(label),
    panels: [panel('time until all connected (ms)', (x) => x.allOpenMs), panel('history p99, connect → history frame (ms)', (x) => x.historyP99)],
    columns: 1,
  });
  for (const dir of [join(REPO, 'bench', 'out'), join(REPO, 'docs')]) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'joins.svg'), svg);
  }
  console.log('\nchart written to docs/joins.svg (and bench/out/)');
}
