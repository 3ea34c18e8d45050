/**
 * Task types: a name, a zod schema for the payload, a handler and defaults. Producers need only the schema part
 * (`TaskSchema`), so a client can validate submissions in a process that has none of the handlers.
 */
import type { z } from 'zod';
import { LaneOptionsError } from './errors';
import { assertTaskTypeName, LANES, type Lane } from './keys';

export interface TaskContext {
  /** Aborted when the task times out or the worker is shutting down past its drain limit. */
  signal: AbortSignal;
  taskId: string;
  /** 1 on the first run, 2 on the first retry, … */
  attempt: number;
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
}

export const DEFAULT_TASK_TYPE_DEFAULTS: TaskTypeDefaults = {
  lane: 'standard',
  maxAttempts: 3,
  timeoutMs: 60_000,
  maxPayloadBytes: 256 * 1024,
};

/** What a producer needs to validate a submission. */
export interface TaskSchema<P = unknown> {
  name: string;
  schema: z.ZodType<P>;
  defaults: TaskTypeDefaults;
}

export interface TaskType<P = unknown, R = unknown> extends TaskSchema<P> {
  handler(payload: P, ctx: TaskContext): Promise<R>;
}

export interface TaskTypeDefinition<S extends z.ZodType, R> {
  name: string;
  schema: S;
  handler(payload: z.output<S>, ctx: TaskContext): Promise<R>;
  defaults?: Partial<TaskTypeDefaults>;
}

export function defineTaskType<S extends z.ZodType, R>(
  def: TaskTypeDefinition<S, R>,
): TaskType<z.output<S>, R> {
  assertTaskTypeName(def.name);
  const defaults = { ...DEFAULT_TASK_TYPE_DEFAULTS, ...def.defaults };
  validateDefaults(def.name, defaults);
  return {
    name: def.name,
    schema: def.schema as unknown as z.ZodType<z.output<S>>,
    handler: def.handler,
    defaults,
  };
}

export function validateDefaults(name: string, d: TaskTypeDefaults): void {
  if (!LANES.includes(d.lane)) throw new LaneOptionsError(`${name}: defaults.lane must be one of ${LANES}`);
  if (!Number.isInteger(d.maxAttempts) || d.maxAttempts < 1 || d.maxAttempts > 100)
    throw new LaneOptionsError(`${name}: defaults.maxAttempts must be an integer in 1..100`);
  if (!Number.isInteger(d.timeoutMs) || d.timeoutMs < 1)
    throw new LaneOptionsError(`${name}: defaults.timeoutMs must be a positive integer`);
  if (!Number.isInteger(d.maxPayloadBytes) || d.maxPayloadBytes < 2)
    throw new LaneOptionsError(`${name}: defaults.maxPayloadBytes must be an integer >= 2`);
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
