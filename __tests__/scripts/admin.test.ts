import type Redis from 'ioredis';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { epochKey, historyKey, roomsKey, seqKey } from '../../server/engine/redis/keys';
import type { RunningServer } from '../../server/server';
import { freePort } from '../helpers/free-port';
import { startTestRedis, type TestRedis } from '../helpers/redis-server';
import { runAdmin, runAdminInTerminal } from '../helpers/run-admin';
import { roomUrl, startChatServer, stopServers } from '../helpers/start-server';
import { closeClients, TestClient } from '../helpers/ws-client';

let redis: TestRedis;
let raw: Redis;
let server: RunningServer;
let env: Record<string, string>;

beforeAll(async () => {
  redis = await startTestRedis();
  raw = redis.client();
  server = await startChatServer(redis.url, { RATE_LIMIT: '0' });
  env = { REDIS_URL: redis.url, HISTORY_LIMIT: '100' };
});
afterEach(async () => {
  await closeClients();
  await redis.flush();
});
afterAll(async () => {
  await stopServers();
  await redis.stop();
});

async function seed(room: string, count: number): Promise<void> {
  for (let i = 1; i <= count; i++) await server.history.append(room, { user: 'u', text: `m${i}` });
}

describe('history rooms', () => {
  it('lists each room with its retained count, last id and last activity', async () => {
    await seed('lobby', 120);
    await seed('技术交流', 2);
    const json = await runAdmin(['rooms', '--json'], env);
    expect(json.code).toBe(0);
    const rows = JSON.parse(json.stdout) as Array<{ room: string; count: number; lastId: number; lastActivity: string }>;
    expect(rows).toEqual(
      expect.arrayContaining([
        { room: 'lobby', count: 100, lastId: 120, lastActivity: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) },
        { room: '技术交流', count: 2, lastId: 2, lastActivity: expect.any(String) },
      ]),
    );
    const text = await runAdmin(['rooms'], env);
    expect(text.stdout.split('\n')[0]).toMatch(/^room\s+messages\s+last id\s+last activity$/);
    expect(text.stdout).toMatch(/lobby\s+100\s+120/);
  });

  it('says so when there are no rooms', async () => {
    expect((await runAdmin(['rooms'], env)).stdout.trim()).toBe('No rooms have history.');
  });

  it('prints at most --limit rooms (default 50), the most recently active first, and says there may be more', async () => {
    for (let i = 0; i < 55; i++) {
      await server.history.append(`r-${i}`, { user: 'u', text: 'x' });
      await new Promise((r) => setTimeout(r, 2));
    }
    const three = await runAdmin(['rooms', '--limit', '3', '--json'], env);
    expect((JSON.parse(three.stdout) as Array<{ room: string }>).map((r) => r.room)).toEqual(['r-54', 'r-53', 'r-52']);
    const table = await runAdmin(['rooms', '--limit', '2'], env);
    expect(table.stdout.trimEnd().split('\n')).toEqual([
      expect.stringMatching(/^room\s+messages/),
      expect.stringMatching(/^-+/),
      expect.stringMatching(/^r-54\s+1\s+1\s+\d{4}-/),
      expect.stringMatching(/^r-53\s+/),
      '(the 2 most recently active rooms; --limit N shows up to 1000)',
    ]);
    expect(JSON.parse((await runAdmin(['rooms', '--json'], env)).stdout)).toHaveLength(50);
  });

  it.each([['0'], ['1001'], ['ten']])('refuses --limit %s with exit 1', async (limit) => {
    const run = await runAdmin(['rooms', '--limit', limit], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/--limit/);
  });
});

