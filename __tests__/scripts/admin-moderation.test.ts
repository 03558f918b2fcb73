import { http } from '../helpers/http';
import { startTestRedis, type TestRedis } from '../helpers/redis-server';
import { runAdmin } from '../helpers/run-admin';
import { roomUrl } from '../helpers/start-server';
import { killServers, spawnServer, type ServerProcess } from '../helpers/spawn-server';
import { signToken, TEST_SECRET } from '../helpers/tokens';
import { closeClients, TestClient } from '../helpers/ws-client';

let redis: TestRedis;
let server: ServerProcess;
let env: Record<string, string>;
const bob = () => ({ headers: { authorization: `Bearer ${signToken({ sub: 'u-bob', name: 'Bob' })}` } });

beforeAll(async () => {
  redis = await startTestRedis();
  env = { REDIS_URL: redis.url, AUTH_SECRET: TEST_SECRET, ANONYMOUS: 'write', RATE_LIMIT: '0' };
  server = await spawnServer(env);
});
afterEach(closeClients);
afterAll(async () => {
  await killServers();
  await redis.stop();
});

describe('npm run history -- delete ROOM ID', () => {
  it('deletes as system: connected clients get the delete event; show and audit understand tombstones', async () => {
    await http(server.port, 'POST', '/api/rooms/hall/messages', { user: 'a', text: 'oops' });
    const watcher = await TestClient.join(roomUrl(server, 'hall'));
    const run = await runAdmin(['delete', 'hall', '1'], env);
    expect([run.code, run.stdout.trim()]).toEqual([0, 'Deleted message 1 of hall (event 2).']);
    expect(await watcher.waitFor((f) => f.kind === 'delete')).toMatchObject({ user: 'system', target: 1 });
    expect((await runAdmin(['delete', 'hall', '1'], env)).stdout).toContain('was already deleted (event 2)');
    const show = await runAdmin(['show', 'hall'], env);
    expect(show.stdout).toContain('(message deleted)');
    expect(show.stdout).toContain('(deleted message 1)');
    const audit = await runAdmin(['audit', 'hall'], env);
    expect([audit.code, audit.stdout.trim()]).toEqual([0, 'hall: no findings.']);
  });

  it('exits 1 with one line for an id that is not retained', async () => {
    const run = await runAdmin(['delete', 'hall', '99'], env);
    expect([run.code, run.stderr.trim()]).toEqual([1, 'history: Message 99 is not in the retained history of hall.']);
  });
});

describe('npm run history -- kick ROOM UID [--ban SECONDS]', () => {
  it('ends the user’s connections, and with --ban keeps them out, also after the server restarts', async () => {
    const ws = await TestClient.join(roomUrl(server, 'den'), bob());
    const run = await runAdmin(['kick', 'den', 'u-bob', '--ban', '600'], env);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Kicked u-bob from den, banned until \d{4}-/);
    expect((await ws.closed).code).toBe(4004);

    await server.kill('SIGKILL');
    server = await spawnServer({ ...env, PORT: String(server.port) });
    const again = new TestClient(roomUrl(server, 'den'), bob());
    expect((await again.closed).code).toBe(4003);
    expect(again.ofType('error')[0]).toMatchObject({ code: 'banned' });
  });

  it('kicks an anonymous visitor by name with --name', async () => {
    const anon = await TestClient.join(roomUrl(server, 'den', { name: 'troll' }));
    expect((await runAdmin(['kick', 'den', 'troll', '--name'], env)).code).toBe(0);
    expect((await anon.closed).code).toBe(4004);
  });

  it('refuses a ban out of range', async () => {
    const run = await runAdmin(['kick', 'den', 'u-bob', '--ban', '0'], env);
    expect([run.code, run.stderr]).toEqual([1, expect.stringContaining('--ban must be from 1 to 31536000 seconds.')]);
  });
});
