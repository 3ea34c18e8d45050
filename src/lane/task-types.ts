/**
 * Task types: a name, a zod schema for the payload, a handler and defaults. Producers need only the schema part
 * (`TaskSchema`), so a client can validate submissions in a process that has none of the handlers.
 */
import path from 'node:path';
import type { z } from 'zod';
import { LaneOptionsError } from './errors';
import { assertTaskTypeName, LANES, MAX_PARTITIONS, type Lane } from './keys';
import { validateSlo, type LaneSlo } from './slo';

export interface TaskContext {
  /** Aborted when the task times out or the worker is shutting down past its drain limit. */
  signal: AbortSignal;
  taskId: string;
  /** 1 on the first run, 2 on the first retry, … */
  attempt: number;
  /**
   * Whether an earlier delivery of this run may have started it: `true` for an entry reclaimed from a consumer that
   * died, handed back by a stopping one or replayed from the dead letters; `false` for a first delivery (no run of
   * this attempt can have happened before). Undefined where the lane does not say (pooled handlers, hand-made
   * contexts): treat it as possibly run.
   */
  redelivered?: boolean;
  /** When this run's stream entry was appended (epoch ms; a retry's when it was promoted). Undefined where unknown. */
  enqueuedAt?: number;
  /** Optional progress reporting (logged at debug level). */
  progress?: (info: Record<string, unknown>) => void;
}

export interface TaskTypeDefaults {
  /** Lane used when a submit does not name one. @defaultValue 'standard' */
  lane: Lane;
  /** Runs before the task is dead-lettered (first run included). @defaultValue 3 */
  maxAttempts: number;
  /** Per-run handler time limit. @defaultValue 60000 */
  timeoutMs: number;
  /** Largest accepted JSON payload. @defaultValue 262144 (256 KiB) */
  maxPayloadBytes: number;
  /**
   * Largest result a handler may return, as JSON: a bigger one ends the task `dead` (reason `result-too-large`,
   * not retried: every rerun would return as much), so a runaway handler cannot fill Redis. @defaultValue 1048576
   */
  maxResultBytes: number;
  /**
   * Most tasks a lane of this type may hold (waiting + running); a submit past it is refused with
   * `BacklogFullError`, so a stalled consumer side cannot fill Redis. @defaultValue 100000
   */
  maxBacklog: number;
  /**
   * Most bytes a lane of this type may hold in its stream, as Redis estimates them (`MEMORY USAGE`, sampled): a
   * submit past it is refused with `BacklogBytesFullError`. Checked only once the backlog could reach it
   * (maxBacklogBytes / maxPayloadBytes entries), so small backlogs cost nothing. @defaultValue 1073741824 (1 GiB)
   */
  maxBacklogBytes: number;
  /**
   * Stream partitions per lane (1-64). A hot type split into N partitions has N streams per lane, each with its own
   * hash tag (`{type}`, `{type~1}`, …), so on a Redis Cluster they spread over slots and shards. Producers and
   * workers must use the same value; `maxBacklog` holds per partition. See partitions.ts. @defaultValue 1
   */
  partitions: number;
  /**
   * Aging: a standard task of this type that has waited this long since it was enqueued (its stream id's time)
   * starts ahead of newer express work, in a standard slot, so an express flood cannot hold it back for ever.
   * 0 turns aging off for the type. @defaultValue undefined: the worker's `maxWaitMs` (off unless set)
   */
  maxWaitMs?: number;
  /**
   * Latency objective per lane, ms from enqueue to stored outcome (wait + run; a retry's from its promotion): the
   * worker measures the share of the last minute's tasks within it (attainment, see slo.ts), scales up while it is
   * under 95 %, and shows it in `/metrics` and `lane stats`. A lane left out has none.
   * @defaultValue undefined: the worker's `sloMs` (none unless set)
   */
  sloMs?: LaneSlo;
}

/** The longest a Node timer waits (2^31 - 1 ms, ~24.8 days): a longer timeout would fire after ~1 ms. */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

export const DEFAULT_TASK_TYPE_DEFAULTS: TaskTypeDefaults = {
  lane: 'standard',
  maxAttempts: 3,
  timeoutMs: 60_000,
  maxPayloadBytes: 256 * 1024,
  maxResultBytes: 1024 * 1024,
  maxBacklog: 100_000,
  maxBacklogBytes: 1024 * 1024 * 1024,
  partitions: 1,
};

/** What a producer needs to validate a submission. */
export interface TaskSchema<P = unknown> {
  name: string;
  schema: z.ZodType<P>;
  defaults: TaskTypeDefaults;
}

/**
 * A handler that runs in the worker's thread pool instead of on its event loop (for CPU-bound work): the module
 * is loaded in a pool thread and its export called with `(payload, { taskId, attempt })`. A thread past the
 * task's timeout is terminated; one past `maxHeapMb` dies with an out-of-memory error (the task is then
 * dead-lettered with reason `memory-limit`, as a rerun would hit the same limit).
 */
export interface PooledHandler {
  /** Absolute path of the module (`require.resolve(...)` or `path.join(__dirname, ...)`). */
  module: string;
  /** Export to call. @defaultValue 'default' */
  export?: string;
  /** Heap limit of the threads that run it, MiB. @defaultValue 256 */
  maxHeapMb?: number;
}

/** What a pooled handler receives besides its payload (no AbortSignal: its thread is terminated instead). */
export interface PooledTaskContext {
  taskId: string;
  attempt: number;
}

