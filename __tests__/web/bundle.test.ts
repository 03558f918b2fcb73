import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildWeb, PAGE_BUNDLE } from '../../scripts/build-web';

const SRC = join(__dirname, '..', '..', 'web', 'src');

/** Bytes the page's script may weigh, minified (it is ~44 KiB: the page's modules and ChatClient). */
const BUDGET_BYTES = 64 * 1024;

describe('buildWeb()', () => {
  it('bundles web/src and ChatClient into one browser script, with no Node module and no eval, under budget', async () => {
    const { file, bytes } = await buildWeb();
    expect(file).toBe(PAGE_BUNDLE);
    const code = readFileSync(file, 'utf8');
    expect(code).not.toMatch(/require\(|from "node:|\beval\(|new Function\(/);
    expect(code).toMatch(/^\/\/# sourceMappingURL=chat\.js\.map$/m);
    expect(bytes).toBeLessThan(BUDGET_BYTES);
  });

  it('leaves an unchanged bundle alone', async () => {
    await buildWeb();
    const before = readFileSync(PAGE_BUNDLE);
    await buildWeb();
    expect(readFileSync(PAGE_BUNDLE).equals(before)).toBe(true);
  });
});

describe('web/src', () => {
  it('never talks to a transport itself, and never writes HTML: ChatClient does the talking, textContent the writing', () => {
    for (const name of readdirSync(SRC)) {
      const source = readFileSync(join(SRC, name), 'utf8');
      expect({ name, found: source.match(/new (WebSocket|EventSource)\b|\bfetch\(|XMLHttpRequest|innerHTML|outerHTML|insertAdjacentHTML|document\.write/g) }).toEqual({ name, found: null });
    }
  });
});
