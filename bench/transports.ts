import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Job } from './load';
import { REPO, runLoad, startProcess } from './lib/processes';

interface TransportResult {
  transport: string;
  sent: number;
  delivered: number;
  lost: number;
  latencyMs: { p50: number; p99: number; max: number };
  requestsPerDelivery: number;
  bytesPerDelivery: number;
  serverCpuSec: number;
  seconds: number;
}

const TRANSPORTS = ['ws', 'sse', 'longpoll', 'poll'] as const;
const LABELS: Record<string, string> = { ws: 'WebSocket', sse: 'SSE', longpoll: 'long polling', poll: 'short polling (1 s)' };

/**
 * `npm run bench -- --transports`: one room, one rate, over each transport in turn, on a fresh
 * server each time. Prints latency, HTTP requests and bytes on the wire per delivered message,
 * and server CPU seconds, and writes a chart (SVG) to bench/out/ and docs/.
 */
export async function runTransports(redisUrl: string, clients = 50, rate = 10, seconds = 10): Promise<void> {
  const results: TransportResult[] = [];
  for (const transport of TRANSPORTS) {
    const server = await startProcess('server/index.ts', { REDIS_URL: redisUrl, RATE_LIMIT: '0', MAX_CONNECTIONS_PER_IP: '0' });
    const job: Job = {
      mode: 'transport',
      transport,
      base: `http://127.0.0.1:${server.port}`,
      room: `cmp-${transport}`,
      serverPid: server.pid,
      clients,
      rate,
      seconds,
      pollIntervalMs: 1000,
    };
    results.push(await runLoad<TransportResult>(job));
    await server.stop();
  }
  console.log(`\n## transports: ${clients} clients in one room, ${rate} messages/s for ${seconds} s, one WebSocket sender`);
  const head = ['transport', 'p50 ms', 'p99 ms', 'requests/delivery', 'bytes/delivery', 'server CPU s', 'lost'];
  console.log(head.map((h) => h.padEnd(20)).join(''));
  for (const r of results) {
    console.log(
      [LABELS[r.transport]!, r.latencyMs.p50, r.latencyMs.p99, r.requestsPerDelivery, r.bytesPerDelivery, r.serverCpuSec, r.lost]
        .map((v) => String(v).padEnd(20))
        .join(''),
    );
  }
  const svg = chart(results, `${clients} clients, ${rate} msg/s`);
  for (const dir of [join(REPO, 'bench', 'out'), join(REPO, 'docs')]) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'transports.svg'), svg);
  }
  console.log('chart written to bench/out/transports.svg and docs/transports.svg');
}

/** Four small bar charts side by side: p99 latency, requests, bytes and CPU per transport. */
function chart(results: TransportResult[], subtitle: string): string {
  const panels: Array<[string, (r: TransportResult) => number, string]> = [
    ['latency p50 (ms)', (r) => r.latencyMs.p50, ''],
    ['HTTP requests per delivery', (r) => r.requestsPerDelivery, ''],
    ['bytes on the wire per delivery', (r) => r.bytesPerDelivery, ''],
    ['server CPU (s)', (r) => r.serverCpuSec, ''],
  ];
  const colors = ['#2f6fed', '#1a7f37', '#b7791f', '#b42318'];
  const pw = 230;
  const ph = 220;
  const width = pw * panels.length + 20;
  let out = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${ph + 90}" font-family="sans-serif" font-size="12">`;
  out += `<rect width="100%" height="100%" fill="#fff"/>`;
  out += `<text x="10" y="20" font-size="15" font-weight="bold">The four transports on one room (${escape(subtitle)})</text>`;
  panels.forEach(([title, value], p) => {
    const x0 = 10 + p * pw;
    const max = Math.max(...results.map(value), 1e-9);
    out += `<text x="${x0 + 10}" y="48" font-weight="bold">${escape(title)}</text>`;
    results.forEach((r, i) => {
      const v = value(r);
      const h = (v / max) * (ph - 70);
      const bx = x0 + 15 + i * 50;
      const by = 60 + (ph - 70) - h;
      out += `<rect x="${bx}" y="${by}" width="36" height="${Math.max(h, 1)}" fill="${colors[i]}"/>`;
      out += `<text x="${bx + 18}" y="${by - 4}" text-anchor="middle">${formatNumber(v)}</text>`;
    });
  });
  results.forEach((r, i) => {
    out += `<rect x="${10 + i * 150}" y="${ph + 50}" width="12" height="12" fill="${colors[i]}"/>`;
    out += `<text x="${28 + i * 150}" y="${ph + 60}">${escape(LABELS[r.transport]!)}</text>`;
  });
  return out + '</svg>\n';
}

function formatNumber(v: number): string {
  if (v >= 100) return String(Math.round(v));
  if (v >= 1) return v.toFixed(1);
  return v.toFixed(2);
}

function escape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
}
