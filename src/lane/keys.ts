/**
 * Key names of the express lane. Every key of a task type carries the hash tag `{<type>}` so the type's streams,
 * task records and dead letters share one Redis Cluster slot, which the Lua scripts need. A type split into stream
 * partitions (partitions.ts) has one tag per partition: `{<type>}` for partition 0, `{<type>~<p>}` for the others;
 * the key methods below take such a tag wherever they take a type.
 */
import { LaneOptionsError } from './errors';

export const LANES = ['express', 'standard'] as const;
export type Lane = (typeof LANES)[number];

/** The consumer group every worker of every type joins. */
export const DEFAULT_GROUP = 'sagalane-workers';

const TYPE_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/;
/** A type name, or a partition tag `<type>~<p>` (p in 1..MAX_PARTITIONS - 1). */
const STREAM_TAG = /^([a-zA-Z0-9][a-zA-Z0-9_.-]{0,63})(?:~([1-9][0-9]?))?$/;

/** Most stream partitions a task type may have. */
export const MAX_PARTITIONS = 64;

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
    return `${this.taskPrefix(streamTagOfTaskId(taskId))}${taskId}`;
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
  /** Hash: consumer name → that worker's SLO attainment of the type over its last minute (slo.ts). */
  sloAttainment(type: string): string {
    return `${this.base(type)}:slo`;
  }
  /** Hash: consumer name → that worker's done, failed and latency histograms of the type over its last minute (task-window.ts). */
  taskWindow(type: string): string {
    return `${this.base(type)}:window`;
  }
  /** Hash: consumer name → when (ms) the janitor last reclaimed entries it held (a dead consumer's; the board shows it). */
  reclaimedConsumers(): string {
    return `${this.prefix}:lane:reclaimed-consumers`;
  }
}

/**
 * Task ids are `<type>:<uuid>` (`<type>~<p>:<uuid>` in partition p > 0) so any holder of an id can find the task's
 * keys (and Cluster slot): this is the tag before the colon.
 */
export function streamTagOfTaskId(taskId: string): string {
  const i = taskId.indexOf(':');
  const tag = i > 0 ? taskId.slice(0, i) : '';
  const m = STREAM_TAG.exec(tag);
  if (!m || Number(m[2] ?? 0) >= MAX_PARTITIONS)
    throw new LaneOptionsError(`"${taskId}" is not an express-lane task id.`);
  return tag;
}

/** The task type of a task id (its partition, if any, left out). */
export function typeOfTaskId(taskId: string): string {
  return STREAM_TAG.exec(streamTagOfTaskId(taskId))![1]!;
}

/**
 * Whether `taskId` is a task id of `type`. A worker holds only entries whose id passes this for the entry's stream,
 * so every task key it derives from an id is in the stream's own slot (a script touches one slot on a Cluster).
 */
export function taskIdOfType(taskId: string, type: string): boolean {
  return taskId.startsWith(`${type}:`) && taskId.length > type.length + 1;
}
