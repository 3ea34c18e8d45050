/**
 * Key names of the express lane. Every key of a task type carries the hash tag `{<type>}` so the type's streams,
 * task records and dead letters share one Redis Cluster slot, which the Lua scripts need.
 */
import { LaneOptionsError } from './errors';

export const LANES = ['express', 'standard'] as const;
export type Lane = (typeof LANES)[number];

/** The consumer group every worker of every type joins. */
export const DEFAULT_GROUP = 'sagalane-workers';

const TYPE_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/;

export function assertTaskTypeName(name: string): void {
  if (!TYPE_NAME.test(name)) {
    throw new LaneOptionsError(
      `Task type name "${name}" is invalid: use 1-64 letters, digits, '_', '-' or '.', starting with a letter or digit.`,
    );
  }
}

export function assertKeyPrefix(prefix: string): void {
  if (!prefix || /[{}\s]/.test(prefix)) {
    throw new LaneOptionsError(`keyPrefix "${prefix}" must be non-empty without braces or spaces.`);
  }
}

export class LaneKeys {
  constructor(readonly prefix: string) {
    assertKeyPrefix(prefix);
  }
  private base(type: string): string {
    return `${this.prefix}:lane:{${type}}`;
  }
  stream(type: string, lane: Lane): string {
    return `${this.base(type)}:${lane}`;
  }
  deadLetters(type: string, lane: Lane): string {
    return `${this.base(type)}:${lane}:dead`;
  }
  /** Sorted set of retries waiting for their backoff (score = when they are due). */
  delayed(type: string, lane: Lane): string {
    return `${this.base(type)}:${lane}:delayed`;
  }
  task(taskId: string): string {
    return `${this.taskPrefix(typeOfTaskId(taskId))}${taskId}`;
  }
  /** What every task record key of a type starts with (scripts build task keys from it; SCAN matches on it). */
  taskPrefix(type: string): string {
    return `${this.base(type)}:task:`;
  }
  idempotency(type: string, key: string): string {
    return `${this.base(type)}:idem:${key}`;
  }
  /** Pub/sub channel a task id is published on when it reaches a final state. */
  completions(type: string): string {
    return `${this.base(type)}:done`;
  }
}

/** Task ids are `<type>:<uuid>` so any holder of an id can find the task's keys (and Cluster slot). */
export function typeOfTaskId(taskId: string): string {
  const i = taskId.indexOf(':');
  const type = i > 0 ? taskId.slice(0, i) : '';
  if (!TYPE_NAME.test(type)) throw new LaneOptionsError(`"${taskId}" is not an express-lane task id.`);
  return type;
}

/**
 * Whether `taskId` is a task id of `type`. A worker holds only entries whose id passes this for the entry's stream,
 * so every task key it derives from an id is in the stream's own slot (a script touches one slot on a Cluster).
 */
export function taskIdOfType(taskId: string, type: string): boolean {
  return taskId.startsWith(`${type}:`) && taskId.length > type.length + 1;
}
