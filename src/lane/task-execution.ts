/**
 * Execution: runs one task's handler, inline on the event loop (with an AbortSignal for its timeout) or in the
 * thread pool (terminated at its timeout), and classifies how it ended. Knows nothing about Redis.
 */
import type { Logger } from '../logger';
import { TaskTimeoutError } from './errors';
import { errorText } from './entries';
import { DEFAULT_POOLED_HEAP_MB, PoolTimeoutError, type HandlerPools } from './handler-pool';
import type { Lane } from './keys';
import type { TaskType } from './task-types';

export interface TaskFailure {
  /** `Name: message`, as stored in the task record and the dead letter. */
  text: string;
  /** The error said not to retry (`nonRetryable === true`, e.g. `UnrecoverableTaskError`). */
  nonRetryable: boolean;
  timedOut: boolean;
  /** A pooled handler's thread ran out of its heap limit. */
  outOfMemory: boolean;
}

export type RunOutcome = { ok: true; result: unknown } | { ok: false; failure: TaskFailure };

export interface RunRequest {
  type: TaskType;
  lane: Lane;
  payload: unknown;
  taskId: string;
  attempt: number;
  timeoutMs: number;
  abort: LazyAbort;
  progress: (info: Record<string, unknown>) => void;
}

export class TaskExecutor {
  constructor(
    private readonly pools: HandlerPools,
    private readonly log: Logger,
  ) {}

  run(r: RunRequest): Promise<RunOutcome> {
    return r.type.pooled ? this.runPooled(r) : this.runInline(r);
  }

  private runInline(r: RunRequest): Promise<RunOutcome> {
    const { abort, timeoutMs } = r;
    return new Promise<RunOutcome>((resolve) => {
      const timer = setTimeout(() => {
        const err = new TaskTimeoutError(timeoutMs);
        // The handler sees its signal aborted; whatever it does later is ignored (the first settle wins).
        abort.abort(err);
        resolve({ ok: false, failure: failureOf(err, { timedOut: true }) });
      }, timeoutMs);
      timer.unref();
      r.type.handler!(r.payload, {
        // A getter: the AbortController (costly to create) is only made for handlers that look at it.
        get signal() {
          return abort.signal;
        },
        taskId: r.taskId,
        attempt: r.attempt,
        progress: r.progress,
      }).then(
        (result) => {
          clearTimeout(timer);
          resolve({ ok: true, result });
        },
        (err: unknown) => {
          clearTimeout(timer);
          resolve({ ok: false, failure: failureOf(err) });
        },
      );
    });
  }

  private async runPooled(r: RunRequest): Promise<RunOutcome> {
    const { abort, timeoutMs } = r;
    try {
      const reply = await this.pools.run(
        r.lane,
        r.type.pooled!,
        r.payload,
        { taskId: r.taskId, attempt: r.attempt },
        { signal: abort.signal, timeoutMs },
      );
      if (reply.ok) return { ok: true, result: reply.result };
      const e = reply.error;
      return {
        ok: false,
        failure: {
          text: `${e.name}: ${e.message}`,
          nonRetryable: e.nonRetryable,
          timedOut: false,
          outOfMemory: false,
        },
      };
    } catch (err) {
      if (err instanceof PoolTimeoutError)
        return { ok: false, failure: failureOf(new TaskTimeoutError(timeoutMs), { timedOut: true }) };
      const code = (err as { code?: string })?.code;
      if (code === 'ERR_WORKER_OUT_OF_MEMORY') {
        const limit = r.type.pooled!.maxHeapMb ?? DEFAULT_POOLED_HEAP_MB;
        this.log.warn('pooled handler ran out of memory; its thread was replaced', {
          taskId: r.taskId,
          limit,
        });
        return {
          ok: false,
          failure: {
            text: `${errorText(err)} (limit ${limit} MiB)`,
            nonRetryable: true,
            timedOut: false,
            outOfMemory: true,
          },
        };
      }
      return { ok: false, failure: failureOf(err) };
    }
  }
}

function failureOf(err: unknown, extra: Partial<TaskFailure> = {}): TaskFailure {
  return {
    text: errorText(err),
    nonRetryable: (err as { nonRetryable?: unknown } | null)?.nonRetryable === true,
    timedOut: false,
    outOfMemory: false,
    ...extra,
  };
}

/**
 * An abort switch whose AbortController is created on first use of `signal`: most handlers never look at it, and
 * creating one per task is a measurable share of the lane's per-task cost.
 */
export class LazyAbort {
  private controller?: AbortController;
  private reason: unknown;
  aborted = false;

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.controller?.abort(reason);
  }
}
