import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** Who may do what without a token (PROTOCOL.md v2 "Identity and access"). */
export type AnonymousAccess = 'write' | 'read' | 'none';

/** The one algorithm tokens must be signed with, by the key that verifies them. */
export type TokenKey =
  | { readonly algorithm: 'HS256'; readonly secret: string }
  | { readonly algorithm: 'RS256' | 'ES256'; readonly publicKey: KeyObject };

/** Identity settings: the key (none: tokens cannot be verified), the claims checked, anonymous access. */
export interface AuthConfig {
  readonly key: TokenKey | null;
  readonly issuer?: string;
  readonly audience?: string;
  readonly anonymous: AnonymousAccess;
  /** Keys that act for the app's backend (`API_KEYS`). */
  readonly apiKeys: readonly string[];
}

const MIN_SECRET_BYTES = 32;
const MIN_API_KEY_LENGTH = 32;

/**
 * Reads `AUTH_SECRET` / `AUTH_PUBLIC_KEY` (PEM text, with real or `\n`-escaped newlines, or the
 * path of a PEM file), `AUTH_ISSUER`, `AUTH_AUDIENCE`, `ANONYMOUS` and `API_KEYS`. Throws a `TypeError`
 * with a sentence on a setting that would leave the server unable to verify tokens as asked.
 */
export function loadAuthConfig(env: NodeJS.ProcessEnv): AuthConfig {
  const secret = env.AUTH_SECRET ?? '';
  const publicKeyText = env.AUTH_PUBLIC_KEY ?? '';
  if (secret !== '' && publicKeyText !== '') {
    throw new TypeError('Set AUTH_SECRET (HS256) or AUTH_PUBLIC_KEY (RS256/ES256), not both: tokens are verified with one algorithm.');
  }
  let key: TokenKey | null = null;
  if (secret !== '') {
    if (Buffer.byteLength(secret, 'utf8') < MIN_SECRET_BYTES) {
      throw new TypeError(`AUTH_SECRET must be at least ${MIN_SECRET_BYTES} bytes (for example: openssl rand -base64 48).`);
    }
    key = { algorithm: 'HS256', secret };
  } else if (publicKeyText !== '') {
    key = readPublicKey(publicKeyText);
  }
  const anonymous = env.ANONYMOUS === undefined || env.ANONYMOUS === '' ? (key ? 'none' : 'write') : env.ANONYMOUS;
  if (anonymous !== 'write' && anonymous !== 'read' && anonymous !== 'none') {
    throw new TypeError('ANONYMOUS must be write, read or none.');
  }
  const issuer = env.AUTH_ISSUER?.trim() || undefined;
  const audience = env.AUTH_AUDIENCE?.trim() || undefined;
  const apiKeys = (env.API_KEYS ?? '').split(',').map((k) => k.trim()).filter(Boolean);
  if (apiKeys.some((k) => k.length < MIN_API_KEY_LENGTH || /\s/.test(k))) {
    throw new TypeError(`API_KEYS must be comma-separated keys of at least ${MIN_API_KEY_LENGTH} characters each (for example: openssl rand -hex 24).`);
  }
  return Object.freeze({
    key,
    anonymous,
    apiKeys: Object.freeze(apiKeys),
    ...(issuer && { issuer }),
    ...(audience && { audience }),
  });
}

function readPublicKey(value: string): TokenKey {
  let pem = value.replace(/\\n/g, '\n').trim();
  if (!pem.startsWith('-----BEGIN')) {
    try {
      pem = readFileSync(pem, 'utf8');
    } catch {
      throw new TypeError('AUTH_PUBLIC_KEY must be a PEM public key (-----BEGIN PUBLIC KEY-----…) or the path of a readable PEM file.');
    }
  }
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey(pem);
  } catch {
    throw new TypeError('AUTH_PUBLIC_KEY could not be read as a PEM public key.');
  }
  if (publicKey.asymmetricKeyType === 'rsa') return { algorithm: 'RS256', publicKey };
  if (publicKey.asymmetricKeyType === 'ec' && publicKey.asymmetricKeyDetails?.namedCurve === 'prime256v1') {
    return { algorithm: 'ES256', publicKey };
  }
  throw new TypeError('AUTH_PUBLIC_KEY must be an RSA key (RS256) or an EC P-256 key (ES256).');
}
