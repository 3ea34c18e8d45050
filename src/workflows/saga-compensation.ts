/**
 * How a saga runs its registered compensations: sequential newest-first or all at once, continuing after a failed
 * one or stopping there, each compensation with an optional saga-level retry policy and per-attempt timeout.
 * Deterministic workflow code only (timers for backoff and timeouts are workflow timers).
 *
 * Without options a compensation is called exactly once and awaited, so a saga that uses none of this emits the
 * same commands as before these options existed (the committed histories replay).
 */
import { ApplicationFailure, CancellationScope, sleep } from '@temporalio/workflow';
import type { CompensationRecord } from './saga-contract';
import { rootMessage } from './saga-failure';
import { runAsCompensation, type CompensationRun } from './step-attempts';

/**
 * Saga-level retries of one compensation function, on top of any activity retry policy inside it (a compensation
 * activity that exhausted its own attempts counts as one failed attempt here). Durations in milliseconds.
 */
export interface CompensationRetryPolicy {
  /** Attempts, the first included. @defaultValue 1 (no saga-level retry) */
  maximumAttempts?: number;
  /** Delay before the second attempt. @defaultValue 1000 */
  initialIntervalMs?: number;
  /** Each delay is the previous one times this. @defaultValue 2 */
  backoffCoefficient?: number;
  /** Longest delay. @defaultValue 100 × initialIntervalMs */
  maximumIntervalMs?: number;
  /** Failure types (ApplicationFailure `type`) that are not retried. Non-retryable ApplicationFailures never are. */
  nonRetryableErrorTypes?: string[];
}

/** Per-step compensation options (the fourth argument of `saga.step`). */
export interface CompensationOptions {
  /** @defaultValue one attempt */
  retry?: CompensationRetryPolicy;
  /**
   * Each attempt is cancelled after this long and counts as failed. The compensation's activities should use
   * `TRY_CANCEL` (the default) or heartbeat, or the cancel waits for them. @defaultValue none
   */
  timeoutMs?: number;
}

/** `sequential`: newest first, one at a time (Temporal's Java Saga default). `parallel`: all at once. */
export type CompensationMode = 'sequential' | 'parallel';

export interface RegisteredCompensation {
  step: string;
  run: () => Promise<void>;
  options?: CompensationOptions;
}

export interface CompensationHooks {
  /** A compensation starts (sequential mode: the saga's `currentStep`). */
  started(step: string): void;
  /** A compensation finished, failed or was skipped; records arrive in the order they happen. */
  finished(record: CompensationRecord): void;
}

/**
 * Runs `registered` (oldest first, as registered) newest first or in parallel. Returns whether every compensation
 * succeeded. Never throws for a failed compensation: each outcome goes to `hooks.finished`.
 */
export async function runCompensations(
  registered: readonly RegisteredCompensation[],
  opts: { mode: CompensationMode; continueWithError: boolean },
  hooks: CompensationHooks,
): Promise<boolean> {
  const newestFirst = [...registered].reverse();
  if (opts.mode === 'parallel') {
    // Every compensation has started before any can fail, so continueWithError has nothing left to skip here.
    const outcomes = await Promise.all(newestFirst.map((c) => runOne(c, hooks)));
    return outcomes.every(Boolean);
  }
  let allCompensated = true;
  for (const [i, compensation] of newestFirst.entries()) {
    hooks.started(compensation.step);
    if (await runOne(compensation, hooks)) continue;
    allCompensated = false;
    if (!opts.continueWithError) {
      for (const rest of newestFirst.slice(i + 1)) hooks.finished({ step: rest.step, status: 'skipped' });
      break;
    }
  }
  return allCompensated;
}

