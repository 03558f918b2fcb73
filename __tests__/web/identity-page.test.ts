import type { Page } from 'playwright-core';
import { say, screenshot, waitForState } from '../helpers/browser';
import { withPageServer } from '../helpers/page-server';
import { signToken, TEST_SECRET } from '../helpers/tokens';

// The page behind identity: the app's own backend sets the chat_token cookie (HttpOnly, same site).

const pages = withPageServer({ AUTH_SECRET: TEST_SECRET });

const openAs = (token: string | undefined, path: string): Promise<Page> => pages.open(path, { token });

describe('the chat page with a cookie token', () => {
  it('shows who you are in a read-only name field, and sends as that user', async () => {
    const page = await openAs(signToken({ sub: 'u-ann', name: 'Ann' }), '/rooms/team?name=mallory');
    await waitForState(page, 'open');
    const name = page.getByLabel('Name');
    expect(await name.inputValue()).toBe('Ann');
    expect(await name.getAttribute('readonly')).not.toBeNull();
    await say(page, 'signed in');
    await page.waitForSelector('#messages li[data-id="1"]');
    expect(await page.locator('#messages li[data-id="1"] .user').textContent()).toContain('Ann');
    await screenshot(page, 'identity-signed-in');
  });

  it('disables the composer in a room the user may only read, and says why', async () => {
    const page = await openAs(signToken({ sub: 'u-ann', name: 'Ann', read: ['news'] }), '/rooms/news');
    await waitForState(page, 'open');
    expect(await page.getByLabel('Message').isDisabled()).toBe(true);
    expect(await page.getByRole('button', { name: 'Send' }).isDisabled()).toBe(true);
    expect(await page.locator('#notice').textContent()).toContain('You can read this room but not write in it.');
    await screenshot(page, 'identity-read-only');
  });

  it('says plainly that sign-in is required when there is no token, and does not keep retrying', async () => {
    const page = await openAs(undefined, '/rooms/team');
    expect(await page.locator('#notice').textContent()).toContain('Sign-in required');
    expect(await page.locator('#status').getAttribute('data-state')).toBe('closed');
    expect(await page.getByLabel('Message').isDisabled()).toBe(true);
    await screenshot(page, 'identity-sign-in-required');
  });

  it('says so when the token is refused', async () => {
    const page = await openAs(signToken({ sub: 'u' }, { expiresIn: -5 }), '/rooms/team');
    expect(await page.locator('#notice').textContent()).toContain('The token was refused: it has expired.');
  });
});
