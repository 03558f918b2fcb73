import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * Where a `--cpu-prof` profile's time went: self time per function and per package/folder.
 * `node --import tsx bench/profile-top.ts FILE.cpuprofile|DIR [top]` (the newest profile of a DIR).
 */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const ROOT = join(__dirname, '..');

function bucket(url: string): string {
  if (!url) return '(native / idle / gc)';
  if (url.startsWith('node:')) return 'node core';
  const path = url.replace(/^file:\/\//, '');
  const nm = path.lastIndexOf('node_modules/');
  if (nm >= 0) return path.slice(nm + 13).split('/').slice(0, path.slice(nm + 13).startsWith('@') ? 2 : 1).join('/');
  return relative(ROOT, path).split('/').slice(0, 3).join('/');
}

function main(): void {
  const arg = process.argv[2] ?? join(ROOT, 'bench', 'out', 'profiles');
  const top = Number(process.argv[3] ?? 25);
  const file = arg.endsWith('.cpuprofile')
    ? arg
    : join(arg, readdirSync(arg).filter((f) => f.endsWith('.cpuprofile')).sort().at(-1)!);
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const idle = [...self].filter(([id]) => byId.get(id)!.callFrame.functionName === '(idle)').reduce((a, [, t]) => a + t, 0);
  const busy = total - idle;
  const fns = new Map<string, number>();
  const buckets = new Map<string, number>();
  for (const [id, t] of self) {
    const f = byId.get(id)!.callFrame;
    if (f.functionName === '(idle)') continue;
    const key = `${f.functionName || '(anonymous)'}  ${f.url ? `${relative(ROOT, f.url.replace(/^file:\/\//, ''))}:${f.lineNumber + 1}` : ''}`;
    fns.set(key, (fns.get(key) ?? 0) + t);
    const b = bucket(f.url);
    buckets.set(b, (buckets.get(b) ?? 0) + t);
  }
  const pct = (t: number) => `${((t / busy) * 100).toFixed(1)}%`.padStart(6);
  console.log(`${file}\nbusy ${(busy / 1e6).toFixed(2)} s of ${(total / 1e6).toFixed(2)} s sampled\n\nself time by package / folder:`);
  for (const [b, t] of [...buckets].sort((a, c) => c[1] - a[1]).slice(0, 15)) console.log(`${pct(t)}  ${b}`);
  console.log(`\nself time by function (top ${top}):`);
  for (const [k, t] of [...fns].sort((a, c) => c[1] - a[1]).slice(0, top)) console.log(`${pct(t)}  ${k}`);
}

main();
