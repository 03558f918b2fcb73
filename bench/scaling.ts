import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bottleneckNotes, fanoutOn, fanoutRows, label, type BenchContext, type FanoutResult, type ServerSpec } from './lib/measure';
import { REPO } from './lib/processes';
import { fmt, printTable } from './lib/report';
import { barChart } from './lib/svg';

/**
 * The issue "Scale out": how our server's cost per delivery moves with the room's size, with
 * the number of rooms at the same total fan-out, and with a second worker — each beside the
 * bare `ws` server at the same size, measured in the same run.
 */

/** What the scaling scenarios share. */
export interface ScalingOptions {
  passes: number;
  seconds: number;
  /** How many load-generator processes for `clients` sockets. */
  generatorsFor(clients: number): number;
}

const OURS: ServerSpec = { kind: 'ours', engine: 'redis' };
const BASE: ServerSpec = { kind: 'base' };

/** One size (clients or rooms) of one pass: ours beside the baseline. */
export interface SizeRun {
  pass: number;
  x: number;
  ours: FanoutResult;
  base: FanoutResult;
}

function notes(runs: Array<[string, FanoutResult]>): void {
  for (const n of bottleneckNotes(runs)) console.log(`note: ${n}`);
}

/**
 * Clients 1,000 → 5,000 → 10,000 in one room, at the same 50,000 deliveries/s (50, 10 and 5
 * messages/s): the rate falls as the room grows, so that the work per second, and the load
 * generator's share of the machine, stay the same while each message reaches more members.
 */
export async function runClientScaling(o: ScalingOptions, ctx: BenchContext, sizes = [1000, 5000, 10_000], deliveries = 50_000): Promise<SizeRun[]> {
  const runs: SizeRun[] = [];
  for (let pass = 1; pass <= o.passes; pass++) {
    for (const clients of sizes) {
      const load = { clients, rooms: 1, senders: 1, rate: deliveries / clients, seconds: o.seconds, generators: o.generatorsFor(clients) };
      const ours = await fanoutOn(OURS, load, ctx);
      const base = await fanoutOn(BASE, load, ctx);
      runs.push({ pass, x: clients, ours, base });
      printTable(
        `scaling, clients: ${fmt(clients)} in one room × ${fmt(load.rate)} msg/s (${fmt(deliveries)} deliveries/s; pass ${pass}; ${load.generators} generator process${load.generators > 1 ? 'es' : ''})`,
        ['ours', 'baseline'],
        fanoutRows([ours, base]),
      );
      notes([['ours', ours], ['baseline', base]]);
    }
  }
  writeScalingChart('scaling-clients.svg', 'Clients in one room (50,000 deliveries/s at every size)', runs, (x) => `${fmt(x)} clients`, true);
  return runs;
}

/**
 * Rooms 1 → 100 → 1,000 with the same 10,000 clients and the same 20,000 deliveries/s in all:
 * one room of 10,000 at 2 msg/s, 100 rooms of 100 at 200 msg/s in all, 1,000 rooms of 10 at
 * 2,000 msg/s in all. Each room's first member sends.
 */
export async function runRoomScaling(o: ScalingOptions, ctx: BenchContext, roomCounts = [1, 100, 1000], clients = 10_000, deliveries = 20_000): Promise<SizeRun[]> {
  const runs: SizeRun[] = [];
  for (let pass = 1; pass <= o.passes; pass++) {
    for (const rooms of roomCounts) {
      const perRoom = clients / rooms;
      const load = { clients, rooms, senders: 1, rate: deliveries / perRoom, seconds: o.seconds, generators: o.generatorsFor(clients), roomPrefix: rooms === 1 ? 'bench' : `fan${rooms}` };
      const ours = await fanoutOn(OURS, load, ctx);
      const base = await fanoutOn(BASE, load, ctx);
      runs.push({ pass, x: rooms, ours, base });
      printTable(
        `scaling, rooms: ${fmt(clients)} clients in ${fmt(rooms)} room${rooms > 1 ? 's' : ''} of ${fmt(perRoom)}, ${fmt(load.rate)} msg/s in all (${fmt(deliveries)} deliveries/s; pass ${pass})`,
        ['ours', 'baseline'],
        fanoutRows([ours, base]),
      );
      notes([['ours', ours], ['baseline', base]]);
    }
  }
  writeScalingChart('scaling-rooms.svg', `Rooms at the same total fan-out (${fmt(clients)} clients, ${fmt(deliveries)} deliveries/s)`, runs, (x) => `${fmt(x)} room${x > 1 ? 's' : ''}`, false);
  return runs;
}

