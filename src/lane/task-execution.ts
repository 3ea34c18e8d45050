/**
 * Execution: runs one task's handler, inline on the event loop (with an AbortSignal for its timeout) or in the
 * thread pool (terminated at its timeout), and classifies how it ended. Knows nothing about Redis.
 */
import { context, type Context } from '@opentelemetry/api';
import type { Logger } from '../logger';
import { TaskTimeoutError } from './errors';
import { errorText } from './entries';
import { DEFAULT_POOLED_HEAP_MB, PoolTimeoutError, type HandlerPools } from './handler-pool';
import type { Lane } from './keys';
import type { TaskContext, TaskType } from './task-types';

export interface TaskFailure {
  /** `Name: message`, as stored in the task record and the dead letter. */
  text: string;
  /** The error said not to retry (`nonRetryable === true`, e.g. `UnrecoverableTaskError`). */
  nonRetryable: boolean;
  timedOut: boolean;
  /** A pooled handler's thread ran out of its heap limit. */
  outOfMemory: boolean;
  /** The dead-letter reason when the worker, not the handler, decided the run failed (e.g. `result-too-large`). */
  reason?: string;
}

export type RunOutcome = { ok: true; result: unknown } | { ok: false; failure: TaskFailure };

/** One run to execute. The worker's task object implements it, so a run allocates no request of its own. */
export interface RunRequest {
  readonly type: TaskType;
  readonly lane: Lane;
  readonly payload: unknown;
  readonly taskId: string;
  readonly attempt: number;
  /** An earlier delivery of this run may have started it (TaskContext.redelivered). */
  readonly redelivered: boolean;
  /** When the run's stream entry was appended (TaskContext.enqueuedAt). */
  readonly enqueuedAt: number;
  readonly timeoutMs: number;
  readonly abort: LazyAbort;
  /** The run span's context while tracing is on (lane-tracing.ts): an inline handler runs with it active. */
  readonly traceContext: Context | undefined;
  progress(info: Record<string, unknown>): void;
  /** Called exactly once, with how the run ended. */
  ended(outcome: RunOutcome): void;
}

export class TaskExecutor {
  constructor(
    private readonly pools: HandlerPools,
    private readonly log: Logger,
  ) {}

  /** Starts the run; `r.ended` gets its outcome. Never throws (a handler's synchronous throw is a failure). */
  run(r: RunRequest): void {
    if (r.type.pooled) void this.runPooled(r).then((outcome) => r.ended(outcome));
    else new InlineRun(r).start();
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

/**
 * An inline handler's run: its timeout (the handler's signal is aborted and the run ends as timed out; whatever
 * the handler does later is ignored: the first settle wins) and its settling. A class rather than closures: this
 * is the lane's hot path, run once per task.
 */
class InlineRun {
  private timer?: NodeJS.Timeout;
  private settled = false;

  constructor(private readonly r: RunRequest) {}

  start(): void {
    const r = this.r;
    this.timer = setTimeout(timeOut, r.timeoutMs, this);
    this.timer.unref();
    let result: Promise<unknown>;
    try {
      const traced = r.traceContext;
      result = traced
        ? context.with(traced, () => r.type.handler(r.payload, new HandlerContext(r)))
        : r.type.handler(r.payload, new HandlerContext(r));
    } catch (err) {
      this.settle({ ok: false, failure: failureOf(err) });
      return;
    }
    Promise.resolve(result).then(
      (value) => this.settle({ ok: true, result: value }),
      (err: unknown) => this.settle({ ok: false, failure: failureOf(err) }),
    );
  }

  timeOut(): void {
    const err = new TaskTimeoutError(this.r.timeoutMs);
    this.r.abort.abort(err);
    this.settle({ ok: false, failure: failureOf(err, { timedOut: true }) });
  }

  private settle(outcome: RunOutcome): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    this.r.ended(outcome);
  }
}

function timeOut(run: InlineRun): void {
  run.timeOut();
}

/** What an inline handler gets as `ctx`. The AbortController behind `signal` is only made if the handler reads it. */
class HandlerContext implements TaskContext {
  readonly taskId: string;
  readonly attempt: number;

  constructor(private readonly r: RunRequest) {
    this.taskId = r.taskId;
    this.attempt = r.attempt;
  }

  /** Read from the entry only if the handler asks (most do not). */
  get redelivered(): boolean {
    return this.r.redelivered;
  }

  get enqueuedAt(): number {
    return this.r.enqueuedAt;
  }

  get signal(): AbortSignal {
    return this.r.abort.signal;
  }

  /** A function of its own (handlers destructure it), made only when asked for. */
  get progress(): (info: Record<string, unknown>) => void {
    return (info) => this.r.progress(info);
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
