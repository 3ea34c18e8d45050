/**
 * Readiness checks for `/readyz` and the `sagalane_dependency_up` gauge: each names a dependency and resolves
 * when it answers, or rejects with the reason it does not.
 */

export interface ReadinessCheck {
  /** Bounded, stable name (`redis`, `temporal`): it appears in `/readyz` and as the `dependency` label. */
  name: string;
  check(): Promise<void>;
}

export class DependencyTimeoutError extends Error {
  constructor(name: string, timeoutMs: number) {
    super(`${name} did not answer within ${timeoutMs} ms`);
    this.name = 'DependencyTimeoutError';
  }
}

/** Rejects with a DependencyTimeoutError when `work` takes longer than `timeoutMs`. */
export function withTimeout<T>(name: string, timeoutMs: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DependencyTimeoutError(name, timeoutMs)), timeoutMs);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** The parts of an ioredis client the Redis check uses. */
export interface PingableRedis {
  readonly status: string;
  ping(): Promise<string>;
  on(event: 'error', listener: (err: Error) => void): unknown;
}

export interface DependencyCheckOptions {
  /** How long the dependency has to answer. @defaultValue 2000 */
  timeoutMs?: number;
  /** Name reported by `/readyz`. @defaultValue 'redis' or 'temporal' */
  name?: string;
}

/**
 * PING through the given client. A client that is not connected fails at once with its state and last connection
 * error (e.g. `ECONNREFUSED 127.0.0.1:6379`), instead of queueing the PING behind a reconnect.
 */
export function redisCheck(redis: PingableRedis, options: DependencyCheckOptions = {}): ReadinessCheck {
  const name = options.name ?? 'redis';
  const timeoutMs = options.timeoutMs ?? 2000;
  let lastError: Error | undefined;
  redis.on('error', (err) => {
    lastError = err;
  });
  return {
    name,
    async check() {
      if (redis.status !== 'ready') {
        const cause = lastError ? `: ${lastError.message}` : '';
        throw new Error(`Redis connection is ${redis.status}${cause}`);
      }
      const reply = await withTimeout(name, timeoutMs, redis.ping());
      if (reply !== 'PONG') throw new Error(`Redis answered PING with ${JSON.stringify(reply)}`);
    },
  };
}

/** The parts of a Temporal `Connection` (client) or `NativeConnection` (worker) the Temporal check uses. */
export interface TemporalHealthConnection {
  workflowService: { getSystemInfo(request: object): Promise<unknown> };
  withDeadline<T>(deadline: number | Date, fn: () => Promise<T>): Promise<T>;
}

/** `GetSystemInfo` on the frontend with a gRPC deadline (and a local timeout in case the deadline is not honoured). */
export function temporalCheck(
  connection: TemporalHealthConnection,
  options: DependencyCheckOptions = {},
): ReadinessCheck {
  const name = options.name ?? 'temporal';
  const timeoutMs = options.timeoutMs ?? 2000;
  return {
    name,
    async check() {
      await withTimeout(
        name,
        timeoutMs + 500,
        connection.withDeadline(Date.now() + timeoutMs, () => connection.workflowService.getSystemInfo({})),
      );
    },
  };
}
