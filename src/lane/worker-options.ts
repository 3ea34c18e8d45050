/** ExpressWorker's options, their defaults (one place) and fail-fast validation. */
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { isClusterUrl, parseClusterUrl, type RedisClient } from './redis-connections';
import { LaneOptionsError } from './errors';
import { assertKeyPrefix, DEFAULT_GROUP } from './keys';
import { minimumConcurrency } from './slot-policy';
import { defaultPoolThreads, type HandlerPools } from './handler-pool';
import { MAX_TIMEOUT_MS, type TaskType } from './task-types';
import { validateSlo, type LaneSlo } from './slo';
import { DEFAULT_TASK_LIFETIME_MS } from './task-records';
import { redactUrl, type Logger } from '../logger';

export interface ExpressWorkerOptions {
  /** Task types this worker serves (handlers included). Required, non-empty. */
  types: TaskType[];
  /** Prefix of every key. @defaultValue 'sagalane' */
  keyPrefix?: string;
  /** Redis URL, or `redis+cluster://host:port,…` for a Redis Cluster. @defaultValue 'redis://127.0.0.1:6379' */
  redisUrl?: string;
  /** Consumer group. @defaultValue 'sagalane-workers' */
  group?: string;
  /** This process's consumer name; unique per process. @defaultValue `<hostname>-<pid>-<random>` */
  consumerName?: string;
  /**
   * Concurrent handler runs, adjusted between min and max by the autoscaler. `min` must be at least
   * `expressReserve + 1`. @defaultValue { min: expressReserve + 1, max: 16 }
   */
  concurrency?: { min: number; max: number };
  /** Slots standard tasks never take, so long standard tasks never block an express one. @defaultValue 1 */
  expressReserve?: number;
  /** An entry idle this long is an orphan a janitor may reclaim; in-flight entries are kept alive well below it. @defaultValue 1200 */
  minIdleMs?: number;
  /** How often the janitor reclaims orphans and promotes due retries. @defaultValue 200 */
  janitorIntervalMs?: number;
  /** How often in-flight entries are re-claimed by their owner. @defaultValue minIdleMs / 4 */
  keepaliveIntervalMs?: number;
  /** Threads of the pools that run pooled (CPU-bound) handlers, per lane. @defaultValue { express: 1, standard: max(1, cores − 1) } */
  poolThreads?: { express: number; standard: number };
  /** Dead-letter streams are trimmed to about this many entries (`MAXLEN ~`). @defaultValue 10000 */
  deadLetterMaxLen?: number;
  /** A consumer of the group idle this long with nothing pending is removed from it. @defaultValue 3600000 (1 h) */
  staleConsumerMs?: number;
  /** Deliveries (counted by Redis) after which a reclaimed entry is dead-lettered instead of run again. @defaultValue 3 */
  maxDeliveries?: number;
  /** First retry delay; doubles per attempt. @defaultValue 200 */
  retryBaseDelayMs?: number;
  /** Upper bound of the retry delay. @defaultValue 30000 */
  retryMaxDelayMs?: number;
  /**
   * Aging: a standard task that has waited this long since it was enqueued starts ahead of newer express work (in a
   * standard slot), so standard work has a bounded wait under any express flood. A type's `defaults.maxWaitMs`
   * wins. 0 is off. @defaultValue 0
   */
  maxWaitMs?: number;
  /**
   * Latency objective per lane for every type that sets none in `defaults.sloMs`: ms from enqueue to stored outcome.
   * Attainment (the last minute's share within it) drives the autoscaler and shows in `/metrics` and `lane stats`
   * (see slo.ts). @defaultValue {} (none)
   */
  sloMs?: LaneSlo;
  /**
   * How often the worker publishes its last minute to Redis: its per-type task window (done, failed, latency buckets)
   * for the board, always, and its SLO attainment for `lane stats`, for types with an objective. @defaultValue 5000
   */
  sloPublishIntervalMs?: number;
  /** p95 submit-to-finish latency the autoscaler aims for. @defaultValue 100 */
  targetP95Ms?: number;
  /** How often the autoscaler decides; 0 disables it (concurrency stays at max). @defaultValue 1000 */
  autoscaleIntervalMs?: number;
  /** Longest a graceful stop waits for in-flight tasks before handing them back. @defaultValue 10000 */
  drainTimeoutMs?: number;
  /** Longest an idle blocking read waits before re-checking. @defaultValue 1000 */
  blockMs?: number;
  /** How long a finished task's record is kept. @defaultValue 86400000 (24 h) */
  retentionMs?: number;
  /**
   * How long a live task's record and idempotency key last without renewal (set at submit by the client, renewed by
   * the record check). Use the clients' value. @defaultValue 604800000 (7 days)
   */
  taskLifetimeMs?: number;
  /**
   * How often the janitor walks the task records (SCAN): renews live ones and ends a queued task whose stream entry
   * was deleted before any worker read it (`entry-deleted`). @defaultValue 300000 (5 min)
   */
  recordCheckIntervalMs?: number;
  /**
   * Thread pools to run pooled handlers on, shared with other users (the agents' CPU parts); not closed by
   * `stop()`. @defaultValue pools of the worker's own, sized by `poolThreads`
   */
  pools?: HandlerPools;
  /** @defaultValue a JSON logger at SAGALANE_LOG_LEVEL */
  logger?: Logger;
  /** Use this connection for commands instead of opening one (the blocking reader is always its own). */
  connection?: RedisClient;
}

