import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Debian's Chromium, with the flags this machine needs (root, closed network). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export const SCREENSHOT_DIR = join(__dirname, '..', '..', 'screenshots');

/** Saves a screenshot to the git-ignored screenshots/ folder, for people to look at. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: false });
}

/** The ids of the stored messages the page shows, in page order. */
export function shownIds(page: Page): Promise<number[]> {
  return page.$$eval('#messages li[data-id]', (items) => items.map((i) => Number(i.getAttribute('data-id'))));
}

/** Waits for the connection status element to reach `state`. */
export async function waitForState(page: Page, state: string, timeoutMs = 15_000): Promise<void> {
  await page.waitForSelector(`#status[data-state="${state}"]`, { timeout: timeoutMs });
}

/**
 * The page's global object, for code that runs in the browser: the suite type-checks without
 * the DOM library, so browser code names what it touches here.
 */
export type PageGlobal = {
  WebSocket?: unknown;
  EventSource?: unknown;
  __pwned?: number;
  innerWidth: number;
  document: { documentElement: { scrollWidth: number } };
};

/** Types into the message box and presses Enter. */
export async function say(page: Page, text: string): Promise<void> {
  await page.getByLabel('Message').fill(text);
  await page.getByLabel('Message').press('Enter');
}
