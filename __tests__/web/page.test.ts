import type { Browser, BrowserContext, Page } from 'playwright-core';
import { historyKey } from '../../server/engine/redis/keys';
import { launchChromium, say, screenshot, shownIds, waitForState, type PageGlobal } from '../helpers/browser';
import { freePort } from '../helpers/free-port';
import { http } from '../helpers/http';
import { startTestRedis, type TestRedis } from '../helpers/redis-server';
import { killServers, spawnServer, type ServerProcess } from '../helpers/spawn-server';

let redis: TestRedis;
let browser: Browser;
let port: number;
let server: ServerProcess;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  redis = await startTestRedis();
  port = await freePort();
  [server, browser] = await Promise.all([
    spawnServer({ REDIS_URL: redis.url, PORT: String(port), RATE_LIMIT: '0' }),
    launchChromium(),
  ]);
}, 60_000);
afterEach(async () => {
  for (const c of contexts.splice(0)) await c.close();
});
afterAll(async () => {
  await browser?.close();
  await killServers();
  await redis.stop();
});

async function openPage(path: string, viewport = { width: 1280, height: 800 }): Promise<Page> {
  const context = await browser.newContext({ viewport });
  contexts.push(context);
  const page = await context.newPage();
  await page.goto(`http://127.0.0.1:${port}${path}`);
  return page;
}

const textOf = (page: Page, id: number) => page.locator(`#messages li[data-id="${id}"] .text`).textContent();

