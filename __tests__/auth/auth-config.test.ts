import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAuthConfig } from '../../server/auth/auth-config';
import { TEST_SECRET } from '../helpers/tokens';

const pem = (type: 'rsa' | 'ec' | 'ed25519', curve?: string) => {
  const pair =
    type === 'rsa'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : type === 'ec'
        ? generateKeyPairSync('ec', { namedCurve: curve! })
        : generateKeyPairSync('ed25519');
  return pair.publicKey.export({ type: 'spki', format: 'pem' }).toString();
};

describe('loadAuthConfig(env)', () => {
  it('keeps v1 open without a key: anyone reads and writes', () => {
    expect(loadAuthConfig({})).toEqual({ key: null, anonymous: 'write', apiKeys: [] });
  });

  it('closes to token holders by default once a key is set', () => {
    expect(loadAuthConfig({ AUTH_SECRET: TEST_SECRET })).toMatchObject({ key: { algorithm: 'HS256' }, anonymous: 'none' });
    expect(loadAuthConfig({ AUTH_SECRET: TEST_SECRET, ANONYMOUS: 'read' }).anonymous).toBe('read');
  });

  it('picks RS256 for an RSA key and ES256 for a P-256 key, from PEM text or a file', () => {
    expect(loadAuthConfig({ AUTH_PUBLIC_KEY: pem('rsa') }).key?.algorithm).toBe('RS256');
    const file = join(mkdtempSync(join(tmpdir(), 'chat-key-')), 'key.pem');
    writeFileSync(file, pem('ec', 'P-256'));
    expect(loadAuthConfig({ AUTH_PUBLIC_KEY: file }).key?.algorithm).toBe('ES256');
  });

  it.each([
    [{ AUTH_SECRET: 'short' }, 'AUTH_SECRET must be at least 32 bytes'],
    [{ AUTH_SECRET: TEST_SECRET, AUTH_PUBLIC_KEY: 'x' }, 'not both'],
    [{ AUTH_PUBLIC_KEY: '/nonexistent/key.pem' }, 'AUTH_PUBLIC_KEY must be a PEM public key'],
    [{ AUTH_PUBLIC_KEY: '-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----' }, 'could not be read'],
    [{ ANONYMOUS: 'sometimes' }, 'ANONYMOUS must be write, read or none'],
    [{ API_KEYS: 'short' }, 'API_KEYS must be comma-separated keys of at least 32 characters'],
  ])('stops the server with a sentence for %j', (env, message) => {
    expect(() => loadAuthConfig(env)).toThrow(TypeError);
    expect(() => loadAuthConfig(env)).toThrow(message);
  });

  it('refuses keys of other algorithms with a sentence', () => {
    expect(() => loadAuthConfig({ AUTH_PUBLIC_KEY: pem('ec', 'P-384') })).toThrow('RSA key (RS256) or an EC P-256 key (ES256)');
    expect(() => loadAuthConfig({ AUTH_PUBLIC_KEY: pem('ed25519') })).toThrow('RSA key (RS256) or an EC P-256 key (ES256)');
  });
});
