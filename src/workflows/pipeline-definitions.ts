/**
 * The zod-free half of the saga contract: names, constants, the `state` query's shape and the cancel update/signal.
 * Workflow code imports this module rather than `./pipeline-contract`, so zod stays out of the workflow bundle: with
 * `reuseV8Context` the SDK evaluates a workflow's modules once per workflow run, and evaluating zod plus the schemas
 * cost ~14 ms of the first workflow task of every saga. `./pipeline-contract` re-exports all of this.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { BacktestMetrics, StrategyPlan } from '../activities/contracts';
import type { StepLane } from '../dispatch/lane-step';
import { sagaSteps } from './saga-steps';

export const RESEARCH_PIPELINE_WORKFLOW = 'researchPipeline';
export const DEFAULT_SAGA_TIMEOUT_MS = 60_000;
/** `approval` of the pipeline input: no gate, or a human approves the model before the backtest runs. */
export const PIPELINE_APPROVALS = ['none', 'before_backtest'] as const;
export type PipelineApproval = (typeof PIPELINE_APPROVALS)[number];
/** Name of the pipeline's approval gate (a step in its state). */
export const PIPELINE_APPROVAL_STEP = 'approve_backtest';
export const DEFAULT_APPROVAL_TIMEOUT_MS = 86_400_000;

export const SAGA_STATES = [
  'pending',
  'reasoning',
  'codegen',
  'ml',
  'backtest',
  'awaiting_approval',
  'completed',
  'compensating',
  'rolled_back',
  'failed',
] as const;
export type SagaStateName = (typeof SAGA_STATES)[number];
export const TERMINAL_SAGA_STATES: readonly SagaStateName[] = ['completed', 'rolled_back', 'failed'];

/**
 * The pipeline's steps and their compensations, declared once: the lane dispatch, the lane's step task types and the
 * catalog derive from this. codegen is the quick step a worker may offer as a local (awaited) step.
 */
export const PIPELINE_SAGA_STEPS = sagaSteps({
  reasoning: { compensation: 'compensateReasoning' },
  codegen: { compensation: 'compensateCodegen', local: true },
  ml: { compensation: 'compensateMl' },
  backtest: { compensation: 'compensateBacktest' },
});

/** The pipeline's steps, in the order they run. */
export const PIPELINE_STEPS = Object.keys(PIPELINE_SAGA_STEPS) as (keyof typeof PIPELINE_SAGA_STEPS)[];
export type PipelineStep = (typeof PIPELINE_STEPS)[number];

export type StepStatus = 'running' | 'completed' | 'failed' | 'cancelled';
export interface StepRecord {
  name: string;
  status: StepStatus;
  /**
   * The Temporal activity attempt that finished the step (2 when its activity failed once and the retry succeeded);
   * 1 for a step without an activity or on a worker without the attempt interceptor (see docs/SAGAS.md).
   */
  attempts: number;
  startedAt: string;
  finishedAt?: string;
  /** Lane-dispatched steps: the lane and the lane task that ran the step (`sagalane task get <taskId>`). */
  lane?: StepLane;
  taskId?: string;
  /** The `saga.parallel(name, …)` group the step ran in. */
  group?: string;
  /** Present on an approval gate (`saga.approval`): who answered what. */
  approval?: ApprovalRecord;
}
/** `skipped`: not run because an earlier compensation failed and the saga stops at the first failure. */
export type CompensationStatus = 'completed' | 'failed' | 'skipped';
export interface CompensationRecord {
  step: string;
  status: CompensationStatus;
  error?: string;
  /** Attempts the saga made, when the step's compensation has a saga-level retry policy. */
  attempts?: number;
  /** A lane-dispatched compensation that completed: the lane and the lane task that ran it. */
  lane?: StepLane;
  taskId?: string;
}
export interface SagaError {
  message: string;
  /** The step that failed, when a step failed. */
  step?: string;
  /**
   * Why the saga is rolling back: a step failure, a cancel request, the saga timeout, an approval rejected or not
   * answered in time.
   */
  reason: 'step_failed' | 'cancelled' | 'timeout' | 'rejected' | 'approval_timeout';
  /** The text given to `cancel(reason)` or `reject({ reason })`. */
  cancelReason?: string;
}

export interface PipelineResult {
  sagaId: string;
  plan: StrategyPlan;
  artifacts: { code: string; model: string; report: string };
  params: Record<string, number>;
  metrics: BacktestMetrics;
}

/**
 * What the `state` query returns. The defaults describe the researchPipeline; a user's own saga (built with the
 * `Saga` helper) has its own step names as states and its own result type.
 */
export interface SagaStateView<TResult = PipelineResult, TState extends string = SagaStateName> {
  sagaId: string;
  runId: string;
  workflowType: string;
  state: TState;
  currentStep?: string;
  steps: StepRecord[];
  compensations: CompensationRecord[];
  error?: SagaError;
  result?: TResult;
}

export const stateQuery = defineQuery<SagaStateView>('state');
/** Cancel and roll back; resolves once the cancel is accepted (not once the rollback finished). */
export const cancelUpdate = defineUpdate<{ accepted: boolean; state: SagaStateName }, [string]>('cancel');
/** The same for `temporal workflow signal --name cancel --input '"reason"'`. */
export const cancelSignal = defineSignal<[string]>('cancel');

// ---------------------------------------------------------------------------------------------------------------
// Approval gates (`saga.approval(name, { timeoutMs })`): the saga waits in state `awaiting_approval` for one of
// these updates. Their validators refuse an answer when no approval is pending or it was already answered, so a
// refused answer never reaches the history.

/** The answer `approve` takes; every field optional. */
export interface ApproveInput {
  /** Who approved (free text, e.g. a user name). */
  approver?: string;
  comment?: string;
}
/** The answer `reject` takes; every field optional. */
export interface RejectInput {
  /** Why, shown as the saga's `error.cancelReason`. */
  reason?: string;
  approver?: string;
}
export interface ApprovalRecord {
  decision: 'pending' | 'approved' | 'rejected' | 'timed_out';
  timeoutMs: number;
  approver?: string;
  comment?: string;
  reason?: string;
  answeredAt?: string;
}
/**
 * Approve the pending approval; resolves with the saga's state once the saga moved on. The argument may be omitted
 * on the wire (`temporal workflow update execute --name approve`): it is then `{}`.
 */
export const approveUpdate = defineUpdate<SagaStateView, [ApproveInput]>('approve');
/** Reject the pending approval: the saga rolls back; resolves with its state once the rollback began. */
export const rejectUpdate = defineUpdate<SagaStateView, [RejectInput]>('reject');

/** Failure type of an answer to a saga that is not awaiting approval (or whose approval was already answered). */
export const SAGA_NOT_AWAITING_APPROVAL_FAILURE = 'SagaNotAwaitingApproval';
/** Failure type (the rollback's cause) of a rejected approval. */
export const SAGA_APPROVAL_REJECTED_FAILURE = 'SagaApprovalRejected';
/** Failure type (the rollback's cause) of an approval not answered within its `timeoutMs`. */
export const SAGA_APPROVAL_TIMED_OUT_FAILURE = 'SagaApprovalTimedOut';
