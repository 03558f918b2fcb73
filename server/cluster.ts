import cluster, { type Worker } from 'node:cluster';
import type { Logger } from './logger';

/** What a worker tells the primary. */
export type WorkerReport = { type: 'listening'; url: string } | { type: 'failed'; message: string };

export interface PrimaryOptions {
  readonly workers: number;
  /** The environment every worker gets on top of the primary's (the settled engine, for one). */
  readonly env: Record<string, string>;
  readonly logger: Logger;
  /** Invoked once, when every worker listens: print the ready line. */
  onReady(url: string): void;
  /** Invoked once, after every worker has exited, with the exit code the primary should end with. */
  onStopped(code: number): void;
}

const RESTART_BASE_MS = 500;
const RESTART_MAX_MS = 30_000;
/** A worker that lived this long has its restart delay reset. */
const HEALTHY_AFTER_MS = 30_000;
const STOP_GRACE_MS = 10_000;

/**
 * `WORKERS` over 1: the primary process forks that many servers, which share one port through
 * Node's cluster module (round-robin; `reusePort` is ignored on Node 20). A worker that dies is
 * restarted with exponential backoff; SIGTERM or SIGINT stops every worker with the same
 * graceful shutdown as one process; and a primary whose parent went away (npm's shell, a process
 * manager) stops too, rather than keep the port as an orphan. No sticky sessions are needed:
 * every transport resumes from its cursor on any worker.
 */
export function runPrimary(options: PrimaryOptions): void {
  const log = options.logger.child({ module: 'chat:cluster' });
  const listening = new Set<Worker>();
  let readyUrl: string | undefined;
  let stopping = false;
  let exitCode = 0;
  const failures = new Map<number, number>(); // slot → consecutive early deaths

  const fork = (slot: number): void => {
    const worker = cluster.fork({ ...options.env, CHAT_WORKER_SLOT: String(slot) });
    const started = Date.now();
    worker.on('message', (report: WorkerReport) => {
      if (report.type === 'failed' && readyUrl === undefined) {
        // A worker that cannot start (a bad setting, the port taken) will not do better on a retry.
        process.stderr.write(`chat server: ${report.message}\n`);
        stop('a worker could not start', 1);
      }
      if (report.type !== 'listening') return;
      listening.add(worker);
      if (readyUrl === undefined && listening.size === options.workers) {
        readyUrl = report.url;
        options.onReady(report.url);
      }
    });
    worker.on('exit', (code, signal) => {
      listening.delete(worker);
      if (stopping) {
        if (Object.keys(cluster.workers ?? {}).length === 0) options.onStopped(exitCode);
        return;
      }
      const lived = Date.now() - started;
      const n = lived > HEALTHY_AFTER_MS ? 0 : (failures.get(slot) ?? 0);
      failures.set(slot, n + 1);
      const delay = Math.min(RESTART_MAX_MS, RESTART_BASE_MS * 2 ** n);
      log.warn({ slot, workerPid: worker.process.pid, code, signal, restartInMs: delay }, 'a worker exited; restarting it');
      setTimeout(() => !stopping && fork(slot), delay).unref();
    });
    log.info({ slot, workerPid: worker.process.pid }, 'worker started');
  };

  const stop = (why: string, code = 0): void => {
    if (stopping) return;
    stopping = true;
    exitCode = code;
    log.info({ why }, 'stopping every worker');
    const alive = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    if (alive.length === 0) return options.onStopped(exitCode);
    for (const worker of alive) worker.process.kill('SIGTERM');
    setTimeout(() => {
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGKILL');
      options.onStopped(1);
    }, STOP_GRACE_MS).unref();
  };

  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  const parent = process.ppid;
  setInterval(() => process.ppid !== parent && stop('the parent process exited'), 1000).unref();
  for (let slot = 0; slot < options.workers; slot++) fork(slot);
}

/** In a worker: tells the primary how starting went. */
export function reportToPrimary(report: WorkerReport): void {
  process.send?.(report);
}
