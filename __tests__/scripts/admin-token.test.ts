import { loadAuthConfig } from '../../server/auth/auth-config';
import { TokenVerifier } from '../../server/auth/token';
import { runAdmin } from '../helpers/run-admin';
import { TEST_SECRET } from '../helpers/tokens';

describe('npm run history -- token SUB', () => {
  const verifier = new TokenVerifier(loadAuthConfig({ AUTH_SECRET: TEST_SECRET }));

  it('prints a token that the server accepts, with the claims asked for', async () => {
    const run = await runAdmin(
      ['token', 'u-7', '--name', 'Ann', '--rooms', 'team-*,lobby', '--read', 'news', '--mod', 'team-a', '--ttl', '120'],
      { AUTH_SECRET: TEST_SECRET },
    );
    expect(run.code).toBe(0);
    const identity = verifier.verify(run.stdout.trim());
    expect(identity).toMatchObject({ uid: 'u-7', name: 'Ann', grants: { rooms: ['team-*', 'lobby'], read: ['news'], mod: ['team-a'] } });
    expect((identity as { expiresAt: number }).expiresAt - Date.now()).toBeGreaterThan(100_000);
  });

  it('exits 1 with one line without AUTH_SECRET, or with a pattern that is not one', async () => {
    const noSecret = await runAdmin(['token', 'u'], { AUTH_SECRET: '' });
    expect([noSecret.code, noSecret.stderr.trim()]).toEqual([1, expect.stringContaining('AUTH_SECRET is not set')]);
    const badPattern = await runAdmin(['token', 'u', '--rooms', 'a*b'], { AUTH_SECRET: TEST_SECRET });
    expect([badPattern.code, badPattern.stderr]).toEqual([1, expect.stringContaining('is not a room pattern')]);
  });
});

describe('npm run history -- with ENGINE=memory', () => {
  it('exits 1 saying the history lives in the server and which HTTP API to use instead', async () => {
    const run = await runAdmin(['rooms'], { ENGINE: 'memory' });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('the history lives in the chat server’s own memory');
    expect(run.stderr).toContain('GET /api/rooms/ROOM/messages');
  });
});
