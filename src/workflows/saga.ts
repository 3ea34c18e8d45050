/**
 * The reusable saga engine. A workflow creates one `Saga`, runs its body with `saga.run(...)` and wraps each
 * forward action in `saga.step(name, action, compensation)`. The helper:
 * - registers a step's compensation only after its action succeeded;
 * - on a failed step, a cancel request (update or signal `cancel`), Temporal cancellation or the saga timeout,
 *   cancels the running step and runs the registered compensations in reverse order inside
 *   `CancellationScope.nonCancellable` (a rollback must finish even while the workflow is being cancelled);
 * - records a compensation that still fails after its retries (step, error) and keeps running the others;
 * - then fails the workflow with the original cause, so nothing is swallowed;
 * - answers the `state` query and upserts the `SagaState` / `SagaStep` search attributes at every transition;
 * - reports its lifecycle to the `sagaMetrics` sink.
 *
 * Compensations should be activities with their own retry policy (compensations must be idempotent: a retry may
 * repeat one that half-ran). Deterministic workflow code only.
 */
import {
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  defineQuery,
  isCancellation,
  proxySinks,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import {
  DEFAULT_SAGA_TIMEOUT_MS,
  cancelSignal,
  cancelUpdate,
  type SagaError,
  type SagaStateName,
  type SagaStateView,
  type StepRecord,
} from './pipeline-definitions';
import { unwrapLaneStepResult } from './lane-step';
import { SAGA_STATE, SAGA_STEP } from './search-attributes';
import type { SagaEndOutcome, SagaSinks } from './saga-sinks';

/** The states every saga shares; between them, the state is the name of the running step. */
export const SAGA_LIFECYCLE_STATES = [
  'pending',
  'completed',
  'compensating',
  'rolled_back',
  'failed',
] as const;
const TERMINAL = new Set(['completed', 'rolled_back', 'failed']);

/** The `state` query of any saga (same name as the pipeline's `stateQuery`, with a generic result). */
export const sagaStateQuery = defineQuery<SagaStateView<unknown, string>>('state');

/** Failure type of a saga whose compensations all succeeded. */
export const SAGA_ROLLED_BACK_FAILURE = 'SagaRolledBack';
/** Failure type of a saga where at least one compensation failed (see `compensations` in its state). */
export const SAGA_COMPENSATION_FAILED_FAILURE = 'SagaCompensationFailed';

export interface SagaOptions {
  /**
   * Saga timeout: a workflow timer, so the saga still compensates when it fires (a server-side execution timeout
   * would end the workflow without rolling back).
   * @defaultValue DEFAULT_SAGA_TIMEOUT_MS (60 s)
   */
  timeoutMs?: number;
  /**
   * Upsert the `SagaState` / `SagaStep` search attributes; they must be registered on the namespace.
   * @defaultValue true
   */
  searchAttributes?: boolean;
}

interface RegisteredCompensation {
  step: string;
  /** Resolves with the compensation's result: a `LaneStepResult` when it ran on the lane. */
  run: () => Promise<unknown>;
}

type RollbackRequest = { reason: 'cancelled'; cancelReason: string } | { reason: 'timeout' };

const { sagaMetrics } = proxySinks<SagaSinks>();

export class Saga<TResult = unknown> {
  private readonly view: SagaStateView<TResult, string>;
  private readonly compensations: RegisteredCompensation[] = [];
  /** Everything the body does runs in this scope, so a cancel request or the timeout can stop the running step. */
  private readonly bodyScope = new CancellationScope();
  private readonly timeoutMs: number;
  private readonly upsertSearchAttributes: boolean;
  private readonly startedAt = Date.now();
  private rollbackRequest?: RollbackRequest;
  /** The step that was running when the rollback was requested (it may still have finished). */
  private stepAtRollbackRequest?: string;
  private running = false;

  constructor(options: SagaOptions = {}) {
    const timeoutMs = options.timeoutMs ?? DEFAULT_SAGA_TIMEOUT_MS;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      throw ApplicationFailure.nonRetryable(`saga timeoutMs must be a positive number (got ${timeoutMs})`);
    }
    this.timeoutMs = timeoutMs;
    this.upsertSearchAttributes = options.searchAttributes ?? true;
    const info = workflowInfo();
    this.view = {
      sagaId: info.workflowId,
      runId: info.runId,
      workflowType: info.workflowType,
      state: 'pending',
      steps: [],
      compensations: [],
    };
    setHandler(sagaStateQuery, () => this.view);
    setHandler(cancelUpdate, (reason) => this.requestCancel(reason), {
      validator: (reason) => {
        if (typeof reason !== 'string') throw new Error('cancel takes one argument: the reason, a string');
      },
    });
    setHandler(cancelSignal, (reason) => {
      this.requestCancel(typeof reason === 'string' ? reason : '');
    });
  }

  /** A snapshot of the saga's state (what the `state` query returns). */
  get state(): SagaStateView<TResult, string> {
    return this.view;
  }

  /**
   * Runs the saga body. Resolves with its result once every step succeeded; otherwise compensates and rejects with
   * an `ApplicationFailure` of type `SagaRolledBack` or `SagaCompensationFailed` whose cause is the original error
   * (or rethrows the `CancelledFailure` when Temporal itself cancelled the workflow).
   */
  async run(body: (saga: this) => Promise<TResult>): Promise<TResult> {
    if (this.running) throw ApplicationFailure.nonRetryable('Saga.run may be called once per saga');
    this.running = true;
    sagaMetrics.sagaStarted({ workflowType: this.view.workflowType });
    this.publishSearchAttributes();
    const timerScope = new CancellationScope();
    timerScope
      .run(() => sleep(this.timeoutMs))
      .then(
        () => this.requestRollback({ reason: 'timeout' }),
        () => undefined, // The timer is cancelled when the saga ends first.
      );
    try {
      const result = await this.bodyScope.run(() => body(this));
      this.view.result = result;
      this.view.currentStep = undefined;
      this.transition('completed');
      this.ended('completed');
      return result;
    } catch (err) {
      throw await this.rollBack(err);
    } finally {
      timerScope.cancel();
    }
  }

  /**
   * Runs one forward step. Its `compensation` (given the action's result) is registered only once the action has
   * succeeded, so a rollback undoes exactly the steps that finished. Step names must be unique within a saga.
   */
  async step<T>(
    name: string,
    action: () => Promise<T>,
    compensation?: (result: T) => Promise<void>,
  ): Promise<T> {
    if (this.view.steps.some((s) => s.name === name)) {
      throw ApplicationFailure.nonRetryable(`saga step "${name}" ran twice: step names must be unique`);
    }
    if (TERMINAL.has(name) || name === 'pending' || name === 'compensating') {
      throw ApplicationFailure.nonRetryable(`"${name}" is a saga state and cannot be a step name`);
    }
    // A step that finished after the rollback was requested (its activity waited for the cancel) is kept and
    // compensated; the next one must not start.
    if (this.bodyScope.consideredCancelled) {
      throw new CancelledFailure(`saga is rolling back; step "${name}" not started`);
    }
    const record: StepRecord = { name, status: 'running', attempts: 1, startedAt: new Date().toISOString() };
    this.view.steps.push(record);
    this.view.currentStep = name;
    this.transition(name);
    const started = Date.now();
    try {
      // A lane-dispatched step's activity returns its value in an envelope naming the lane task that ran it.
      const { value: result, ran } = unwrapLaneStepResult<T>(await action());
      if (ran) {
        record.lane = ran.lane;
        record.taskId = ran.taskId;
      }
      this.finishStep(record, 'completed', started);
      if (compensation) this.compensations.push({ step: name, run: () => compensation(result) });
      return result;
    } catch (err) {
      this.finishStep(record, isCancellation(err) ? 'cancelled' : 'failed', started);
      throw err;
    }
  }

  private finishStep(
    record: StepRecord,
    status: 'completed' | 'failed' | 'cancelled',
    started: number,
  ): void {
    record.status = status;
    record.finishedAt = new Date().toISOString();
    sagaMetrics.stepFinished({
      workflowType: this.view.workflowType,
      step: record.name,
      outcome: status,
      durationMs: Date.now() - started,
      dispatch: record.taskId ? 'lane' : 'inline',
    });
  }

  private requestCancel(reason: string): { accepted: boolean; state: SagaStateName } {
    const accepted = this.requestRollback({
      reason: 'cancelled',
      cancelReason: reason.trim() || 'no reason given',
    });
    // Generic sagas have their own step names as states; the contract types the pipeline's.
    return { accepted, state: this.view.state as SagaStateName };
  }

  /** Asks the body to stop; false when the saga is already rolling back or over. */
  private requestRollback(request: RollbackRequest): boolean {
    if (this.rollbackRequest || this.view.state === 'compensating' || TERMINAL.has(this.view.state))
      return false;
    this.rollbackRequest = request;
    this.stepAtRollbackRequest = this.view.currentStep;
    this.bodyScope.cancel();
    return true;
  }

  private async rollBack(cause: unknown): Promise<unknown> {
    const error = this.describe(cause);
    this.view.error = error;
    this.transition('compensating');
    const allCompensated = await CancellationScope.nonCancellable(() => this.compensate());
    this.view.currentStep = undefined;
    this.transition(allCompensated ? 'rolled_back' : 'failed');
    this.ended(allCompensated ? 'rolled_back' : 'failed');
    // Temporal's own cancellation ends the workflow as Cancelled, as callers of `handle.cancel()` expect.
    if (!this.rollbackRequest && isCancellation(cause)) return cause;
    const failedCompensations = this.view.compensations.filter((c) => c.status === 'failed');
    const message = allCompensated
      ? `${error.message}; rolled back`
      : `${error.message}; rollback incomplete: compensation of ${failedCompensations.map((c) => `"${c.step}"`).join(', ')} failed`;
    return ApplicationFailure.create({
      type: allCompensated ? SAGA_ROLLED_BACK_FAILURE : SAGA_COMPENSATION_FAILED_FAILURE,
      message,
      nonRetryable: true,
      details: [error, this.view.compensations],
      cause: cause instanceof Error ? cause : undefined,
    });
  }

  /** Runs the registered compensations newest first; a failure is recorded and the others still run. */
  private async compensate(): Promise<boolean> {
    let allCompensated = true;
    for (const compensation of [...this.compensations].reverse()) {
      this.view.currentStep = compensation.step;
      try {
        const { ran } = unwrapLaneStepResult(await compensation.run());
        this.view.compensations.push({ step: compensation.step, status: 'completed', ...ran });
        this.compensationFinished(compensation.step, 'completed');
      } catch (err) {
        allCompensated = false;
        this.view.compensations.push({ step: compensation.step, status: 'failed', error: rootMessage(err) });
        this.compensationFinished(compensation.step, 'failed');
      }
    }
    return allCompensated;
  }

  private describe(cause: unknown): SagaError {
    const interrupted = [...this.view.steps].reverse().find((s) => s.status !== 'completed');
    const step = interrupted?.name ?? this.stepAtRollbackRequest;
    const during = step ? ` during step "${step}"` : '';
    const request = this.rollbackRequest;
    if (request?.reason === 'timeout') {
      return { reason: 'timeout', step, message: `saga timed out after ${this.timeoutMs} ms${during}` };
    }
    if (request?.reason === 'cancelled') {
      return {
        reason: 'cancelled',
        step,
        cancelReason: request.cancelReason,
        message: `saga cancelled${during}: ${request.cancelReason}`,
      };
    }
    if (isCancellation(cause)) {
      const cancelReason = 'workflow cancellation requested';
      return { reason: 'cancelled', step, cancelReason, message: `saga cancelled${during}: ${cancelReason}` };
    }
    const message = step
      ? `step "${step}" failed: ${rootMessage(cause)}`
      : `saga failed: ${rootMessage(cause)}`;
    return { reason: 'step_failed', step, message };
  }

  private transition(to: string): void {
    const from = this.view.state;
    this.view.state = to;
    if (from !== to) sagaMetrics.stateTransition({ workflowType: this.view.workflowType, from, to });
    this.publishSearchAttributes();
  }

  private publishSearchAttributes(): void {
    if (!this.upsertSearchAttributes) return;
    const updates: SearchAttributeUpdatePair[] = [{ key: SAGA_STATE, value: this.view.state }];
    const step = this.view.currentStep ?? this.view.error?.step ?? this.view.steps.at(-1)?.name;
    if (step !== undefined) updates.push({ key: SAGA_STEP, value: step });
    upsertSearchAttributes(updates);
  }

  private compensationFinished(step: string, outcome: 'completed' | 'failed'): void {
    sagaMetrics.compensationFinished({ workflowType: this.view.workflowType, step, outcome });
  }

  private ended(outcome: SagaEndOutcome): void {
    sagaMetrics.sagaEnded({
      workflowType: this.view.workflowType,
      outcome,
      durationMs: Date.now() - this.startedAt,
    });
  }
}

/** The innermost message of a Temporal failure chain (ActivityFailure → ApplicationFailure → …). */
export function rootMessage(err: unknown): string {
  let current: unknown = err;
  let message = String(err);
  for (let depth = 0; current instanceof Error && depth < 10; depth++) {
    message = current.message;
    current = (current as { cause?: unknown }).cause;
  }
  return message;
}