export type ResolvedWorkerOptions = Required<Omit<ExpressWorkerOptions, 'logger' | 'connection' | 'pools'>> &
  Pick<ExpressWorkerOptions, 'logger' | 'connection' | 'pools'>;

export function resolveWorkerOptions(o: ExpressWorkerOptions): ResolvedWorkerOptions {
  const minIdleMs = o.minIdleMs ?? 1200;
  const expressReserve = o.expressReserve ?? 1;
  const r: ResolvedWorkerOptions = {
    types: o.types,
    keyPrefix: o.keyPrefix ?? 'sagalane',
    redisUrl: o.redisUrl ?? 'redis://127.0.0.1:6379',
    group: o.group ?? DEFAULT_GROUP,
    consumerName: o.consumerName ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 6)}`,
    concurrency: o.concurrency ?? { min: minimumConcurrency(expressReserve), max: 16 },
    expressReserve,
    minIdleMs,
    janitorIntervalMs: o.janitorIntervalMs ?? 200,
    keepaliveIntervalMs: o.keepaliveIntervalMs ?? Math.max(10, Math.floor(minIdleMs / 4)),
    poolThreads: o.poolThreads ?? defaultPoolThreads(),
    deadLetterMaxLen: o.deadLetterMaxLen ?? 10_000,
    staleConsumerMs: o.staleConsumerMs ?? 3_600_000,
    maxDeliveries: o.maxDeliveries ?? 3,
    retryBaseDelayMs: o.retryBaseDelayMs ?? 200,
    retryMaxDelayMs: o.retryMaxDelayMs ?? 30_000,
    maxWaitMs: o.maxWaitMs ?? 0,
    sloMs: o.sloMs ?? {},
    sloPublishIntervalMs: o.sloPublishIntervalMs ?? 5000,
    targetP95Ms: o.targetP95Ms ?? 100,
    autoscaleIntervalMs: o.autoscaleIntervalMs ?? 1000,
    drainTimeoutMs: o.drainTimeoutMs ?? 10_000,
    blockMs: o.blockMs ?? 1000,
    retentionMs: o.retentionMs ?? 86_400_000,
    taskLifetimeMs: o.taskLifetimeMs ?? DEFAULT_TASK_LIFETIME_MS,
    recordCheckIntervalMs: o.recordCheckIntervalMs ?? 300_000,
    logger: o.logger,
    connection: o.connection,
    pools: o.pools,
  };
  const fail = (m: string) => {
    throw new LaneOptionsError(`ExpressWorker: ${m}`);
  };
  const int = (name: keyof ResolvedWorkerOptions, min: number) => {
    const v = r[name] as number;
    if (!Number.isInteger(v) || v < min) fail(`${name} must be an integer >= ${min} (got ${v})`);
  };
  if (!Array.isArray(r.types) || r.types.length === 0) fail('types must list at least one task type');
  const names = new Set<string>();
  for (const t of r.types) {
    if (typeof t?.handler !== 'function') fail(`task type "${t?.name}" has no handler`);
    if (names.has(t.name)) fail(`task type "${t.name}" is listed twice`);
    names.add(t.name);
  }
  assertKeyPrefix(r.keyPrefix);
  if (isClusterUrl(r.redisUrl)) parseClusterUrl(r.redisUrl);
  else if (!/^rediss?:\/\//.test(r.redisUrl))
    fail(`redisUrl must start with redis://, rediss:// or redis+cluster:// (got ${redactUrl(r.redisUrl)})`);
  if (!r.group) fail('group must be non-empty');
  if (!r.consumerName) fail('consumerName must be non-empty');
  const { min, max } = r.concurrency;
  if (!Number.isInteger(min) || !Number.isInteger(max) || min < 1 || max < min)
    fail(`concurrency must be integers with 1 <= min <= max (got ${JSON.stringify(r.concurrency)})`);
  int('expressReserve', 0);
  if (min < minimumConcurrency(r.expressReserve))
    fail(
      `concurrency.min (${min}) must be at least expressReserve + 1 (${minimumConcurrency(r.expressReserve)}): ` +
        'the reserve needs its slots and standard tasks at least one',
    );
  const threads = r.poolThreads;
  if (
    !Number.isInteger(threads?.express) ||
    !Number.isInteger(threads?.standard) ||
    threads.express < 1 ||
    threads.standard < 1
  )
    fail(`poolThreads must be integers >= 1 per lane (got ${JSON.stringify(threads)})`);
  int('deadLetterMaxLen', 1);
  int('staleConsumerMs', 1000);
  int('taskLifetimeMs', 60_000);
  int('recordCheckIntervalMs', 100);
  if (r.recordCheckIntervalMs * 2 > r.taskLifetimeMs)
    fail(
      'recordCheckIntervalMs must be at most half of taskLifetimeMs (live records are renewed by the check)',
    );
  int('minIdleMs', 100);
  int('janitorIntervalMs', 10);
  int('keepaliveIntervalMs', 10);
  if (r.keepaliveIntervalMs >= r.minIdleMs) fail('keepaliveIntervalMs must be below minIdleMs');
  int('maxDeliveries', 1);
  int('retryBaseDelayMs', 0);
  int('retryMaxDelayMs', 0);
  int('maxWaitMs', 0);
  validateSlo('ExpressWorker: sloMs', r.sloMs, MAX_TIMEOUT_MS);
  int('sloPublishIntervalMs', 100);
  int('targetP95Ms', 1);
  int('autoscaleIntervalMs', 0);
  int('drainTimeoutMs', 0);
  int('blockMs', 1);
  int('retentionMs', 1000);
  return r;
}
