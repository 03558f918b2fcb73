import type { RunningServer } from '../../server/server';
import { startTestRedis, type TestRedis } from './redis-server';
import { startChatServer, stopServers } from './start-server';

/**
 * A test file's private Redis and chat server: started before its tests and stopped after, with
 * `RATE_LIMIT=0` unless `env` says otherwise. `use` receives them once they run.
 *
 * @example
 * let server: RunningServer;
 * withChatServer({}, (_redis, s) => (server = s));
 */
export function withChatServer(
  env: Record<string, string>,
  use: (redis: TestRedis, server: RunningServer) => void,
): void {
  let redis: TestRedis | undefined;
  beforeAll(async () => {
    redis = await startTestRedis();
    use(redis, await startChatServer(redis.url, { RATE_LIMIT: '0', ...env }));
  });
  afterAll(async () => {
    await stopServers();
    await redis?.stop();
  });
}
