import { build, type BuildOptions } from 'esbuild';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

/**
 * Bundles the room page (`web/src/main.ts`, its UI modules and the ChatClient library) into
 * `web/build/chat.js`, which the server serves as `/static/chat.js`, with its source map beside
 * it. `npm run build` (so `npm start`), `npm run dev` (its `predev`), `npm run soak` and the test
 * suite's global setup run it. The output is not committed: it is made from the sources in a
 * fraction of a second, and a committed copy could only drift from them. The server reads it
 * once at start, so restart the server after changing the page.
 *
 * @example
 * node --import tsx scripts/build-web.ts            # quietly (npm run build:web)
 * node --import tsx scripts/build-web.ts --verbose  # saying where and how big
 */

/** The repository root, from the sources (scripts/) and from the build (dist/scripts/). */
const ROOT =
  [join(__dirname, '..'), join(__dirname, '..', '..')].find((dir) => existsSync(join(dir, 'web', 'src'))) ?? join(__dirname, '..');

/** Where the bundle goes; `server/routes/pages.ts` reads it from here. */
export const WEB_BUILD_DIR = join(ROOT, 'web', 'build');
export const PAGE_BUNDLE = join(WEB_BUILD_DIR, 'chat.js');

const OPTIONS: BuildOptions = {
  entryPoints: [join(ROOT, 'web', 'src', 'main.ts')],
  bundle: true,
  platform: 'browser',
  format: 'iife',
  // Every browser from 2020 on has what the page uses (fetch, EventSource, AbortController, optional chaining).
  target: 'es2020',
  minify: true,
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'silent',
  write: false,
  outfile: PAGE_BUNDLE,
};

export interface WebBuild {
  readonly file: string;
  readonly bytes: number;
}

/**
 * Builds the page bundle once. Each file is written beside its place and renamed over it, so a
 * server starting meanwhile (another test run, say) never reads half a bundle; a file that
 * would not change is left alone.
 */
export async function buildWeb(): Promise<WebBuild> {
  const result = await build(OPTIONS);
  return { file: PAGE_BUNDLE, bytes: writeOutputs(result.outputFiles ?? []) };
}

function writeOutputs(files: ReadonlyArray<{ path: string; contents: Uint8Array }>): number {
  mkdirSync(WEB_BUILD_DIR, { recursive: true });
  let bytes = 0;
  for (const file of files) {
    if (file.path === PAGE_BUNDLE) bytes = file.contents.byteLength;
    let before: Buffer | undefined;
    try {
      before = readFileSync(file.path);
    } catch {
      before = undefined;
    }
    if (before?.equals(file.contents)) continue;
    const temporary = join(WEB_BUILD_DIR, `.${basename(file.path)}.${process.pid}.tmp`);
    writeFileSync(temporary, file.contents);
    renameSync(temporary, file.path);
  }
  return bytes;
}

async function main(): Promise<void> {
  try {
    const { file, bytes } = await buildWeb();
    if (process.argv.includes('--verbose')) process.stdout.write(`build-web: ${file} (${(bytes / 1024).toFixed(1)} KiB)\n`);
  } catch (err) {
    // esbuild's own message lists each error with its file and line.
    process.stderr.write(`build-web: the page bundle could not be built: ${(err as Error).message}\n`);
    process.exit(1);
  }
}

if (require.main === module) void main();
