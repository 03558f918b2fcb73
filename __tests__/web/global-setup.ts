import { buildWeb } from '../../scripts/build-web';

/**
 * Jest's global setup: builds the room page's bundle (web/build/chat.js) before any suite runs.
 * Every suite that starts a server needs it, not only the Chromium ones: the server refuses to
 * start without it. esbuild takes a fraction of a second, and an unchanged bundle is not rewritten.
 */
export default async function buildPageBundle(): Promise<void> {
  await buildWeb();
}
