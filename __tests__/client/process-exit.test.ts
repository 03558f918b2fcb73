import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { TransportName } from '../../client';
import type { RunningServer } from '../../server/server';
import { withChatServer } from '../helpers/chat-fixture';

let server: RunningServer;
withChatServer({}, (_redis, s) => (server = s));

const FIXTURE = join(__dirname, 'fixtures', 'connect-send-close.ts');

/** Runs the fixture; resolves with its exit code, its output, and how long it lived after close(). */
function run(transport: TransportName): Promise<{ code: number | null; output: string; afterCloseMs: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, server.url, transport], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let closedAt = 0;
    const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.stdout.on('data', (d) => {
      output += d;
      if (!closedAt && output.includes('closed after storing')) closedAt = Date.now();
    });
    child.stderr.on('data', (d) => (output += d));
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(killer);
      resolve({ code, output, afterCloseMs: closedAt ? Date.now() - closedAt : Infinity });
    });
  });
}

describe('chat.close() in Node', () => {
  it('lets the process exit by itself on every transport: nothing is left running', async () => {
    const runs = await Promise.all((['ws', 'sse', 'longpoll', 'poll'] as const).map(async (t) => [t, await run(t)] as const));
    for (const [transport, result] of runs) {
      expect({ transport, code: result.code, output: result.output }).toEqual({ transport, code: 0, output: expect.stringContaining('closed after storing') });
      expect({ transport, exitedWithinMs: result.afterCloseMs < 2000 }).toEqual({ transport, exitedWithinMs: true });
    }
  });
});
