import jwt from 'jsonwebtoken';

/** The HS256 secret the identity tests give their servers. */
export const TEST_SECRET = 'test-secret-that-is-long-enough-for-hs256!';

/** A token signed with `TEST_SECRET` (or `secret`), valid for a minute unless `options` say otherwise. */
export function signToken(claims: Record<string, unknown>, options: jwt.SignOptions = {}, secret: string = TEST_SECRET): string {
  return jwt.sign(claims, secret, { algorithm: 'HS256', expiresIn: 60, ...options });
}

/** A token that claims `alg: none`: no signature at all. */
export function unsignedToken(claims: Record<string, unknown>): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part({ exp: Math.floor(Date.now() / 1000) + 60, ...claims })}.`;
}
