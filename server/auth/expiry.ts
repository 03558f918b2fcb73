const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Calls `onExpired` once `expiresAt` (ms since the epoch) has passed; returns the function that
 * cancels it. Node timers hold at most ~24.8 days, so a longer token is checked again then.
 * One timer per connection with a token, made when it opens: nothing runs per delivery.
 */
export function whenExpired(expiresAt: number | undefined, onExpired: () => void): () => void {
  if (expiresAt === undefined) return () => undefined;
  let timer: NodeJS.Timeout | undefined;
  const check = () => {
    const left = expiresAt - Date.now();
    if (left <= 0) return onExpired();
    timer = setTimeout(check, Math.min(left, MAX_TIMER_MS));
    timer.unref();
  };
  check();
  return () => clearTimeout(timer);
}
