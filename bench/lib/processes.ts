import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { processTree } from './proc';

/**
 * The processes a benchmark starts (servers and load generators), each compiled from dist/ and
 * every one of them stopped at the end, also on failure (`stopAll`).
 */

const children = new Set<ChildProcess>();

/** The repository root (where package.json is), whether this runs from sources or from dist/. */
export const REPO = join(__dirname, '..', '..', ...(__dirname.includes(join('dist', 'bench')) ? ['..'] : []));

/** The compiled JavaScript of a TypeScript entry point: servers are measured as `npm start` runs them. */
export const compiled = (entry: string): string => join(REPO, 'dist', entry.replace(/\.ts$/, '.js'));

/** The V8 flags `npm start` gives the server (package.json); the baseline gets them too. */
export const V8_FLAGS = ['--max-semi-space-size=2'];

/** A server process the benchmark started. */
export interface ServerHandle {
  readonly port: number;
  /** The process we started (a cluster's primary). */
  readonly pid: number;
  /** It and every process below it (a cluster's workers), as they were once it was ready. */
  readonly pids: number[];
  /** How it ended when it ended before `stop()` (`code 1`, `signal SIGKILL`); undefined while it runs. */
  readonly exited: string | undefined;
  /** SIGTERM (so a `--cpu-prof` profile is written), SIGKILL after 5 s. */
  stop(): Promise<void>;
}

/** Starts an entry point (compiled) with env and resolves once it prints its address. */
export function startProcess(entry: string, env: Record<string, string>, nodeFlags: string[] = []): Promise<ServerHandle> {
  const child = spawn(process.execPath, [...V8_FLAGS, ...nodeFlags, compiled(entry)], {
    cwd: REPO,
    env: { ...process.env, PORT: '0', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.add(child);
  return new Promise((resolve, reject) => {
    let out = '';
    const onExit = (code: number | null) => reject(new Error(`${entry} exited with ${code}: ${out}`));
    child.once('exit', onExit);
    child.stdout!.on('data', (d) => {
      if (out.length > 10_000) return;
      out += d;
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (!m) return;
      out = '';
      child.off('exit', onExit);
      // A server that ends on its own (a crash, a kill from outside) is told apart from one we stopped.
      let exited: string | undefined;
      let stopping = false;
      child.once('exit', (code, signal) => {
        if (!stopping) exited = signal ? `signal ${signal}` : `code ${code}`;
      });
      resolve({
        port: Number(m[1]),
        pid: child.pid!,
        pids: processTree(child.pid!),
        get exited() {
          return exited;
        },
        stop: () => {
          stopping = true;
          return stopChild(child);
        },
      });
    });
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise<void>((done) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      children.delete(child);
      return done();
    }
    const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(kill);
      children.delete(child);
      done();
    });
    child.kill('SIGTERM');
  });
}

/** Kills every process this benchmark started that is still running. */
export function killAll(): void {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
}

/** Runs one load job in a process of its own and returns its RESULT (jobs that need no coordination). */
export function runLoad<T>(job: object): Promise<T> {
  return LoadParts.start(job, 1).then(async (parts) => {
    parts.go();
    return (await parts.results<T>())[0]!;
  });
}

/**
 * A load job split over `count` generator processes (each told its `part`), driven in step:
 * each prints READY once its sockets are open; `go()` starts them all at once; `stop()` ends
 * what runs until told; each prints `RESULT {json}` last. Lines they print in between (`SENT`,
 * `JOINED`) can be awaited with `all(line)`.
 */
export class LoadParts {
  private readonly seen: Array<Map<string, string>>;
  private readonly waiters: Array<() => void> = [];
  private readonly exits: Array<Promise<void>>;

  private constructor(private readonly procs: ChildProcess[]) {
    this.seen = procs.map(() => new Map());
    this.exits = procs.map(
      (child, i) =>
        new Promise<void>((resolve, reject) => {
          createInterface({ input: child.stdout! }).on('line', (line) => {
            const space = line.indexOf(' ');
            const word = space < 0 ? line : line.slice(0, space);
            if (!/^[A-Z]+$/.test(word)) return;
            this.seen[i]!.set(word, space < 0 ? '' : line.slice(space + 1));
            for (const wake of this.waiters.splice(0)) wake();
          });
          // 'close', not 'exit': it comes once stdout is read to the end, so RESULT has been seen.
          child.once('close', (code) => {
            children.delete(child);
            for (const wake of this.waiters.splice(0)) wake();
            if (code === 0 && this.seen[i]!.has('RESULT')) resolve();
            else reject(new Error(`load generator ${i} failed (exit ${code})`));
          });
        }),
    );
    // A failure surfaces through the awaiting call; these stop unhandled rejections.
    for (const e of this.exits) e.catch(() => undefined);
  }

  static async start(job: object, count: number): Promise<LoadParts> {
    const procs = Array.from({ length: count }, (_, part) => {
      const child = spawn(process.execPath, [compiled('bench/load.ts'), JSON.stringify({ ...job, part, parts: count })], {
        cwd: REPO,
        stdio: ['pipe', 'pipe', 'inherit'],
      });
      children.add(child);
      return child;
    });
    const parts = new LoadParts(procs);
    try {
      await parts.all('READY');
    } catch (err) {
      parts.kill();
      throw err;
    }
    return parts;
  }

  /** Ends every part at once (a measurement that failed: the others would wait for GO forever). */
  kill(): void {
    for (const p of this.procs) p.kill('SIGKILL');
  }

  /** The pids of the generator processes (for their CPU). */
  get pids(): number[] {
    return this.procs.map((p) => p.pid!);
  }

  /** Resolves once every part has printed `word`; rejects when one exits first. */
  async all(word: string): Promise<string[]> {
    for (;;) {
      if (this.seen.every((s) => s.has(word))) return this.seen.map((s) => s.get(word)!);
      const dead = this.procs.findIndex((p, i) => p.exitCode !== null && !this.seen[i]!.has(word));
      if (dead >= 0) {
        await this.exits[dead];
        throw new Error(`load generator ${dead} exited before ${word}`);
      }
      await new Promise<void>((wake) => this.waiters.push(wake));
    }
  }

  go(): void {
    for (const p of this.procs) p.stdin!.write('GO\n');
  }

  stop(): void {
    for (const p of this.procs) p.stdin!.write('STOP\n');
  }

  async results<T>(): Promise<T[]> {
    await Promise.all(this.exits);
    return this.seen.map((s) => JSON.parse(s.get('RESULT')!) as T);
  }
}
