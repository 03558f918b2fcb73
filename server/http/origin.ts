/** What the server counts as its own origin and which others it allows. */
export interface OriginPolicy {
  /** `ALLOWED_ORIGINS`; when set, only these (`*`: any). */
  readonly allowedOrigins: readonly string[];
  /** `PUBLIC_URL`: the server's own origin; empty: the request's own Host. */
  readonly publicUrl: string;
}

/**
 * Whether a browser's `Origin` may act on this server: one of `allowedOrigins` when that list is
 * set, else the server's own origin — `PUBLIC_URL`, or when that is unset the request's `Host`
 * (so a page from http://127.0.0.1:PORT and one from http://localhost:PORT are both its own).
 */
export function isAllowedOrigin(origin: string, policy: OriginPolicy, requestHost: string | undefined): boolean {
  const trimmed = origin.replace(/\/+$/, '');
  if (policy.allowedOrigins.length > 0) return policy.allowedOrigins.includes(trimmed) || policy.allowedOrigins.includes('*');
  if (policy.publicUrl !== '') return trimmed.toLowerCase() === policy.publicUrl.toLowerCase();
  try {
    return requestHost !== undefined && new URL(trimmed).host === requestHost.toLowerCase();
  } catch {
    return false;
  }
}

const LOOPBACK_ADDRESS = /^(?:127(?:\.\d{1,3}){3}|::1|localhost)$/i;

/** True when the server binds only a loopback address (then DNS rebinding is the way in from a web page). */
export function bindsLoopback(host: string): boolean {
  return LOOPBACK_ADDRESS.test(host.replace(/^\[|\]$/g, ''));
}

/**
 * True when a `Host` header names this machine by a loopback name: `localhost` (and
 * `*.localhost`), 127.x.y.z or [::1], with any port. A page on evil.example that rebinds its
 * name to 127.0.0.1 still sends `Host: evil.example`, which this refuses.
 */
export function isLoopbackHost(hostHeader: string | undefined): boolean {
  if (!hostHeader) return false;
  const name = hostHeader.replace(/:\d+$/, '').replace(/^\[|\]$/g, '').toLowerCase();
  return name === 'localhost' || name.endsWith('.localhost') || /^127(?:\.\d{1,3}){3}$/.test(name) || name === '::1';
}
