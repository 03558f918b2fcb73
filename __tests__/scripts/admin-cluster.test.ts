import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { historyKey } from '../../server/engine/redis/keys';
import type { RunningServer } from '../../server/server';
import { slotOf, startTestCluster, type TestCluster } from '../helpers/redis-cluster';
import { runAdmin } from '../helpers/run-admin';
import { roomUrl, startChatServer, stopServers } from '../helpers/start-server';
import { closeClients, TestClient } from '../helpers/ws-client';

/** `npm run history -- …` with REDIS_CLUSTER_NODES: the admin script on Redis Cluster. */

let cluster: TestCluster;
let server: RunningServer;
let env: Record<string, string>;
/** Two rooms whose slots belong to different masters. */
let rooms: [string, string];

beforeAll(async () => {
  cluster = await startTestCluster();
  // REDIS_URL points where nothing answers: with REDIS_CLUSTER_NODES set it must not be used.
  env = { REDIS_CLUSTER_NODES: cluster.seeds, REDIS_URL: 'redis://127.0.0.1:1', HISTORY_LIMIT: '100' };
  server = await startChatServer(env.REDIS_URL!, { ...env, RATE_LIMIT: '0' });
  const owners = new Map<number, string>();
  for (let i = 0; owners.size < 2; i++) {
    const owner = await cluster.ownerOf(slotOf(historyKey(`hall-${i}`)));
    if (!owners.has(owner)) owners.set(owner, `hall-${i}`);
  }
  rooms = [...owners.values()] as [string, string];
}, 30_000);
afterEach(async () => {
  await closeClients();
  await cluster.flush();
});
afterAll(async () => {
  await stopServers();
  await cluster.stop();
});

async function seed(room: string, count: number): Promise<void> {
  for (let i = 1; i <= count; i++) await server.history.append(room, { user: 'u', text: `m${i}` });
}

describe('npm run history -- rooms / show / delete on Redis Cluster', () => {
  it('lists rooms on every shard, shows one, and deletes a message that members on the server see deleted', async () => {
    const [a, b] = rooms;
    await seed(a, 120);
    await seed(b, 2);
    const listed = await runAdmin(['rooms', '--json'], env);
    expect([listed.code, listed.stderr]).toEqual([0, '']);
    expect(JSON.parse(listed.stdout)).toEqual([
      { room: b, count: 2, lastId: 2, lastActivity: expect.stringMatching(/^\d{4}-/) },
      { room: a, count: 100, lastId: 120, lastActivity: expect.stringMatching(/^\d{4}-/) },
    ]);

    const shown = await runAdmin(['show', b, '--json'], env);
    expect(JSON.parse(shown.stdout)).toEqual([
      expect.objectContaining({ id: 1, room: b, text: 'm1' }),
      expect.objectContaining({ id: 2, room: b, text: 'm2' }),
    ]);

    const watcher = await TestClient.join(roomUrl(server, b));
    const deleted = await runAdmin(['delete', b, '1'], env);
    expect([deleted.code, deleted.stdout.trim()]).toEqual([0, `Deleted message 1 of ${b} (event 3).`]);
    expect(await watcher.waitFor((f) => f.kind === 'delete')).toMatchObject({ id: 3, user: 'system', target: 1 });
    expect((await runAdmin(['show', b], env)).stdout).toContain('(message deleted)');
  });

  it('walks every master for stats and audit, and clears a room', async () => {
    const [a, b] = rooms;
    await seed(a, 3);
    await seed(b, 4);
    const stats = await runAdmin(['stats', '--json'], env);
    expect(JSON.parse(stats.stdout)).toMatchObject({ rooms: 2, messages: 7 });
    const audit = await runAdmin(['audit'], env);
    expect([audit.code, audit.stdout.trim()]).toEqual([0, 'All rooms: no findings.']);
    const cleared = await runAdmin(['clear', a, '--yes'], env);
    expect([cleared.code, cleared.stdout.trim()]).toEqual([0, `Cleared ${a}: 3 messages deleted.`]);
    expect((await server.history.since(a)).last).toBe(0);
  });

  it('follows a room with tail (sharded pub/sub)', async () => {
    const [, b] = rooms;
    const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, '..', '..', 'scripts', 'admin.ts'), 'tail', b, '--json'], {
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
    await wait(() => stderr.includes(`Following ${b}`));
    await server.history.append(b, { user: 'alice', text: 'hello tail' });
    await wait(() => stdout.includes('hello tail'));
    expect(JSON.parse(stdout.trim())).toMatchObject({ id: 1, user: 'alice', text: 'hello tail' });
    child.kill('SIGINT');
    expect(await new Promise((r) => child.once('exit', r))).toBe(0);
  });

  it('exits 1 with one line when the cluster does not answer', async () => {
    const run = await runAdmin(['rooms'], { ...env, REDIS_CLUSTER_NODES: '127.0.0.1:1' });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^history: cannot reach the Redis Cluster at 127\.0\.0\.1:1 \(.+\); is it running, and is REDIS_CLUSTER_NODES right\?\n$/);
  });
});