async function runOne(registered: RegisteredCompensation, hooks: CompensationHooks): Promise<boolean> {
  // Where a lane-dispatched compensation ran (set by the step-attempt interceptor; absent without it or in-worker).
  const ran: CompensationRun = { attempts: 1 };
  const compensation = { ...registered, run: () => runAsCompensation(ran, registered.run) };
  const where = () => (ran.taskId && ran.lane ? { lane: ran.lane, taskId: ran.taskId } : {});
  const { options } = compensation;
  if (!options?.retry && options?.timeoutMs === undefined) {
    try {
      await compensation.run();
      hooks.finished({ step: compensation.step, status: 'completed', ...where() });
      return true;
    } catch (err) {
      hooks.finished({ step: compensation.step, status: 'failed', error: rootMessage(err) });
      return false;
    }
  }
  const retry = options.retry ?? {};
  const maximumAttempts = retry.maximumAttempts ?? 1;
  const initial = retry.initialIntervalMs ?? 1000;
  const coefficient = retry.backoffCoefficient ?? 2;
  const maximumInterval = retry.maximumIntervalMs ?? initial * 100;
  for (let attempt = 1; ; attempt++) {
    try {
      await attemptOnce(compensation.run, options.timeoutMs);
      hooks.finished({ step: compensation.step, status: 'completed', attempts: attempt, ...where() });
      return true;
    } catch (err) {
      if (attempt >= maximumAttempts || !retryable(err, retry.nonRetryableErrorTypes ?? [])) {
        hooks.finished({
          step: compensation.step,
          status: 'failed',
          error: rootMessage(err),
          attempts: attempt,
        });
        return false;
      }
      await sleep(Math.min(initial * coefficient ** (attempt - 1), maximumInterval));
    }
  }
}

async function attemptOnce(run: () => Promise<void>, timeoutMs: number | undefined): Promise<void> {
  if (timeoutMs === undefined) return run();
  // A cancellable scope of its own: the rollback runs in a non-cancellable one, and only this timeout may cancel.
  const scope = new CancellationScope({ cancellable: true, timeout: timeoutMs });
  try {
    await scope.run(run);
  } catch (err) {
    if (scope.consideredCancelled) {
      throw ApplicationFailure.retryable(
        `compensation timed out after ${timeoutMs} ms`,
        'CompensationTimeout',
      );
    }
    throw err;
  }
}

function retryable(err: unknown, nonRetryableTypes: readonly string[]): boolean {
  let current: unknown = err;
  for (let depth = 0; current instanceof Error && depth < 10; depth++) {
    if (current instanceof ApplicationFailure) {
      if (current.nonRetryable) return false;
      if (current.type && nonRetryableTypes.includes(current.type)) return false;
    }
    current = (current as { cause?: unknown }).cause;
  }
  return true;
}

/** Fail-fast check of `CompensationOptions` (a mistake in workflow code fails the workflow task's saga at once). */
export function validateCompensationOptions(step: string, options: CompensationOptions | undefined): void {
  if (!options) return;
  const bad = (what: string) => {
    throw ApplicationFailure.nonRetryable(`saga step "${step}": compensation ${what}`, 'InvalidSagaOptions');
  };
  const { retry, timeoutMs } = options;
  if (timeoutMs !== undefined && !(Number.isFinite(timeoutMs) && timeoutMs > 0))
    bad(`timeoutMs must be a positive number (got ${timeoutMs})`);
  if (!retry) return;
  if (
    retry.maximumAttempts !== undefined &&
    !(Number.isInteger(retry.maximumAttempts) && retry.maximumAttempts >= 1)
  )
    bad(`retry.maximumAttempts must be an integer >= 1 (got ${retry.maximumAttempts})`);
  for (const key of ['initialIntervalMs', 'maximumIntervalMs'] as const) {
    const v = retry[key];
    if (v !== undefined && !(Number.isFinite(v) && v > 0))
      bad(`retry.${key} must be a positive number (got ${v})`);
  }
  if (
    retry.backoffCoefficient !== undefined &&
    !(Number.isFinite(retry.backoffCoefficient) && retry.backoffCoefficient >= 1)
  )
    bad(`retry.backoffCoefficient must be >= 1 (got ${retry.backoffCoefficient})`);
}
