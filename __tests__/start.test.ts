import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { redisAnswers, startLocalRedis } from '../server/engine/redis/local-redis';
import { freePort } from './helpers/free-port';
import { startTestRedis } from './helpers/redis-server';
import { roomUrl } from './helpers/start-server';
import { killServers, runServerToExit, spawnServer } from './helpers/spawn-server';
import { TestClient } from './helpers/ws-client';

afterAll(killServers);

describe('npm start (server/index.ts)', () => {
  it('prints one line with its address once ready, and exits 0 on SIGTERM after closing members with 1001', async () => {
    const redis = await startTestRedis();
    try {
      const server = await spawnServer({ REDIS_URL: redis.url, LOG_LEVEL: 'silent' });
      expect(server.output().trim()).toBe(`Chat server listening on http://127.0.0.1:${server.port} · engine: redis at ${redis.url}`);
      const client = await TestClient.join(roomUrl(server, 'lobby'));
      const code = await server.kill('SIGTERM');
      expect((await client.closed).code).toBe(1001);
      expect(code).toBe(0);
    } finally {
      await redis.stop();
    }
  });

  it('exits 1 with one line when REDIS_URL does not answer', async () => {
    const port = await freePort();
    const { code, output } = await runServerToExit({ REDIS_URL: `redis://127.0.0.1:${port}`, LOG_LEVEL: 'silent' });
    expect(code).toBe(1);
    expect(output.trim().split('\n')).toEqual([expect.stringContaining(`Cannot reach Redis at redis://127.0.0.1:${port}`)]);
  });

  it('exits 1 with a sentence naming a bad configuration key', async () => {
    const { code, output } = await runServerToExit({ HISTORY_LIMIT: 'lots' });
    expect(code).toBe(1);
    expect(output).toContain('HISTORY_LIMIT must be an integer between 1 and 10000');
  });
});

describe('startLocalRedis(host, port, dir)', () => {
  it('starts a redis-server with an append-only file in dir and stops it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chat-local-'));
    const port = await freePort();
    const local = await startLocalRedis('127.0.0.1', port, dir);
    try {
      expect(await redisAnswers('127.0.0.1', port)).toBe(true);
      expect(readdirSync(dir).some((f) => f.startsWith('appendonly'))).toBe(true);
    } finally {
      await local.stop();
    }
    expect(await redisAnswers('127.0.0.1', port, 300)).toBe(false);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('npm start on a port that is taken', () => {
  it('exits 1 with one line saying so, in one process and with WORKERS', async () => {
    const redis = await startTestRedis();
    const holder = await spawnServer({ REDIS_URL: redis.url, LOG_LEVEL: 'silent' });
    try {
      for (const workers of ['1', '2']) {
        const { code, output } = await runServerToExit({ REDIS_URL: redis.url, PORT: String(holder.port), WORKERS: workers, LOG_LEVEL: 'silent' });
        expect([workers, code]).toEqual([workers, 1]);
        expect(output).toContain(`Port ${holder.port} on 127.0.0.1 is already in use`);
        expect(output).not.toContain('Unhandled');
      }
    } finally {
      await holder.kill();
      await redis.stop();
    }
  });
});
