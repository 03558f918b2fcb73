import { spawn } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

export interface AdminRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `npm run history -- ARGS` the way npm does (node --import tsx scripts/admin.ts). */
export function runAdmin(args: string[], env: Record<string, string>, input?: string): Promise<AdminRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts', 'admin.ts'), ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.stdin.end(input ?? '');
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * Runs the admin script in a pseudo-terminal (util-linux `script`), so it can ask a question,
 * and types `answer` into it.
 */
export function runAdminInTerminal(args: string[], env: Record<string, string>, answer: string): Promise<AdminRun> {
  const command = [process.execPath, '--import', 'tsx', join(ROOT, 'scripts', 'admin.ts'), ...args]
    .map((a) => `'${a.replace(/'/g, `'\\''`)}'`)
    .join(' ');
  return new Promise((resolve) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], { cwd: ROOT, env: { ...process.env, ...env } });
    let stdout = '';
    let answered = false;
    child.stdout.on('data', (d) => {
      stdout += d;
      if (!answered && stdout.includes('Type yes to confirm:')) {
        answered = true;
        child.stdin.write(`${answer}\n`);
      }
    });
    child.once('exit', (code) => resolve({ code, stdout, stderr: '' }));
  });
}