/** One step of a saturation ramp. */
export interface SaturationStep {
  rate: number;
  result: FanoutResult;
}

/** What a saturation ramp loads: `clients` over `rooms` rooms, `senders` per room. */
export interface SaturationLoad {
  clients: number;
  rooms?: number;
  senders?: number;
  roomPrefix?: string;
  generators: number;
  seconds?: number;
  /** The first rate tried, in messages/s in all. */
  start?: number;
  /** Stop after the step above this rate, held or not (the generator's own limit is near). */
  maxRate?: number;
}

/** A ramp's outcome: the highest rate that held, and every step. */
export interface Saturation {
  held: number;
  steps: SaturationStep[];
}

/**
 * Raises the rate by half each step (fresh server each time) until p99 passes 250 ms or a
 * delivery is lost. One room of `clients` with 5 senders unless told otherwise.
 */
export async function saturate(spec: ServerSpec, ctx: BenchContext, load: SaturationLoad): Promise<Saturation> {
  const { clients, rooms = 1, senders = 5, generators, seconds = 5, start = 50, maxRate = 5000 } = load;
  let rate = start;
  let held = 0;
  const steps: SaturationStep[] = [];
  console.log(`\n## saturation, ${label(spec)}: ${shapeOf(clients, rooms, senders)}, ${seconds} s per step, ${generators} generator process${generators > 1 ? 'es' : ''}`);
  for (;;) {
    const r = await fanoutOn(spec, { clients, rooms, senders, rate, seconds, generators, roomPrefix: load.roomPrefix }, ctx);
    steps.push({ rate, result: r });
    console.log(
      `rate ${fmt(rate)}/s: ${fmt(r.deliveriesPerSec)} deliveries/s, p99 ${fmt(r.latencyMs.p99)} ms, lost ${r.lost}, server ${r.serverCores} cores ` +
        `(${r.serverUsPerDelivery} µs/delivery + redis ${r.redisUsPerDelivery}), generators ${r.clientCores} cores (busiest ${r.clientMaxCores}), machine ${r.machineCores} of 2, others ${r.otherCores}`,
    );
    if (r.latencyMs.p99 > 250 || r.lost > 0) break;
    held = rate;
    if (rate > maxRate) break;
    rate = Math.round(rate * 1.5);
  }
  const last = steps[steps.length - 1]!;
  const why =
    held === last.rate
      ? `none failed: the ramp stops above ${fmt(maxRate)} msg/s`
      : last.result.clientMaxCores > 0.85
        ? 'the step that failed was limited by a load generator process at a full core'
        : last.result.machineCores > 1.85
          ? `the step that failed had the machine saturated (${last.result.machineCores} of 2 cores busy, ${last.result.otherCores} of them other processes)`
          : 'the step that failed was limited by the server';
  const perMessage = clients / rooms;
  console.log(`highest rate that held (${label(spec)}): ${fmt(held)} messages/s = ${fmt(held * perMessage)} deliveries/s; ${why}`);
  return { held, steps };
}

const shapeOf = (clients: number, rooms: number, senders: number): string =>
  rooms === 1
    ? `${fmt(clients)} clients in one room, ${senders} sender${senders > 1 ? 's' : ''}`
    : `${fmt(clients)} clients in ${fmt(rooms)} rooms of ${fmt(clients / rooms)}, ${senders} sender${senders > 1 ? 's' : ''} per room`;

/** One pass of the workers scenario: the fixed load and the saturation, per server. */
export interface WorkersRun {
  pass: number;
  fixed: FanoutResult[];
  held: number[];
}