describe('the chat page', () => {
  it('lets two people chat, with their own messages set apart', async () => {
    const alice = await openPage('/rooms/duo?name=alice');
    const bob = await openPage('/rooms/duo?name=bob');
    await Promise.all([waitForState(alice, 'open'), waitForState(bob, 'open')]);
    expect(await alice.locator('#status').getAttribute('data-transport')).toBe('ws');
    await say(alice, 'hello bob');
    await bob.waitForSelector('#messages li[data-id="1"]');
    expect(await textOf(bob, 1)).toBe('hello bob');
    expect(await bob.locator('#messages li[data-id="1"] .user').textContent()).toBe('alice');
    await bob.getByLabel('Message').fill('hi alice');
    await bob.getByRole('button', { name: 'Send' }).click();
    await alice.waitForSelector('#messages li[data-id="2"]');
    expect(await alice.locator('#messages li[data-id="1"]').getAttribute('class')).toContain('mine');
    expect(await alice.locator('#messages li[data-id="2"]').getAttribute('class')).not.toContain('mine');
    await alice.waitForSelector('#online:has-text("2 online")');
    await say(alice, 'Long lines wrap politely: ' + 'lorem ipsum '.repeat(12));
    await bob.waitForSelector('#messages li[data-id="3"]');
    await screenshot(alice, 'room-desktop');
  });

  it('shows markup as text and never runs it', async () => {
    const page = await openPage('/rooms/markup?name=mallory');
    await waitForState(page, 'open');
    const evil = '<img src=x onerror="window.__pwned=1"><b>bold</b><script>window.__pwned=2</script>';
    await say(page, evil);
    await page.waitForSelector('#messages li[data-id="1"]');
    expect(await textOf(page, 1)).toBe(evil);
    expect(await page.locator('#messages img, #messages b, #messages script').count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as unknown as PageGlobal).__pwned)).toBeUndefined();
  });

  it('shows the history once, in order, after a reload', async () => {
    for (let i = 1; i <= 5; i++) await http(port, 'POST', '/api/rooms/reload/messages', { user: 'seed', text: `m${i}` });
    const page = await openPage('/rooms/reload?name=r');
    await waitForState(page, 'open');
    await say(page, 'sixth');
    await page.waitForSelector('#messages li[data-id="6"]');
    await page.reload();
    await waitForState(page, 'open');
    await page.waitForSelector('#messages li[data-id="6"]');
    expect(await shownIds(page)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('reconnects after the server is killed, shows what it missed once and sends what was typed offline once', async () => {
    const page = await openPage('/rooms/crash?name=survivor');
    await waitForState(page, 'open');
    await say(page, 'before the crash');
    await page.waitForSelector('#messages li[data-id="1"]');

    await server.kill('SIGKILL');
    let other: ServerProcess | undefined;
    try {
      await waitForState(page, 'reconnecting');
      await say(page, 'typed while offline');
      expect(await page.locator('#messages li.pending').count()).toBe(1);

      // Others keep chatting through another process while this one is down.
      other = await spawnServer({ REDIS_URL: redis.url });
      await http(other.port, 'POST', '/api/rooms/crash/messages', { user: 'other', text: 'missed one' });
      await http(other.port, 'POST', '/api/rooms/crash/messages', { user: 'other', text: 'missed two' });
      await screenshot(page, 'room-reconnecting');
    } finally {
      server = await spawnServer({ REDIS_URL: redis.url, PORT: String(port), RATE_LIMIT: '0' });
    }
    await waitForState(page, 'open', 30_000);
    await page.waitForSelector('#messages li[data-id="4"]', { timeout: 15_000 });
    await page.waitForTimeout(500);
    expect(await shownIds(page)).toEqual([1, 2, 3, 4]);
    expect(await textOf(page, 2)).toBe('missed one');
    expect(await textOf(page, 4)).toBe('typed while offline');
    expect(await page.locator('#messages li.pending').count()).toBe(0);
    const stored = (await redis.client().lrange(historyKey('crash'), 0, -1)).map((j) => JSON.parse(j).text);
    expect(stored.filter((t: string) => t === 'typed while offline')).toHaveLength(1);
    await other?.kill();
  }, 90_000);

  it('never shows a gap notice on a first join', async () => {
    for (let i = 1; i <= 105; i++) await http(port, 'POST', '/api/rooms/gappy/messages', { user: 's', text: `m${i}` });
    const page = await openPage('/rooms/gappy?name=late');
    await waitForState(page, 'open');
    expect(await page.locator('#messages li[data-id]').count()).toBe(100);
    expect(await page.locator('#notice').isHidden()).toBe(true);
  });

  it('says how many messages it could not load when it cannot catch up', async () => {
    const page = await openPage('/rooms/behind?transport=poll&name=sleeper');
    await waitForState(page, 'open');
    await say(page, 'last thing I saw');
    await page.waitForSelector('#messages li[data-id="1"]');
    // The page sleeps through 110 messages (its polls fail meanwhile), more than the room keeps.
    await page.route('**/api/rooms/behind/messages**', (route) =>
      route.request().method() === 'GET' ? route.abort() : route.continue(),
    );
    await waitForState(page, 'reconnecting');
    for (let i = 2; i <= 111; i++) await http(port, 'POST', '/api/rooms/behind/messages', { user: 'busy', text: `m${i}` });
    await page.unroute('**/api/rooms/behind/messages**');
    await page.waitForSelector('#messages li[data-id="111"]', { timeout: 20_000 });
    expect(await page.locator('#notice').textContent()).toBe('10 earlier messages could not be loaded.');
    const ids = await shownIds(page);
    expect(ids).toEqual([1, ...Array.from({ length: 100 }, (_, i) => 12 + i)]);
  }, 40_000);

  it('works in a Unicode room', async () => {
    const page = await openPage(`/rooms/${encodeURIComponent('技术交流')}?name=${encodeURIComponent('小明')}`);
    await waitForState(page, 'open');
    await say(page, '大家好 👋');
    await page.waitForSelector('#messages li[data-id="1"]');
    expect(await textOf(page, 1)).toBe('大家好 👋');
    expect(await page.locator('h1').textContent()).toBe('技术交流');
  });

  it('looks right on a phone-width screen', async () => {
    const page = await openPage('/rooms/duo?name=alice', { width: 390, height: 844 });
    await waitForState(page, 'open');
    await page.waitForSelector('#messages li[data-id="3"]');
    const overflow = await page.evaluate(() => (globalThis as unknown as PageGlobal).document.documentElement.scrollWidth - (globalThis as unknown as PageGlobal).innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await screenshot(page, 'room-phone');
  });

  it('is served with a Content-Security-Policy and no inline script', async () => {
    const res = await http(port, 'GET', '/rooms/duo');
    expect(res.headers['content-security-policy']).toContain("script-src 'self'");
    expect(res.text).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(res.text).not.toMatch(/\son[a-z]+=/i);
  });
});

describe('the page over each transport', () => {
  it.each(['sse', 'longpoll', 'poll'])('chats over ?transport=%s', async (transport) => {
    const room = `over-${transport}`;
    await http(port, 'POST', `/api/rooms/${room}/messages`, { user: 'seed', text: 'already here' });
    const page = await openPage(`/rooms/${room}?name=t&transport=${transport}`);
    await waitForState(page, 'open');
    expect(await page.locator('#status').getAttribute('data-transport')).toBe(transport);
    await say(page, `sent over ${transport}`);
    await http(port, 'POST', `/api/rooms/${room}/messages`, { user: 'other', text: 'from elsewhere' });
    await page.waitForSelector('#messages li[data-id="3"]', { timeout: 10_000 });
    await page.waitForTimeout(300);
    expect(await shownIds(page)).toEqual([1, 2, 3]);
    const texts = await page.$$eval('#messages li[data-id] .text', (els) => els.map((e) => e.textContent));
    expect(texts).toEqual(['already here', `sent over ${transport}`, 'from elsewhere']);
  });

  it('falls back to Server-Sent Events when WebSocket is missing', async () => {
    const context = await browser.newContext();
    contexts.push(context);
    await context.addInitScript(() => {
      delete (globalThis as unknown as PageGlobal).WebSocket;
    });
    const page = await context.newPage();
    await page.goto(`http://127.0.0.1:${port}/rooms/fallback?name=old-browser`);
    await waitForState(page, 'open');
    expect(await page.locator('#status').getAttribute('data-transport')).toBe('sse');
    await say(page, 'no websocket here');
    await page.waitForSelector('#messages li[data-id="1"]');
  });

  it('falls back to long polling when neither WebSocket nor EventSource exists', async () => {
    const context = await browser.newContext();
    contexts.push(context);
    await context.addInitScript(() => {
      delete (globalThis as unknown as PageGlobal).WebSocket;
      delete (globalThis as unknown as PageGlobal).EventSource;
    });
    const page = await context.newPage();
    await page.goto(`http://127.0.0.1:${port}/rooms/fallback2?name=older`);
    await waitForState(page, 'open');
    expect(await page.locator('#status').getAttribute('data-transport')).toBe('longpoll');
  });
});

describe('the lobby', () => {
  it('lists rooms with how many are online and opens one from its form', async () => {
    const member = await openPage('/rooms/busy-room?name=sitter');
    await waitForState(member, 'open');
    await say(member, 'anyone?');
    await member.waitForSelector('#messages li[data-id="1"]');
    const lobby = await openPage('/');
    const row = lobby.locator('.rooms li', { hasText: 'busy-room' });
    expect(await row.locator('.online').textContent()).toBe('1 online');
    await screenshot(lobby, 'lobby-desktop');
    await lobby.getByLabel('Room', { exact: true }).fill('new-room');
    await lobby.getByLabel('Name', { exact: true }).fill('visitor');
    await lobby.getByRole('button', { name: 'Join' }).click();
    await waitForState(lobby, 'open');
    expect(decodeURIComponent(new URL(lobby.url()).pathname)).toBe('/rooms/new-room');
    expect(await lobby.getByLabel('Name').inputValue()).toBe('visitor');
  });

  it('answers a bad room name with the lobby and a message', async () => {
    const res = await http(port, 'GET', '/rooms?room=no%20spaces');
    expect(res.status).toBe(400);
    expect(res.text).toContain('A room name is 1 to 64 letters');
  });
});
