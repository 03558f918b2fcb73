/**
 * Whether a browser's `Origin` may act on this server: one of `allowed` when that list is set
 * (`*` allows any), else the server's own origin, whose host is the request's `Host`.
 */
export function isAllowedOrigin(origin: string, allowed: readonly string[], ownHost: string | undefined): boolean {
  if (allowed.length > 0) return allowed.includes(origin) || allowed.includes('*');
  try {
    return ownHost !== undefined && new URL(origin).host === ownHost;
  } catch {
    return false;
  }
}