export interface TaskType<P = unknown, R = unknown> extends TaskSchema<P> {
  /**
   * Runs the task on the caller's event loop. For a pooled type it calls the pooled export in this thread (for
   * tests and tools); the worker runs pooled types in its thread pool instead.
   */
  handler(payload: P, ctx: TaskContext): Promise<R>;
  /** Set for CPU-bound types: the worker runs them in its thread pool. */
  pooled?: PooledHandler;
}

export type TaskTypeDefinition<S extends z.ZodType, R> = {
  name: string;
  schema: S;
  defaults?: Partial<TaskTypeDefaults>;
} & (
  | { handler(payload: z.output<S>, ctx: TaskContext): Promise<R>; pooled?: undefined }
  | { pooled: PooledHandler; handler?: undefined }
);

export function defineTaskType<S extends z.ZodType, R>(
  def: TaskTypeDefinition<S, R>,
): TaskType<z.output<S>, R> {
  assertTaskTypeName(def.name);
  const defaults = { ...DEFAULT_TASK_TYPE_DEFAULTS, ...def.defaults };
  validateDefaults(def.name, defaults);
  if (def.pooled) validatePooled(def.name, def.pooled);
  return {
    name: def.name,
    schema: def.schema as unknown as z.ZodType<z.output<S>>,
    ...(def.pooled ? { pooled: def.pooled, handler: inThisThread(def.pooled) } : { handler: def.handler }),
    defaults,
  };
}

export function validateDefaults(name: string, d: TaskTypeDefaults): void {
  if (!LANES.includes(d.lane)) throw new LaneOptionsError(`${name}: defaults.lane must be one of ${LANES}`);
  if (!Number.isInteger(d.maxAttempts) || d.maxAttempts < 1 || d.maxAttempts > 100)
    throw new LaneOptionsError(`${name}: defaults.maxAttempts must be an integer in 1..100`);
  if (!Number.isInteger(d.timeoutMs) || d.timeoutMs < 1 || d.timeoutMs > MAX_TIMEOUT_MS)
    throw new LaneOptionsError(`${name}: defaults.timeoutMs must be an integer in 1..${MAX_TIMEOUT_MS}`);
  if (!Number.isInteger(d.maxResultBytes) || d.maxResultBytes < 2)
    throw new LaneOptionsError(`${name}: defaults.maxResultBytes must be an integer >= 2`);
  if (!Number.isInteger(d.maxPayloadBytes) || d.maxPayloadBytes < 2)
    throw new LaneOptionsError(`${name}: defaults.maxPayloadBytes must be an integer >= 2`);
  if (!Number.isInteger(d.maxBacklog) || d.maxBacklog < 1)
    throw new LaneOptionsError(`${name}: defaults.maxBacklog must be a positive integer`);
  if (!Number.isInteger(d.maxBacklogBytes) || d.maxBacklogBytes < d.maxPayloadBytes)
    throw new LaneOptionsError(`${name}: defaults.maxBacklogBytes must be an integer >= maxPayloadBytes`);
  if (!Number.isInteger(d.partitions) || d.partitions < 1 || d.partitions > MAX_PARTITIONS)
    throw new LaneOptionsError(`${name}: defaults.partitions must be an integer in 1..${MAX_PARTITIONS}`);
  if (
    d.maxWaitMs !== undefined &&
    (!Number.isInteger(d.maxWaitMs) || d.maxWaitMs < 0 || d.maxWaitMs > MAX_TIMEOUT_MS)
  )
    throw new LaneOptionsError(`${name}: defaults.maxWaitMs must be an integer in 0..${MAX_TIMEOUT_MS}`);
  validateSlo(`${name}: defaults.sloMs`, d.sloMs, MAX_TIMEOUT_MS);
}

function inThisThread<R>(p: PooledHandler) {
  return async (payload: unknown, ctx: TaskContext): Promise<R> => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(p.module) as Record<string, (payload: unknown, ctx: PooledTaskContext) => R>;
    const fn = mod[p.export ?? 'default'];
    if (typeof fn !== 'function')
      throw new LaneOptionsError(`${p.module} has no export "${p.export ?? 'default'}"`);
    return fn(payload, { taskId: ctx.taskId, attempt: ctx.attempt });
  };
}

function validatePooled(name: string, p: PooledHandler): void {
  if (typeof p.module !== 'string' || !path.isAbsolute(p.module))
    throw new LaneOptionsError(`${name}: pooled.module must be an absolute path (got ${String(p.module)})`);
  if (p.export !== undefined && (typeof p.export !== 'string' || !p.export))
    throw new LaneOptionsError(`${name}: pooled.export must be a non-empty string`);
  if (p.maxHeapMb !== undefined && (!Number.isInteger(p.maxHeapMb) || p.maxHeapMb < 16))
    throw new LaneOptionsError(`${name}: pooled.maxHeapMb must be an integer >= 16`);
}

/** Name → task type, refusing duplicates. Works for full task types and for schema-only entries. */
export class TaskTypeRegistry<T extends TaskSchema = TaskType> {
  private readonly byName = new Map<string, T>();
  constructor(types: Iterable<T> = []) {
    for (const t of types) this.register(t);
  }
  register(type: T): this {
    assertTaskTypeName(type.name);
    if (this.byName.has(type.name))
      throw new LaneOptionsError(`Task type "${type.name}" is registered twice.`);
    this.byName.set(type.name, type);
    return this;
  }
  get(name: string): T | undefined {
    return this.byName.get(name);
  }
  names(): string[] {
    return [...this.byName.keys()];
  }
  all(): T[] {
    return [...this.byName.values()];
  }
}
