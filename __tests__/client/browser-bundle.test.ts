import { buildSync } from 'esbuild';
import { join } from 'node:path';

describe("esbuild.build({ entryPoints: ['client/index.ts'], platform: 'browser' })", () => {
  it('bundles the client for browsers: no Node module is imported', () => {
    const result = buildSync({
      entryPoints: [join(__dirname, '..', '..', 'client', 'index.ts')],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      logLevel: 'silent',
    });
    expect(result.errors).toEqual([]);
    const code = result.outputFiles[0]!.text;
    expect(code).not.toMatch(/require\(|from "node:|from "events"/);
    expect(code).toMatch(/class ChatClient|ChatClient = class/);
  });
});
