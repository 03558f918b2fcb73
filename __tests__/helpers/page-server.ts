import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from './browser';
import { startTestRedis, type TestRedis } from './redis-server';
import { killServers, spawnServer, type ServerProcess } from './spawn-server';

/** How a test visits the page: signed in with a `chat_token` cookie, at a viewport. */
export interface Visit {
  token?: string;
  viewport?: { width: number; height: number };
}

/** A test file's Chromium and chat server (on a private Redis); every page opened is closed after its test. */
export interface PageServer {
  readonly redis: TestRedis;
  readonly server: ServerProcess;
  /** Opens `path` in a fresh browser context, with the cookie the app's own backend would set. */
  open(path: string, visit?: Visit): Promise<Page>;
}

/**
 * Starts, for the test file, a private redis-server, the chat server as `npm start` runs it with
 * `env` (REDIS_URL and RATE_LIMIT=0 added), and Chromium; stops them after its tests.
 *
 * @example
 * const pages = withPageServer({ AUTH_SECRET: TEST_SECRET });
 * const page = await pages.open('/rooms/lobby', { token });
 */
export function withPageServer(env: Record<string, string>): PageServer {
  let redis: TestRedis | undefined;
  let server: ServerProcess | undefined;
  let browser: Browser | undefined;
  const contexts: BrowserContext[] = [];
  beforeAll(async () => {
    redis = await startTestRedis();
    [server, browser] = await Promise.all([spawnServer({ REDIS_URL: redis.url, RATE_LIMIT: '0', ...env }), launchChromium()]);
  }, 60_000);
  afterEach(async () => {
    for (const c of contexts.splice(0)) await c.close();
  });
  afterAll(async () => {
    await browser?.close();
    await killServers();
    await redis?.stop();
  });
  return {
    get redis() {
      return redis!;
    },
    get server() {
      return server!;
    },
    async open(path, visit = {}) {
      const context = await browser!.newContext({ viewport: visit.viewport ?? { width: 1280, height: 800 } });
      contexts.push(context);
      if (visit.token) {
        await context.addCookies([{ name: 'chat_token', value: visit.token, domain: '127.0.0.1', path: '/', httpOnly: true, sameSite: 'Lax' }]);
      }
      const page = await context.newPage();
      await page.goto(`http://127.0.0.1:${server!.port}${path}`);
      return page;
    },
  };
}
