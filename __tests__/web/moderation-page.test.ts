import type { Page } from 'playwright-core';
import { screenshot, shownIds, waitForState } from '../helpers/browser';
import { http } from '../helpers/http';
import { withPageServer, type Visit } from '../helpers/page-server';
import { signToken, TEST_SECRET } from '../helpers/tokens';

// The page's Online list, deleted messages and moderators' controls (PROTOCOL.md "Moderation",
// "Presence list"), against a server with identity on, anonymous visitors allowed to write, and
// a backend API key to delete with.

const API_KEY = 'page-test-api-key-0123456789abcdef-0123';
const pages = withPageServer({ AUTH_SECRET: TEST_SECRET, ANONYMOUS: 'write', API_KEYS: API_KEY });
const open = (path: string, visit?: Visit): Promise<Page> => pages.open(path, visit);

/** The message box, by its exact label: a moderator's page also has "Delete message" buttons. */
async function say(page: Page, text: string): Promise<void> {
  await page.getByLabel('Message', { exact: true }).fill(text);
  await page.getByLabel('Message', { exact: true }).press('Enter');
}

/** Posts as the app's backend. */
async function post(room: string, user: string, text: string): Promise<number> {
  const res = await http(pages.server.port, 'POST', `/api/rooms/${room}/messages`, { user, text }, { 'X-API-Key': API_KEY });
  expect(res.status).toBe(201);
  return res.json.message.id as number;
}

/** Deletes as the app's backend. */
async function deleteMessage(room: string, id: number): Promise<void> {
  const res = await http(pages.server.port, 'DELETE', `/api/rooms/${room}/messages/${id}`, undefined, { 'X-API-Key': API_KEY });
  expect(res.status).toBe(200);
}

const onlineNames = (page: Page) => page.locator('[aria-label="Online"] li .member-name').allTextContents();

async function waitForOnline(page: Page, names: string[]): Promise<void> {
  const wanted = JSON.stringify([...names].sort());
  await page.waitForFunction(
    (expected) =>
      JSON.stringify(
        Array.from((globalThis as unknown as DomGlobal).document.querySelectorAll('[aria-label="Online"] li .member-name'), (e) => e.textContent).sort(),
      ) === expected,
    wanted,
    { timeout: 10_000 },
  );
}

/** What the browser code touches; the suite type-checks without the DOM library. */
type DomGlobal = {
  innerWidth: number;
  document: {
    documentElement: { scrollWidth: number };
    querySelectorAll(selector: string): ArrayLike<{ textContent: string | null }>;
  };
};

