/** The task record and dead letters as the client returns them, decoded from their Redis hashes and entries. */
import { typeOfTaskId, type Lane } from './keys';

/**
 * How long a live task's record and idempotency key last without renewal: set at submit, renewed by the workers'
 * record check while the task is queued or running (the retention takes over when it ends).
 */
export const DEFAULT_TASK_LIFETIME_MS = 7 * 86_400_000;

export type TaskStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'dead';

export interface TaskInfo {
  taskId: string;
  type: string;
  lane: Lane;
  status: TaskStatus;
  attempts: number;
  maxAttempts: number;
  result?: unknown;
  error?: string;
  submittedAt: number;
  startedAt?: number;
  finishedAt?: number;
}

/** One entry of a dead-letter stream. */
export interface DeadLetter {
  /** The dead letter's own id (what `retryDead` / `purgeDead` take). */
  id: string;
  /** '' when the entry carried no valid task id. */
  taskId: string;
  reason: string;
  error: string;
  attempts: number;
  /** The payload as submitted (JSON-decoded when it decodes). */
  payload: unknown;
  /** When the task was dead-lettered (ms). */
  at: number;
}

export function toDeadLetter(id: string, flat: string[]): DeadLetter {
  const f: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) f[flat[i]!] = flat[i + 1]!;
  let payload: unknown = f.payload;
  try {
    payload = JSON.parse(f.payload ?? '');
  } catch {
    // kept as the raw string: a malformed entry's payload is exactly what could not be decoded
  }
  return {
    id,
    taskId: f.id ?? '',
    reason: f.reason ?? '',
    error: f.error ?? '',
    attempts: Number(f.attempts ?? 0),
    payload,
    at: Number(f.at ?? 0),
  };
}

export function toTaskInfo(taskId: string, h: Record<string, string>): TaskInfo {
  const num = (v: string | undefined) => (v === undefined || v === '' ? undefined : Number(v));
  return {
    taskId,
    type: h.type ?? typeOfTaskId(taskId),
    lane: (h.lane as Lane) ?? 'standard',
    status: h.status as TaskStatus,
    attempts: num(h.attempts) ?? 0,
    maxAttempts: num(h.maxAttempts) ?? 0,
    ...(h.result !== undefined ? { result: JSON.parse(h.result) as unknown } : {}),
    ...(h.error !== undefined ? { error: h.error } : {}),
    submittedAt: num(h.submittedAt) ?? 0,
    ...(h.startedAt !== undefined ? { startedAt: num(h.startedAt) } : {}),
    ...(h.finishedAt !== undefined ? { finishedAt: num(h.finishedAt) } : {}),
  };
}
