import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../helpers/free-port';
import { http } from '../../helpers/http';
import { killServers, spawnServer } from '../../helpers/spawn-server';

afterAll(killServers);

describe('npm start with ENGINE=memory', () => {
  it('names the engine on its start line, and a graceful stop keeps history and epoch for the next start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chat-memory-'));
    const snapshot = join(dir, 'memory.json');
    const port = await freePort();
    const env = { ENGINE: 'memory', MEMORY_SNAPSHOT_PATH: snapshot, PORT: String(port), RATE_LIMIT: '0' };
    try {
      const first = await spawnServer(env);
      expect(first.output()).toContain('engine: memory (one process; install Redis for more)');
      for (let i = 1; i <= 3; i++) {
        expect((await http(port, 'POST', '/api/rooms/kept/messages', { user: 'u', text: `m${i}` })).status).toBe(201);
      }
      const before = (await http(port, 'GET', '/api/rooms/kept/messages')).json;
      expect(await first.kill('SIGTERM')).toBe(0);
      expect(existsSync(snapshot)).toBe(true);

      await spawnServer(env);
      const resumed = (await http(port, 'GET', `/api/rooms/kept/messages?since=2&epoch=${before.epoch}`)).json;
      expect(resumed).toMatchObject({ epoch: before.epoch, gap: false, last: 3 });
      expect(resumed.messages.map((m: { text: string }) => m.text)).toEqual(['m3']);
      const next = await http(port, 'POST', '/api/rooms/kept/messages', { user: 'u', text: 'm4' });
      expect(next.json.message.id).toBe(4);
    } finally {
      await killServers();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
