/**
 * A Redis that is full: `maxmemory` reached under the `noeviction` policy (the only safe policy for the lane: an
 * evicting Redis would drop queued tasks). Redis then refuses every command that may grow memory with
 * `OOM command not allowed when used memory > 'maxmemory'`. The client turns that into RedisOutOfMemoryError,
 * which says what is full and what to do; the worker keeps retrying its outcome writes (completions, retries, dead
 * letters) while it holds the entries, so a task that ran is stored once space returns instead of running again.
 */
import { LaneError } from './errors';

/** Redis refused a write because it is full: nothing of the call was accepted. */
export class RedisOutOfMemoryError extends LaneError {
  constructor(what: string) {
    super(
      `Redis is full: it refused ${what} because its memory reached maxmemory (policy noeviction), and nothing was ` +
        'accepted. Free space and retry: let the workers drain the backlog, purge dead letters ' +
        '(sagalane task dead purge --type <type>), lower the lane retention, or raise maxmemory ' +
        '(redis-cli CONFIG SET maxmemory <bytes>). See docs/RUNBOOK.md, "Redis is full".',
    );
  }
}

/** Redis's refusal of a write past maxmemory (a ReplyError whose message starts with `OOM`). */
export function isOutOfMemoryError(err: unknown): boolean {
  const message = (err as { message?: unknown } | undefined)?.message;
  return typeof message === 'string' && /^(ERR\s+)?OOM\b|OOM command not allowed/.test(message);
}
