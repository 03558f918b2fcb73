import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SendProbe } from './measure';
import { writeSyscallsOf } from './proc';

/** Whether strace can run here (it is not installed everywhere). */
export function straceAvailable(): boolean {
  return spawnSync('strace', ['-V'], { stdio: 'ignore' }).status === 0;
}

/** What a traced window counted: strace's calls per syscall, and /proc's `syscw` over the same window. */
export interface WriteCounts {
  /** Calls per syscall name (`write`, `writev`), from `strace -c`. */
  calls: Map<string, number>;
  /** The write syscalls /proc/PID/io counted between strace's attach and its detach. */
  syscw: number;
}

/**
 * `strace -c -f -e trace=write,writev` on the server while the messages are sent: which write
 * syscalls it makes, and a check that /proc's free `syscw` counter (what every table reports)
 * counts the same calls. ptrace stops the server at every traced call, so a traced run's CPU and
 * latency mean nothing and are not reported; its batching is also better than an untraced run's
 * (a slowed server finds more frames per turn).
 */
export class WriteTrace implements SendProbe {
  private child?: ChildProcess;
  private attached?: Promise<void>;
  private pids: readonly number[] = [];
  private syscw0 = 0;
  private readonly dir = mkdtempSync(join(tmpdir(), 'chat-bench-strace-'));
  result?: WriteCounts;

  start(serverPids: readonly number[]): void {
    this.pids = serverPids;
    const child = spawn('strace', ['-c', '-f', '-e', 'trace=write,writev', '-o', join(this.dir, 'summary'), ...serverPids.flatMap((p) => ['-p', String(p)])], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.child = child;
    // strace says "Process N attached" on stderr once it traces the process (and its threads).
    this.attached = new Promise<void>((resolve) => {
      let text = '';
      child.stderr!.on('data', (d: Buffer) => {
        text += d.toString();
        if (/attached/.test(text)) resolve();
      });
      child.once('exit', () => resolve());
    }).then(() => {
      this.syscw0 = writeSyscallsOf(this.pids);
    });
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    await this.attached;
    const syscw = writeSyscallsOf(this.pids) - this.syscw0;
    if (child.exitCode === null && child.signalCode === null) {
      // SIGINT: strace detaches and writes its summary.
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGINT');
      await exited;
    }
    this.result = { calls: parseSummary(readFileSync(join(this.dir, 'summary'), 'utf8')), syscw };
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The `calls` column of `strace -c`'s table, per syscall (`% time  seconds  usecs/call  calls  [errors]  syscall`). */
function parseSummary(text: string): Map<string, number> {
  const calls = new Map<string, number>();
  for (const m of text.matchAll(/^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)\s*$/gm)) {
    if (m[2] !== 'total') calls.set(m[2]!, Number(m[1]));
  }
  return calls;
}