describe('the Online list', () => {
  it('lists everyone in the room, one item per person, and follows who leaves', async () => {
    const ann = await open('/rooms/people?name=ann');
    const bob = await open('/rooms/people?name=bob');
    await Promise.all([waitForState(ann, 'open'), waitForState(bob, 'open')]);
    const list = ann.getByRole('list', { name: 'Online' });
    await waitForOnline(ann, ['ann', 'bob']);
    await waitForOnline(bob, ['ann', 'bob']);
    expect(await list.locator('li[data-uid]').count()).toBe(0);

    // Bob in a second tab: still one bob, with two connections; a signed-in user has a data-uid.
    const bobAgain = await bob.context().newPage();
    await bobAgain.goto(`http://127.0.0.1:${pages.server.port}/rooms/people?name=bob`);
    const cy = await open('/rooms/people', { token: signToken({ sub: 'u-cy', name: 'Cy' }) });
    await waitForState(cy, 'open');
    await waitForOnline(ann, ['ann', 'bob', 'Cy']);
    await ann.waitForSelector('#online:has-text("4 online")');
    expect(await list.locator('li', { hasText: 'bob' }).textContent()).toContain('2 connections');
    expect(await list.locator('li[data-uid="u-cy"] .member-name').textContent()).toBe('Cy');

    await bob.context().close();
    await waitForOnline(ann, ['ann', 'Cy']);
    await ann.waitForSelector('#online:has-text("2 online")');
    expect(await onlineNames(cy)).toEqual(expect.arrayContaining(['ann', 'Cy']));
  });

  it('shows no moderator controls to a member who is not one', async () => {
    const room = 'plain';
    await post(room, 'seed', 'hello');
    const page = await open(`/rooms/${room}?name=pat`);
    await waitForState(page, 'open');
    await page.waitForSelector('#messages li[data-id="1"]');
    await waitForOnline(page, ['pat']);
    expect(await page.getByRole('button', { name: 'Delete message' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Kick' }).count()).toBe(0);
  });
});

describe('deleted messages', () => {
  it.each(['ws', 'sse', 'longpoll', 'poll'])(
    'keep their element with data-deleted and "message deleted" when the delete event arrives live (?transport=%s)',
    async (transport) => {
      const room = `live-delete-${transport}`;
      await post(room, 'seed', 'keep me');
      await post(room, 'troll', 'delete me');
      const page = await open(`/rooms/${room}?name=reader&transport=${transport}`);
      await waitForState(page, 'open');
      await page.waitForSelector('#messages li[data-id="2"]');
      await deleteMessage(room, 2);
      await page.waitForSelector('#messages li[data-id="2"][data-deleted]', { timeout: 10_000 });
      expect(await page.locator('#messages li[data-id="2"] .text').textContent()).toBe('message deleted');
      expect(await page.locator('#messages li[data-id="2"] .user').textContent()).toBe('troll');
      expect(await page.locator('#messages li[data-id="1"] .text').textContent()).toBe('keep me');
      // The delete event (id 3) moved the cursor but is not shown as a message.
      await post(room, 'seed', 'after');
      await page.waitForSelector('#messages li[data-id="4"]', { timeout: 10_000 });
      expect(await shownIds(page)).toEqual([1, 2, 4]);
    },
  );

  it('render a tombstone from the history the same way', async () => {
    const room = 'tombstones';
    await post(room, 'seed', 'first');
    await post(room, 'troll', 'gone before you came');
    await post(room, 'seed', 'third');
    await deleteMessage(room, 2);
    const page = await open(`/rooms/${room}?name=late`);
    await waitForState(page, 'open');
    await page.waitForSelector('#messages li[data-id="3"]');
    expect(await shownIds(page)).toEqual([1, 2, 3]);
    expect(await page.locator('#messages li[data-id="2"]').getAttribute('data-deleted')).not.toBeNull();
    expect(await page.locator('#messages li[data-id="2"] .text').textContent()).toBe('message deleted');
    expect(await page.locator('#messages [data-deleted]').count()).toBe(1);
    expect(await page.content()).not.toContain('gone before you came');
  });
});

describe("the moderator's page", () => {
  const room = 'modroom';
  const moderatorToken = () => signToken({ sub: 'u-mo', name: 'Mo', mod: [room] }, { expiresIn: 600 });

  it('deletes a message with "Delete message", and every page shows it deleted', async () => {
    const mo = await open(`/rooms/${room}`, { token: moderatorToken() });
    const vic = await open(`/rooms/${room}?name=vic`);
    await Promise.all([waitForState(mo, 'open'), waitForState(vic, 'open')]);
    await say(vic, 'buy cheap watches');
    await mo.waitForSelector('#messages li[data-id="1"]');
    expect(await vic.getByRole('button', { name: 'Delete message' }).count()).toBe(0);

    await mo.locator('#messages li[data-id="1"]').getByRole('button', { name: 'Delete message' }).click();
    for (const page of [mo, vic]) {
      await page.waitForSelector('#messages li[data-id="1"][data-deleted]');
      expect(await page.locator('#messages li[data-id="1"] .text').textContent()).toBe('message deleted');
    }
    expect(await mo.locator('#messages li[data-id="1"]').getByRole('button', { name: 'Delete message' }).count()).toBe(0);
  });

  it('kicks a member with "Kick": their page says so and stops, the list lets them go', async () => {
    const mo = await open(`/rooms/${room}`, { token: moderatorToken() });
    const vic = await open(`/rooms/${room}?name=vic`);
    await Promise.all([waitForState(mo, 'open'), waitForState(vic, 'open')]);
    await waitForOnline(mo, ['Mo', 'vic']);
    const members = mo.getByRole('list', { name: 'Online' });
    // Beside every member but the moderator.
    expect(await members.locator('li', { hasText: 'Mo' }).getByRole('button', { name: 'Kick' }).count()).toBe(0);

    await members.locator('li', { hasText: 'vic' }).getByRole('button', { name: 'Kick' }).click();
    await waitForState(vic, 'closed');
    expect(await vic.locator('#notice').textContent()).toContain('A moderator removed you from this room.');
    expect(await vic.getByLabel('Message', { exact: true }).isDisabled()).toBe(true);
    await waitForOnline(mo, ['Mo']);
    expect(await mo.locator('#notice').textContent()).toContain('vic was removed from the room.');
    await screenshot(vic, 'room-kicked');
  });

  it('looks right with the Online list and a deleted message, on a desktop and on a 390 px phone', async () => {
    const shots = 'modshots';
    const token = signToken({ sub: 'u-mo', name: 'Mo', mod: [shots] }, { expiresIn: 600 });
    await post(shots, 'alice', 'Good morning! Has anyone seen the release notes?');
    await post(shots, 'troll', 'something nobody should read');
    await post(shots, 'مريم', 'صباح الخير! الإصدار الجديد جاهز.');
    await post(shots, 'bob', 'A long word: ' + 'Donaudampfschifffahrtsgesellschaftskapitän'.repeat(4));
    await post(shots, 'zalgo', 'Z' + '\u0336\u0337\u0338\u0334\u0335'.repeat(40) + 'algo' + '\u0300\u0301\u0302\u0303\u0304'.repeat(40) + ' text');
    await post(shots, 'mallory', 'bidi \u202Eevil override\u202C and after');
    await deleteMessage(shots, 2);
    const others = [await open(`/rooms/${shots}?name=alice`), await open(`/rooms/${shots}?name=${encodeURIComponent('مريم')}`)];
    await Promise.all(others.map((p) => waitForState(p, 'open')));

    const desktop = await open(`/rooms/${shots}`, { token });
    await waitForState(desktop, 'open');
    await waitForOnline(desktop, ['alice', 'Mo', 'مريم']);
    await desktop.waitForSelector('#messages li[data-id="2"][data-deleted]');
    await screenshot(desktop, 'room-moderator-desktop');

    const phone = await open(`/rooms/${shots}`, { token, viewport: { width: 390, height: 844 } });
    await waitForState(phone, 'open');
    await waitForOnline(phone, ['alice', 'Mo', 'مريم']);
    await phone.waitForSelector('#messages li[data-id="6"]');
    const overflow = await phone.evaluate(() => {
      const g = globalThis as unknown as DomGlobal;
      return g.document.documentElement.scrollWidth - g.innerWidth;
    });
    expect(overflow).toBeLessThanOrEqual(0);
    await screenshot(phone, 'room-moderator-phone');
  });
});

describe('text isolation', () => {
  it('isolates names and texts, wraps long words and keeps every message inside its own box', async () => {
    const room = 'isolation';
    await post(room, 'مريم', 'مرحبا');
    await post(room, 'x', 'y'.repeat(600));
    await post(room, 'zalgo', 'Z' + '\u0336\u0337\u0338'.repeat(80));
    await post(room, 'mallory', '\u202Eevil');
    await post(room, 'after', 'the next one');
    const page = await open(`/rooms/${room}?name=reader`, { viewport: { width: 390, height: 844 } });
    await waitForState(page, 'open');
    await page.waitForSelector('#messages li[data-id="5"]');
    const layout = await page.evaluate(() => {
      type Box = { top: number; bottom: number; left: number; right: number; width: number };
      type El = { getBoundingClientRect(): Box; getAttribute(name: string): string | null; querySelector(s: string): El };
      const g = globalThis as unknown as {
        innerWidth: number;
        getComputedStyle(el: El): { unicodeBidi: string; overflowX: string; overflowY: string };
        document: { documentElement: { scrollWidth: number }; querySelectorAll(s: string): ArrayLike<El>; querySelector(s: string): El };
      };
      const items = Array.from(g.document.querySelectorAll('#messages li[data-id]'));
      const list = g.document.querySelector('#messages').getBoundingClientRect();
      return {
        overflow: g.document.documentElement.scrollWidth - g.innerWidth,
        inside: items.every((li) => li.getBoundingClientRect().left >= list.left && li.getBoundingClientRect().right <= list.right),
        apart: items.every((li, i) => i === 0 || items[i - 1]!.getBoundingClientRect().bottom <= li.getBoundingClientRect().top),
        isolated: items.every((li) =>
          ['.user', '.text'].every((part) => {
            const el = li.querySelector(part);
            const style = g.getComputedStyle(el);
            return el.getAttribute('dir') === 'auto' && style.unicodeBidi === 'isolate';
          }),
        ),
        clipped: items.every((li) => g.getComputedStyle(li.querySelector('.text')).overflowY === 'hidden'),
      };
    });
    expect(layout).toEqual({ overflow: 0, inside: true, apart: true, isolated: true, clipped: true });
  });
});
