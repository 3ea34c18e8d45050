/**
 * Waiting on a condition instead of a fixed sleep: `waitFor` polls a probe until it yields a value, and fails with
 * what it was waiting for (and the probe's last error) when the time is up. A probe that throws is retried: a backend
 * that is still coming up answers later.
 */

/**
 * Polls `probe` until it returns a value other than `undefined` or `false`; fails with `what` after `timeoutMs`.
 * `what` may be a function, read when the time is up: the place to say what the probe saw last.
 */
export async function waitFor<T>(
  what: string | (() => string),
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 60_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  const described = typeof what === 'function' ? what() : what;
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${described}${lastError ? ` (last error: ${String(lastError)})` : ''}`,
  );
}