/** WORKERS=1 against WORKERS=2 (and the bare server), at saturation and at a fixed 100 msg/s. */
export async function runWorkers(o: ScalingOptions, ctx: BenchContext, clients = 1000): Promise<WorkersRun[]> {
  const specs: ServerSpec[] = [
    { kind: 'ours', engine: 'redis', workers: 1 },
    { kind: 'ours', engine: 'redis', workers: 2 },
    BASE,
  ];
  // Two generator processes: at saturation one alone would be the first thing to run out of CPU.
  const generators = o.generatorsFor(Infinity);
  const runs: WorkersRun[] = [];
  for (let pass = 1; pass <= o.passes; pass++) {
    const fixed: FanoutResult[] = [];
    for (const spec of specs) fixed.push(await fanoutOn(spec, { clients, rooms: 1, senders: 5, rate: 100, seconds: o.seconds, generators }, ctx));
    printTable(`workers: ${fmt(clients)} clients × 100 msg/s, 5 senders (pass ${pass}; ${generators} generator processes)`, specs.map(label), fanoutRows(fixed));
    notes(specs.map((s, i) => [label(s), fixed[i]!]));
    const held: number[] = [];
    for (const spec of specs) held.push((await saturate(spec, ctx, { clients, generators })).held);
    console.log(
      `\nsaturation (pass ${pass}): ${specs.map((s, i) => `${label(s)} ${fmt(held[i]!)} msg/s`).join(', ')}; 2 workers / 1 worker = ${held[0]! > 0 ? (held[1]! / held[0]!).toFixed(2) : 'n/a'}×` +
        ' (this machine has 2 cores: two workers, redis-server and the load generator share them, so the generator never has a core of its own)',
    );
    runs.push({ pass, fixed, held });
  }
  writeWorkersChart(runs, clients);
  return runs;
}

/** CPU per delivery and p99 at 100 msg/s, and the saturation rate, for 1 and 2 workers and the bare server. */
function writeWorkersChart(runs: WorkersRun[], clients: number): void {
  const mean = (f: (r: WorkersRun) => number) => runs.reduce((s, r) => s + f(r), 0) / runs.length;
  const servers = [0, 1, 2];
  const svg = barChart({
    title: `WORKERS=1 against WORKERS=2 (${fmt(clients)} clients, one room, 5 senders)`,
    subtitle: `at 100 msg/s, lower is better (CPU: all server processes); rate held with p99 ≤ 250 ms, higher is better; ${runs.length > 1 ? `mean of ${runs.length} runs` : 'one run'}`,
    series: ['ours, WORKERS=1', 'ours, WORKERS=2', 'bare ws server'],
    panels: [
      { title: 'server CPU µs per delivery', groups: [{ label: '100 msg/s', values: servers.map((i) => mean((r) => r.fixed[i]!.serverUsPerDelivery)) }] },
      { title: 'latency p99 (ms)', groups: [{ label: '100 msg/s', values: servers.map((i) => mean((r) => r.fixed[i]!.latencyMs.p99)) }] },
      { title: 'saturation: msg/s held', groups: [{ label: 'highest rate held', values: servers.map((i) => mean((r) => r.held[i]!)) }] },
    ],
  });
  writeChart('scaling-workers.svg', svg);
}

/** Writes a chart into docs/ and bench/out/. */
export function writeChart(file: string, svg: string): void {
  for (const dir of [join(REPO, 'bench', 'out'), join(REPO, 'docs')]) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, file), svg);
  }
  console.log(`\nchart written to docs/${file} (and bench/out/)`);
}

/** Three panels (CPU per delivery, p99, peak memory), one group per size, ours beside the baseline. */
function writeScalingChart(file: string, title: string, runs: SizeRun[], xLabel: (x: number) => string, withMemory: boolean): void {
  const third = withMemory ? 'peak RSS while messages flow' : 'CPU per delivery with redis-server added';
  const xs = [...new Set(runs.map((r) => r.x))];
  const mean = (x: number, f: (r: SizeRun) => number) => {
    const v = runs.filter((r) => r.x === x).map(f);
    return v.reduce((a, b) => a + b, 0) / v.length;
  };
  const panel = (t: string, f: (r: FanoutResult) => number) => ({
    title: t,
    groups: xs.map((x) => ({ label: xLabel(x), values: [mean(x, (r) => f(r.ours)), mean(x, (r) => f(r.base))] })),
  });
  const passes = new Set(runs.map((r) => r.pass)).size;
  const svg = barChart({
    title,
    subtitle: `server CPU per delivery (the server's own process), latency p99, ${third}; lower is better; ${passes > 1 ? `mean of ${passes} runs` : 'one run'}`,
    series: ['ours (Redis engine)', 'bare ws server'],
    panels: [
      panel('server CPU µs per delivery', (r) => r.serverUsPerDelivery),
      panel('latency p99 (ms)', (r) => r.latencyMs.p99),
      withMemory
        ? panel('server peak memory (MB)', (r) => r.serverPeakMb)
        : panel('with redis-server: CPU µs/delivery', (r) => r.serverUsPerDelivery + r.redisUsPerDelivery),
    ],
  });
  writeChart(file, svg);
}
