import { generateKeyPairSync } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { loadAuthConfig } from '../../server/auth/auth-config';
import { TokenVerifier } from '../../server/auth/token';
import { ChatError } from '../../server/errors';
import { signToken, TEST_SECRET, unsignedToken } from '../helpers/tokens';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const pem = (key: typeof rsa.publicKey) => key.export({ type: 'spki', format: 'pem' }).toString();

const verifier = (env: Record<string, string>) => new TokenVerifier(loadAuthConfig(env));
const refusal = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    if (err instanceof ChatError && err.code === 'unauthorized') return err.message;
    throw err;
  }
  throw new Error('the token was accepted');
};

describe('TokenVerifier#verify(token) with AUTH_SECRET (HS256)', () => {
  const hs = verifier({ AUTH_SECRET: TEST_SECRET });

  it('reads sub as uid, name, room grants and expiry', () => {
    const identity = hs.verify(signToken({ sub: 'u1', name: ' Ann ', rooms: ['team-*'], read: ['news'], mod: ['team-a'] }));
    expect(identity).toEqual({
      kind: 'user',
      uid: 'u1',
      name: 'Ann',
      grants: { rooms: ['team-*'], read: ['news'], mod: ['team-a'] },
      expiresAt: expect.any(Number),
    });
  });

  it('shows the sub as the name when the token has none, even one longer than a nickname', () => {
    const uuid = '9b2f6f4e-0c4e-4c71-9d1e-2a8f3f6f1d3a';
    expect(hs.verify(signToken({ sub: uuid }))).toMatchObject({ uid: uuid, name: uuid });
  });

  it.each([
    ['alg: none', () => unsignedToken({ sub: 'u' }), /signature or algorithm/],
    ['another secret', () => signToken({ sub: 'u' }, {}, 'x'.repeat(40)), /signature/],
    ['expired', () => signToken({ sub: 'u' }, { expiresIn: -1 }), /expired/],
    ['not yet valid', () => signToken({ sub: 'u' }, { notBefore: 60 }), /not valid yet/],
    ['RS256 signed', () => jwt.sign({ sub: 'u' }, rsa.privateKey, { algorithm: 'RS256' }), /algorithm/],
    ['a blank name', () => signToken({ sub: 'u', name: '  ' }), /name is blank/],
    ['a name with a control character', () => signToken({ sub: 'u', name: 'a\u0007' }), /not a valid nickname/],
    ['a sub over 64 characters', () => signToken({ sub: 'u'.repeat(65) }), /malformed/],
    ['a nameless sub with a right-to-left override', () => signToken({ sub: 'li\u202Eve' }), /bidirectional/],
    ['a pattern that is not one', () => signToken({ sub: 'u', rooms: ['a*b'] }), /malformed/],
    ['rooms that is not a list', () => signToken({ sub: 'u', rooms: 'lobby' }), /malformed/],
    ['not a JWT', () => 'not.a.jwt', /not a valid token/],
  ])('refuses %s', (_, token, reason) => {
    expect(refusal(() => hs.verify(token()))).toMatch(reason);
  });
});

describe('TokenVerifier#verify(token) with AUTH_ISSUER and AUTH_AUDIENCE', () => {
  const strict = verifier({ AUTH_SECRET: TEST_SECRET, AUTH_ISSUER: 'https://app.example', AUTH_AUDIENCE: 'chat' });

  it('accepts a token naming both', () => {
    expect(strict.verify(signToken({ sub: 'u' }, { issuer: 'https://app.example', audience: 'chat' }))).toMatchObject({ uid: 'u' });
  });

  it('refuses one that lacks them or names others', () => {
    expect(refusal(() => strict.verify(signToken({ sub: 'u' })))).toMatch(/audience|issuer/);
    expect(refusal(() => strict.verify(signToken({ sub: 'u' }, { issuer: 'https://evil.example', audience: 'chat' })))).toMatch(/issuer/);
    expect(refusal(() => strict.verify(signToken({ sub: 'u' }, { issuer: 'https://app.example', audience: 'other' })))).toMatch(/audience/);
  });
});

describe('TokenVerifier#verify(token) with AUTH_PUBLIC_KEY', () => {
  it('verifies RS256 with an RSA key', () => {
    const rs = verifier({ AUTH_PUBLIC_KEY: pem(rsa.publicKey) });
    expect(rs.verify(jwt.sign({ sub: 'u' }, rsa.privateKey, { algorithm: 'RS256' }))).toMatchObject({ uid: 'u' });
  });

  it('verifies ES256 with a P-256 key, given as one line with \\n escapes', () => {
    const es = verifier({ AUTH_PUBLIC_KEY: pem(ec.publicKey).replace(/\n/g, '\\n') });
    expect(es.verify(jwt.sign({ sub: 'u' }, ec.privateKey, { algorithm: 'ES256' }))).toMatchObject({ uid: 'u' });
  });

  it('refuses an HS256 token signed with the public key’s own text (the algorithm confusion attack)', () => {
    const publicPem = pem(rsa.publicKey);
    const rs = verifier({ AUTH_PUBLIC_KEY: publicPem });
    const forged = jwt.sign({ sub: 'admin' }, Buffer.from(publicPem), { algorithm: 'HS256' });
    expect(refusal(() => rs.verify(forged))).toMatch(/signature or algorithm/);
  });

  it('refuses a token signed by another RSA key', () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const rs = verifier({ AUTH_PUBLIC_KEY: pem(rsa.publicKey) });
    expect(refusal(() => rs.verify(jwt.sign({ sub: 'u' }, other.privateKey, { algorithm: 'RS256' })))).toMatch(/signature/);
  });
});

describe('TokenVerifier#verify(token) with no key', () => {
  it('refuses every token: it cannot be verified, so it is never served as anonymous', () => {
    expect(refusal(() => verifier({}).verify(signToken({ sub: 'u' })))).toMatch(/no key/);
  });
});
