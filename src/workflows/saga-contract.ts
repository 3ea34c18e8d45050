/**
 * The saga contract every saga built with the `Saga` helper answers, zod-free so workflow bundles can import it: the
 * `state` query's shape (steps, compensations, error), the cancel update and signal, and the approval updates.
 * Deterministic code only. A particular saga's names and result type live with it (the research pipeline's in
 * ./research/pipeline-definitions.ts).
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { StepLane } from '../dispatch/lane-step';

export const DEFAULT_SAGA_TIMEOUT_MS = 60_000;
export const DEFAULT_APPROVAL_TIMEOUT_MS = 86_400_000;

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

/**
 * What the `state` query returns: `TState` is a lifecycle state or the name of the step running, `TResult` the
 * saga's result (the research pipeline's view is `PipelineStateView`).
 */
export interface SagaStateView<TResult = unknown, TState extends string = string> {
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
export const cancelUpdate = defineUpdate<{ accepted: boolean; state: string }, [string]>('cancel');
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
