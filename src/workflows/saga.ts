/**
 * The reusable saga engine. A workflow creates one `Saga`, runs its body with `saga.run(...)` and wraps each
 * forward action in `saga.step(name, action, compensation, options)`; `saga.parallel(name, branches)` fans steps
 * out and in, `saga.approval(name, { timeoutMs })` waits for a human. The helper:
 * - registers a step's compensation once its action succeeded (or, for steps that can half-apply, before it runs);
 * - on a failed step, a rejected or unanswered approval, a cancel request (update or signal `cancel`), Temporal
 *   cancellation or the saga timeout, cancels what is running, waits for it, and runs the registered compensations
 *   newest first (or all at once) inside `CancellationScope.nonCancellable` (a rollback must finish even while the
 *   workflow is being cancelled);
 * - records a compensation that still fails after its retries (step, error) and keeps running the others, or stops
 *   there when `continueWithError` is off;
 * - then fails the workflow with one failure listing every failed compensation, whose cause is the original error;
 * - answers the `state` query and upserts the `SagaState` / `SagaStep` search attributes when they change;
 * - reports its lifecycle to the `sagaMetrics` sink.
 *
 * Deterministic workflow code only.
 */
import {
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  allHandlersFinished,
  condition,
  defineQuery,
  isCancellation,
  patched,
  proxySinks,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import {
  DEFAULT_SAGA_TIMEOUT_MS,
  SAGA_APPROVAL_REJECTED_FAILURE,
  SAGA_APPROVAL_TIMED_OUT_FAILURE,
  cancelSignal,
  cancelUpdate,
  type ApprovalRecord,
  type SagaError,
  type SagaStateView,
  type StepRecord,
} from './saga-contract';
import { SagaSearchAttributes } from './saga-search-attributes';
import type { SagaEndOutcome, SagaSinks } from './saga-sinks';
import { ApprovalGate, type ApprovalAnswer, type ApprovalOptions } from './saga-approval';
import {
  runCompensations,
  validateCompensationOptions,
  type CompensationMode,
  type CompensationOptions,
  type RegisteredCompensation,
} from './saga-compensation';
import { rootMessage, sagaRollbackFailure } from './saga-failure';
import { takeLaneStepResult } from '../dispatch/lane-step';
import { runAsStep, stepEnded } from './step-attempts';
import { sagaTraceId } from './saga-trace';

export * from './saga-failure';
import { FEWER_COMMANDS_PATCH, SAGA_V2_PATCH } from './saga-versions';
export { FEWER_COMMANDS_PATCH, SAGA_V2_PATCH };
export type { ApprovalAnswer, ApprovalOptions } from './saga-approval';
export type { CompensationMode, CompensationOptions, CompensationRetryPolicy } from './saga-compensation';

/** The states every saga shares; between them, the state is the name of the running step or parallel group. */
export const SAGA_LIFECYCLE_STATES = [
  'pending',
  'awaiting_approval',
  'completed',
  'compensating',
  'rolled_back',
  'failed',
] as const;
const RESERVED_NAMES = new Set<string>(SAGA_LIFECYCLE_STATES);
const TERMINAL = new Set(['completed', 'rolled_back', 'failed']);

/** The `state` query of any saga (same name as the pipeline's `stateQuery`, with a generic result). */
export const sagaStateQuery = defineQuery<SagaStateView<unknown, string>>('state');

export interface SagaOptions {
  /**
   * Saga timeout: a workflow timer, so the saga still compensates when it fires (a server-side execution timeout
   * would end the workflow without rolling back). Time spent awaiting an approval does not count: an approval has
   * its own `timeoutMs`.
   * @defaultValue DEFAULT_SAGA_TIMEOUT_MS (60 s)
   */
  timeoutMs?: number;
  /**
   * Upsert the `SagaState` / `SagaStep` search attributes; they must be registered on the namespace.
   * @defaultValue true
   */
  searchAttributes?: boolean;
  /**
   * `sequential`: compensations run one at a time, newest first. `parallel`: all start at once.
   * @defaultValue 'sequential'
   */
  compensationMode?: CompensationMode;
  /**
   * After a compensation failed (all its retries spent), run the remaining ones (true) or stop there (false: the
   * rest are recorded as `skipped`). Parallel mode has started them all already, so only sequential mode stops.
   * @defaultValue true
   */
  continueWithError?: boolean;
}

/** Options of one step (the fourth argument of `saga.step`). */
export interface StepOptions {
  /**
   * Register the compensation before the action runs, for steps that can half-apply (a failed or cancelled action
   * may have written something): the rollback then compensates this step too, passing `undefined` when the action
   * did not return. The compensation must be idempotent and cope with nothing to undo.
   * @defaultValue false (registered once the action succeeded)
   */
  compensateBeforeAction?: boolean;
  /** Saga-level retry policy and per-attempt timeout of this step's compensation. @defaultValue one attempt */
  compensation?: CompensationOptions;
}

type RollbackRequest = { reason: 'cancelled'; cancelReason: string } | { reason: 'timeout' };
type ApprovalFailure = {
  reason: 'rejected' | 'approval_timeout';
  step: string;
  message: string;
  cancelReason?: string;
};
type BranchResults<B extends readonly (() => Promise<unknown>)[]> = {
  -readonly [K in keyof B]: Awaited<ReturnType<B[K]>>;
};

const { sagaMetrics } = proxySinks<SagaSinks>();

export class Saga<TResult = unknown> {
  private readonly view: SagaStateView<TResult, string>;
  private readonly compensations: RegisteredCompensation[] = [];
  /** Everything the body does runs in this scope, so a cancel request or the timeout can stop the running step. */
  private readonly bodyScope = new CancellationScope();
  private readonly timeoutMs: number;
  private readonly searchAttributes: SagaSearchAttributes;
  private readonly compensationMode: CompensationMode;
  private readonly continueWithError: boolean;
  private readonly approvals: ApprovalGate;
  private readonly startedAt = Date.now();
  private readonly names = new Set<string>();
  private rollbackRequest?: RollbackRequest;
  private approvalFailure?: ApprovalFailure;
  /** The step that was running when the rollback was requested (it may still have finished). */
  private stepAtRollbackRequest?: string;
  private running = false;
  /** The outermost running `parallel` group (its name is the saga's state meanwhile) and the nesting depth. */
  private group?: { name: string; depth: number };
  private timeout?: { scope: CancellationScope; deadline: number; remainingMs?: number };

  constructor(options: SagaOptions = {}) {
    const timeoutMs = options.timeoutMs ?? DEFAULT_SAGA_TIMEOUT_MS;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      throw ApplicationFailure.nonRetryable(`saga timeoutMs must be a positive number (got ${timeoutMs})`);
    }
    const mode = options.compensationMode ?? 'sequential';
    if (mode !== 'sequential' && mode !== 'parallel') {
      throw ApplicationFailure.nonRetryable(
        `saga compensationMode must be 'sequential' or 'parallel' (got ${JSON.stringify(mode)})`,
      );
    }
    this.timeoutMs = timeoutMs;
    this.compensationMode = mode;
    this.continueWithError = options.continueWithError ?? true;
    const info = workflowInfo();
    this.view = {
      sagaId: info.workflowId,
      runId: info.runId,
      workflowType: info.workflowType,
      state: 'pending',
      steps: [],
      compensations: [],
    };
    this.searchAttributes = new SagaSearchAttributes(options.searchAttributes ?? true, this.view);
    setHandler(sagaStateQuery, () => this.view);
    setHandler(cancelUpdate, (reason) => this.requestCancel(reason), {
      validator: (reason) => {
        if (typeof reason !== 'string') throw new Error('cancel takes one argument: the reason, a string');
      },
    });
    setHandler(cancelSignal, (reason) => {
      this.requestCancel(typeof reason === 'string' ? reason : '');
    });
    this.approvals = new ApprovalGate(() => this.view);
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
    const v2 = patched(SAGA_V2_PATCH);
    const fewerCommands = v2 || patched(FEWER_COMMANDS_PATCH);
    sagaMetrics.sagaStarted({ workflowType: this.view.workflowType });
    this.searchAttributes.begin({ fewerCommands, coalesce: v2 });
    const outerScope = CancellationScope.current();
    this.armTimeout(this.timeoutMs, outerScope);
    try {
      const result = await this.bodyScope.run(() => body(this));
      this.view.result = result;
      this.view.currentStep = undefined;
      this.transition('completed');
      this.ended('completed');
      if (this.approvalRan) await condition(allHandlersFinished);
      return result;
    } catch (err) {
      const failure = await this.rollBack(err);
      if (this.approvalRan) await condition(allHandlersFinished);
      throw failure;
    } finally {
      this.timeout?.scope.cancel();
    }
  }

  /**
   * Runs one forward step. Its `compensation` (given the action's result) is registered once the action has
   * succeeded, so a rollback undoes exactly the steps that finished; with `compensateBeforeAction` it is registered
   * before the action runs. Step names must be unique within a saga.
   */
  async step<T>(
    name: string,
    action: () => Promise<T>,
    compensation?: (result: T) => Promise<void>,
    options?: StepOptions & { compensateBeforeAction?: false },
  ): Promise<T>;
  async step<T>(
    name: string,
    action: () => Promise<T>,
    compensation: (result: T | undefined) => Promise<void>,
    options: StepOptions & { compensateBeforeAction: true },
  ): Promise<T>;
  // Not `async`: an async method and its await are two promises more per step, each of which the SDK's stack-trace
  // hook costs (node_modules/@temporalio/worker/lib/workflow/vm-shared.js, `setPromiseHook`); errors still reject.
  step<T>(
    name: string,
    action: () => Promise<T>,
    compensation?: (result: T | undefined) => Promise<void>,
    options: StepOptions = {},
  ): Promise<T> {
    let record: StepRecord;
    let running: Promise<unknown>;
    const started = Date.now();
    const holder: { result?: T } = {};
    const register = () =>
      this.compensations.push({
        step: name,
        run: () => compensation!(holder.result),
        options: options.compensation,
      });
    try {
      this.claimName(name, 'step');
      validateCompensationOptions(name, options.compensation);
      // A step that finished after the rollback was requested (its activity waited for the cancel) is kept and
      // compensated; the next one must not start.
      this.assertNotRollingBack(name);
      record = this.startRecord(name);
      if (compensation && options.compensateBeforeAction) register();
    } catch (err) {
      return Promise.reject(err);
    }
    const failed = (err: unknown): never => {
      stepEnded(record);
      this.finishStep(record, isCancellation(err) ? 'cancelled' : 'failed', started);
      throw err;
    };
    try {
      running = runAsStep(record, action, this.group !== undefined);
    } catch (err) {
      running = Promise.reject(err);
    }
    return running.then((value) => {
      let result: T;
      try {
        // Without the step-attempt interceptor a lane-dispatched step's result still arrives in its lane envelope.
        result = takeLaneStepResult<T>(record, value);
      } catch (err) {
        return failed(err);
      }
      stepEnded(record);
      holder.result = result;
      this.finishStep(record, 'completed', started);
      if (compensation && !options.compensateBeforeAction) register();
      return result;
    }, failed);
  }

  /**
   * Fan-out and fan-in: runs the branches (each may call `step`, `approval` or `parallel`) at once and resolves
   * with their results in order. When one fails, the running siblings are cancelled and awaited first (a sibling
   * that finished anyway registers its compensation), then the failure propagates and the rollback compensates
   * every finished step. While the group runs, the saga's state is its name.
   */
  async parallel<const B extends readonly (() => Promise<unknown>)[]>(
    name: string,
    branches: B,
  ): Promise<BranchResults<B>> {
    this.claimName(name, 'parallel group');
    this.assertNotRollingBack(name);
    const outermost = this.group === undefined;
    if (outermost) {
      this.group = { name, depth: 0 };
      this.view.currentStep = name;
      this.transition(name);
    }
    this.group!.depth++;
    const scope = new CancellationScope();
    const results: unknown[] = new Array(branches.length);
    let failure: { err: unknown } | undefined;
    try {
      await scope.run(() =>
        Promise.all(
          branches.map(async (branch, i) => {
            try {
              results[i] = await branch();
            } catch (err) {
              if (!failure) {
                failure = { err };
                scope.cancel();
              }
            }
          }),
        ),
      );
    } finally {
      this.group!.depth--;
      if (outermost) this.group = undefined;
    }
    if (failure) throw failure.err;
    return results as BranchResults<B>;
  }

  /**
   * An approval gate: the saga waits in state `awaiting_approval` until the update `approve` (resolves, the saga
   * goes on) or `reject` (the saga rolls back, reason `rejected`) arrives, or `timeoutMs` passes (rolls back, reason
   * `approval_timeout`). The wait does not count against the saga timeout. One approval may be pending at a time.
   */
  async approval(name: string, options: ApprovalOptions): Promise<ApprovalAnswer> {
    const timeoutMs = options?.timeoutMs;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      throw ApplicationFailure.nonRetryable(
        `saga approval "${name}": timeoutMs must be a positive number (got ${timeoutMs})`,
        'InvalidSagaOptions',
      );
    }
    this.claimName(name, 'approval');
    this.assertNotRollingBack(name);
    const approval: ApprovalRecord = { decision: 'pending', timeoutMs };
    const record = this.startRecord(name, 'awaiting_approval');
    record.approval = approval;
    const started = Date.now();
    this.pauseTimeout();
    let answer;
    try {
      answer = await this.approvals.wait(name, timeoutMs, approval);
    } catch (err) {
      this.finishStep(record, isCancellation(err) ? 'cancelled' : 'failed', started);
      throw err;
    }
    if (!answer || answer.decision === 'rejected') {
      this.finishStep(record, 'failed', started);
      if (!answer) {
        const message = `approval "${name}" not answered within ${timeoutMs} ms`;
        this.approvalFailure = { reason: 'approval_timeout', step: name, message };
        throw ApplicationFailure.nonRetryable(message, SAGA_APPROVAL_TIMED_OUT_FAILURE);
      }
      const cancelReason = answer.reason?.trim() || 'no reason given';
      const by = answer.approver ? ` by ${answer.approver}` : '';
      const message = `approval "${name}" rejected${by}: ${cancelReason}`;
      this.approvalFailure = { reason: 'rejected', step: name, message, cancelReason };
      throw ApplicationFailure.nonRetryable(message, SAGA_APPROVAL_REJECTED_FAILURE);
    }
    this.finishStep(record, 'completed', started);
    this.resumeTimeout();
    // Until the next step starts, the saga's state is the passed gate (or the group it runs in).
    if (!this.group) this.transition(name);
    else this.transition(this.group.name);
    return answer;
  }

  private claimName(name: string, what: string): void {
    if (typeof name !== 'string' || name.trim() === '') {
      throw ApplicationFailure.nonRetryable(`saga ${what} name must be a non-empty string`);
    }
    if (RESERVED_NAMES.has(name)) {
      throw ApplicationFailure.nonRetryable(`"${name}" is a saga state and cannot be a ${what} name`);
    }
    if (this.names.has(name)) {
      throw ApplicationFailure.nonRetryable(
        `saga ${what} "${name}" ran twice: step, group and approval names must be unique`,
      );
    }
    this.names.add(name);
  }

  private assertNotRollingBack(name: string): void {
    if (CancellationScope.current().consideredCancelled) {
      throw new CancelledFailure(`saga is rolling back; "${name}" not started`);
    }
  }

  /** Adds the step to the state; outside a parallel group it becomes the saga's state (or `state` if given). */
  private startRecord(name: string, state?: string): StepRecord {
    const record: StepRecord = { name, status: 'running', attempts: 1, startedAt: new Date().toISOString() };
    if (this.group) record.group = this.group.name;
    this.view.steps.push(record);
    if (!this.group) this.view.currentStep = name;
    if (state) this.transition(state);
    else if (!this.group) this.transition(name);
    return record;
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
      ...sagaTraceId(),
    });
  }

  private requestCancel(reason: string): { accepted: boolean; state: string } {
    const accepted = this.requestRollback({
      reason: 'cancelled',
      cancelReason: reason.trim() || 'no reason given',
    });
    return { accepted, state: this.view.state };
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
    // `currentStep` still names the interrupted step here, so `SagaStep` keeps it while compensating.
    this.transition('compensating');
    const allCompensated = await CancellationScope.nonCancellable(() =>
      runCompensations(
        this.compensations,
        { mode: this.compensationMode, continueWithError: this.continueWithError },
        {
          started: (step) => {
            this.view.currentStep = step;
          },
          finished: (record) => {
            this.view.compensations.push(record);
            if (record.status !== 'skipped') this.compensationFinished(record.step, record.status);
          },
        },
      ),
    );
    this.view.currentStep = undefined;
    this.transition(allCompensated ? 'rolled_back' : 'failed');
    this.ended(allCompensated ? 'rolled_back' : 'failed');
    // Temporal's own cancellation ends the workflow as Cancelled, as callers of `handle.cancel()` expect.
    if (!this.rollbackRequest && !this.approvalFailure && isCancellation(cause)) return cause;
    return sagaRollbackFailure(error, this.view.compensations, cause);
  }

  private describe(cause: unknown): SagaError {
    const steps = [...this.view.steps].reverse();
    const interrupted =
      steps.find((s) => s.status === 'failed') ?? steps.find((s) => s.status !== 'completed');
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
    if (this.approvalFailure) {
      const { reason, step: gate, message, cancelReason } = this.approvalFailure;
      return { reason, step: gate, message, ...(cancelReason ? { cancelReason } : {}) };
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

  /** The saga timeout as a workflow timer in `parent`'s scope (so the body's cancellation does not stop it). */
  private armTimeout(ms: number, parent: CancellationScope): void {
    const scope = new CancellationScope({ cancellable: true, parent });
    const deadline = Date.now() + ms;
    this.timeout = { scope, deadline };
    scope
      .run(() => sleep(ms))
      .then(
        () => this.requestRollback({ reason: 'timeout' }),
        () => undefined, // Cancelled: the saga ended first, or an approval paused it.
      );
  }

  private pauseTimeout(): void {
    const timeout = this.timeout;
    if (!timeout || timeout.remainingMs !== undefined) return;
    timeout.remainingMs = Math.max(1, timeout.deadline - Date.now());
    timeout.scope.cancel();
  }

  private resumeTimeout(): void {
    const remaining = this.timeout?.remainingMs;
    if (remaining === undefined) return;
    this.armTimeout(remaining, this.timeout!.scope.parent ?? CancellationScope.current());
  }

  /**
   * An approval gate ran: its update handler may still be returning its answer when the saga ends (awaited then, so
   * the caller gets the state, not an error; only then, since each awaited promise costs the SDK's stack-trace hook).
   */
  private get approvalRan(): boolean {
    return this.view.steps.some((s) => s.approval);
  }

  private transition(to: string): void {
    const from = this.view.state;
    this.view.state = to;
    if (from !== to) sagaMetrics.stateTransition({ workflowType: this.view.workflowType, from, to });
    this.searchAttributes.changed(TERMINAL.has(to));
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
