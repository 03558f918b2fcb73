import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

const TICKS_PER_SEC = 100; // Linux USER_HZ

function statFields(pid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** CPU seconds (user + system) a process has used so far, from /proc/PID/stat. */
export function cpuSeconds(pid: number): number {
  const fields = statFields(pid);
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SEC;
}

/** Resident memory now and at its peak, in MB, from /proc/PID/status. */
export function memoryMb(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

/** `pid` and every process below it (a cluster primary and its workers), from /proc. */
export function processTree(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      parentOf.set(Number(name), Number(statFields(Number(name))[1]));
    } catch {
      // The process ended while we looked.
    }
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) {
    for (const [child, parent] of parentOf) if (parent === tree[i]) tree.push(child);
  }
  return tree;
}

/** CPU seconds of several processes, added up (a process that ended counts 0). */
export function cpuSecondsOf(pids: readonly number[]): number {
  let sum = 0;
  for (const pid of pids) {
    try {
      sum += cpuSeconds(pid);
    } catch {
      // Ended.
    }
  }
  return sum;
}

/**
 * Memory of several processes, added up. The peak is the sum of each one's own peak: an upper
 * bound when they peaked at different moments.
 */
export function memoryMbOf(pids: readonly number[]): { rss: number; peak: number } {
  let rss = 0;
  let peak = 0;
  for (const pid of pids) {
    try {
      const m = memoryMb(pid);
      rss += m.rss;
      peak += m.peak;
    } catch {
      // Ended.
    }
  }
  return { rss, peak };
}

/** The whole machine's busy and total CPU time so far (all cores), in seconds, from /proc/stat. */
export function machineCpu(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  return { busy: (total - idle) / TICKS_PER_SEC, total: total / TICKS_PER_SEC };
}

/**
 * The kernel's TCP counters that explain a connect storm's one-second steps: connects dropped
 * because a listen queue was full (`ListenOverflows`, `ListenDrops`) and SYNs sent again
 * (`TCPSynRetrans`), machine-wide, from /proc/net/netstat.
 */
export function tcpCounters(): { listenOverflows: number; listenDrops: number; synRetrans: number } {
  const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n');
  const at = lines.findIndex((l) => l.startsWith('TcpExt:'));
  const names = lines[at]!.split(/\s+/);
  const values = lines[at + 1]!.split(/\s+/).map(Number);
  const get = (name: string) => values[names.indexOf(name)] ?? 0;
  return { listenOverflows: get('ListenOverflows'), listenDrops: get('ListenDrops'), synRetrans: get('TCPSynRetrans') };
}

/**
 * Resets the peak resident memory (VmHWM) of each process to its current RSS (Linux: 5 into
 * /proc/PID/clear_refs), so that a later peak covers only what came after. False when the
 * kernel refused (then the peak also covers what came before).
 */
export function resetPeakMemory(pids: readonly number[]): boolean {
  let ok = true;
  for (const pid of pids) {
    try {
      writeFileSync(`/proc/${pid}/clear_refs`, '5');
    } catch {
      ok = false;
    }
  }
  return ok;
}

/**
 * Write syscalls (`write`, `writev`, …) a process has made so far, from `syscw` in
 * /proc/PID/io: free to read, unlike strace, which stops the process at every call. Socket
 * writes through libuv are `write`/`writev`, so for a server this is its socket writes (plus its
 * few writes to Redis and its logs).
 */
export function writeSyscalls(pid: number): number {
  const io = readFileSync(`/proc/${pid}/io`, 'utf8');
  return Number(/^syscw:\s+(\d+)/m.exec(io)?.[1] ?? NaN);
}

/** Write syscalls of several processes, added up (a process that ended counts 0). */
export function writeSyscallsOf(pids: readonly number[]): number {
  let sum = 0;
  for (const pid of pids) {
    try {
      sum += writeSyscalls(pid);
    } catch {
      // Ended.
    }
  }
  return sum;
}