describe('history show ROOM', () => {
  it('prints the history oldest first, --limit keeps the newest N, --since starts after an id', async () => {
    await seed('r', 10);
    const all = JSON.parse((await runAdmin(['show', 'r', '--json'], env)).stdout) as Array<{ id: number }>;
    expect(all.map((m) => m.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const limited = JSON.parse((await runAdmin(['show', 'r', '--limit', '3', '--json'], env)).stdout) as Array<{ id: number }>;
    expect(limited.map((m) => m.id)).toEqual([8, 9, 10]);
    const since = JSON.parse((await runAdmin(['show', 'r', '--since', '8', '--json'], env)).stdout) as Array<{ id: number }>;
    expect(since.map((m) => m.id)).toEqual([9, 10]);
    const table = await runAdmin(['show', 'r', '--limit', '1'], env);
    expect(table.stdout).toMatch(/^id\s+time\s+user\s+text\n/);
    expect(table.stdout).toMatch(/10\s+\d{4}-.*\s+u\s+m10/);
  });

  it('creates no key for a room that never stored a message', async () => {
    const run = await runAdmin(['show', 'never', '--json'], env);
    expect([run.code, run.stdout.trim()]).toEqual([0, '[]']);
    expect(await raw.keys('chat:{never}*')).toEqual([]);
  });

  it('rejects a bad room name with exit 1', async () => {
    const run = await runAdmin(['show', 'not a room'], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('A room name is 1 to 64 letters');
  });
});

describe('history export ROOM', () => {
  it('writes JSON Lines, oldest first, exactly as stored', async () => {
    await seed('r', 3);
    const run = await runAdmin(['export', 'r'], env);
    expect(run.code).toBe(0);
    const stored = (await raw.lrange(historyKey('r'), 0, -1)).reverse();
    expect(run.stdout.trimEnd().split('\n')).toEqual(stored);
  });
});

describe('history tail ROOM', () => {
  it('prints a message sent through the server as it is stored, until stopped', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, '..', '..', 'scripts', 'admin.ts'), 'tail', 'live', '--json'], {
      env: { ...process.env, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const wait = async (check: () => boolean) => {
      const start = Date.now();
      while (!check()) {
        if (Date.now() - start > 10_000) throw new Error(`timed out: ${stdout} ${stderr}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    await wait(() => stderr.includes('Following live'));
    const client = await TestClient.join(roomUrl(server, 'live', { name: 'alice' }));
    client.send('hello tail');
    await wait(() => stdout.includes('hello tail'));
    expect(JSON.parse(stdout.trim().split('\n')[0]!)).toMatchObject({ id: 1, user: 'alice', text: 'hello tail' });
    child.kill('SIGINT');
    const code = await new Promise((r) => child.once('exit', r));
    expect(code).toBe(0);
  });
});

describe('history clear ROOM', () => {
  it('deletes history, counter and epoch with --yes, so clients see the reset', async () => {
    await seed('r', 3);
    const { epoch } = await server.history.since('r');
    const run = await runAdmin(['clear', 'r', '--yes'], env);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('3 messages deleted');
    expect(await raw.exists(historyKey('r'), seqKey('r'), epochKey('r'))).toBe(0);
    expect(await raw.zscore(roomsKey, 'r')).toBeNull();
    const after = await server.history.since('r', { since: 3, epoch });
    expect(after.gap).toBe(true);
  });

  it('deletes nothing and exits 1 when there is no terminal to ask', async () => {
    await seed('r', 2);
    const run = await runAdmin(['clear', 'r'], env, 'yes\n');
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('pass --yes');
    expect(await raw.llen(historyKey('r'))).toBe(2);
  });

  it('asks in a terminal and deletes nothing on any answer but yes', async () => {
    await seed('r', 2);
    const no = await runAdminInTerminal(['clear', 'r'], env, 'no');
    expect(no.stdout).toContain('Delete the history of r (2 messages)?');
    expect(no.code).toBe(1);
    expect(await raw.llen(historyKey('r'))).toBe(2);
    const yes = await runAdminInTerminal(['clear', 'r'], env, 'yes');
    expect(yes.code).toBe(0);
    expect(await raw.llen(historyKey('r'))).toBe(0);
  });
});

describe('history stats', () => {
  it('counts rooms, retained messages and history memory', async () => {
    await seed('a', 3);
    await seed('b', 2);
    const stats = JSON.parse((await runAdmin(['stats', '--json'], env)).stdout) as Record<string, number>;
    expect(stats).toEqual({ rooms: 2, messages: 5, historyBytes: expect.any(Number) });
    expect(stats.historyBytes).toBeGreaterThan(0);
  });
});

describe('history audit [ROOM]', () => {
  it('finds nothing in rooms the server wrote', async () => {
    await seed('a', 120);
    await seed('b', 3);
    const run = await runAdmin(['audit'], env);
    expect(run).toMatchObject({ code: 0 });
    expect(run.stdout).toContain('no findings');
  });

  it.each([
    ['a missing id', async () => void (await raw.lrem(historyKey('c'), 1, (await raw.lindex(historyKey('c'), 2))!)), 'not contiguous'],
    ['a counter behind the newest id', async () => void (await raw.set(seqKey('c'), '2')), 'counter 2 is behind the newest id 5'],
    ['a missing epoch', async () => void (await raw.del(epochKey('c'))), 'has no epoch'],
    ['a list over HISTORY_LIMIT', async () => void (await raw.rpush(historyKey('c'), ...Array(100).fill('x'))), 'more than HISTORY_LIMIT'],
    ['an entry that is not JSON', async () => void (await raw.lset(historyKey('c'), 1, '{broken')), 'entry 1 is not JSON'],
    ['ids out of order', async () => {
      const [a, b] = await raw.lrange(historyKey('c'), 0, 1);
      await raw.lset(historyKey('c'), 0, b!);
      await raw.lset(historyKey('c'), 1, a!);
    }, 'not contiguous and descending'],
    ['a message of another room', async () => {
      const m = JSON.parse((await raw.lindex(historyKey('c'), 0))!);
      await raw.lset(historyKey('c'), 0, JSON.stringify({ ...m, room: 'elsewhere' }));
    }, 'belongs to room "elsewhere"'],
  ])('finds %s and exits 1', async (_what, corrupt, finding) => {
    await seed('c', 5);
    await server.history.since('c');
    await corrupt();
    const run = await runAdmin(['audit', 'c'], env);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(finding);
    expect(run.stderr).toMatch(/history: \d+ findings?\./);
  });

  it('finds an epoch that a read before v2 left behind, with no history or counter', async () => {
    await raw.set(epochKey('v1-read'), 'abcdefghijk');
    expect((await runAdmin(['audit'], env)).stdout).toContain('v1-read: has an epoch but no history or counter');
  });

  it('finds a room that has keys but is missing from chat:rooms', async () => {
    await seed('hidden', 3);
    await raw.zrem(roomsKey, 'hidden');
    await raw.set(seqKey('hidden'), '1');
    expect((await runAdmin(['audit'], env)).stdout).toContain('hidden: counter 1 is behind the newest id 3');
  });
});

describe('when Redis is unreachable', () => {
  it.each([['rooms'], ['show', 'r'], ['export', 'r'], ['stats'], ['audit'], ['clear', 'r', '--yes'], ['tail', 'r']])(
    '%s exits 1 with one line within a few seconds',
    async (...args) => {
      const port = await freePort();
      const started = Date.now();
      const run = await runAdmin(args, { REDIS_URL: `redis://127.0.0.1:${port}` });
      expect(run.code).toBe(1);
      expect(run.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^history: cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+ \(.*ECONNREFUSED.*\)/)]);
      expect(Date.now() - started).toBeLessThan(8000);
    },
  );
});
