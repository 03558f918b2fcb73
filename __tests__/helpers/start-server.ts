import { loadConfig } from '../../server/config';
import { createLogger } from '../../server/logger';
import { startServer, type RunningServer } from '../../server/server';

const running = new Set<RunningServer>();

/** Starts the chat server in this process on 127.0.0.1 and a free port; `stopServers()` stops them all. */
export async function startChatServer(redisUrl: string, env: Record<string, string> = {}): Promise<RunningServer> {
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', REDIS_URL: redisUrl, LOG_LEVEL: 'silent', ...env });
  const server = await startServer(config, createLogger(config.logLevel));
  running.add(server);
  return server;
}

export async function stopServers(): Promise<void> {
  const all = [...running];
  running.clear();
  await Promise.all(all.map((s) => s.close()));
}

/** The ws:// address of a room on a server. */
export function roomUrl(server: { port: number }, room: string, query: Record<string, string | number> = {}): string {
  const qs = new URLSearchParams(Object.fromEntries(Object.entries(query).map(([k, v]) => [k, String(v)]))).toString();
  return `ws://127.0.0.1:${server.port}/ws/${encodeURIComponent(room)}${qs ? `?${qs}` : ''}`;
}
