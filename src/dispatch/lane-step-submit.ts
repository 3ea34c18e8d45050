/**
 * Submitting one step attempt as a lane task: shared by the dispatched steps (./lane-dispatch.ts, a task token, async
 * completion) and the awaited ones (./lane-dispatch-awaited.ts, no token, the dispatcher waits for the result).
 */
import { ApplicationFailure } from '@temporalio/common';
import {
  STEP_TASK_MAX_ATTEMPTS,
  stepIdempotencyKey,
  stepTaskType,
  type StepActivityRef,
  type StepTaskPayload,
} from './activity-step-contract';
import {
  IdempotencyConflictError,
  InvalidPayloadError,
  PayloadTooLargeError,
  UnknownTaskTypeError,
} from '../lane/errors';
import type { ExpressClient } from '../lane/express-client';
import type { Lane } from '../lane/keys';

/** Failure type of a dispatch the lane refused (unknown step type, payload too large or invalid). */
export const STEP_DISPATCH_REFUSED_FAILURE = 'StepDispatchRefused';

export interface StepSubmission {
  activityType: string;
  lane: Lane;
  input: unknown;
  /** The activity's arguments after the first (see `StepTaskPayload.moreArgs`). @defaultValue none */
  moreArgs?: readonly unknown[];
  /** Absent for an awaited step. */
  taskToken?: Uint8Array;
  activity: StepActivityRef;
  timeoutMs: number;
  /** An awaited step's absolute deadline (epoch ms): the lane drops the task if it has not started by then. */
  deadlineMs?: number;
  /**
   * An awaited step submitted again for the same attempt (its earlier task was stopped by a mark, see
   * ./lane-dispatch-awaited.ts): 1, 2, … give the submission a key of its own. @defaultValue 0
   */
  resubmission?: number;
}

/**
 * Submits one activity attempt as a lane task, idempotently per attempt (see `stepIdempotencyKey`). Refusals that
 * cannot change by retrying (unknown step type, invalid or oversized payload) fail the activity non-retryably; Redis
 * trouble stays retryable (Temporal retries the dispatch with backoff).
 */
export async function submitStep(express: ExpressClient, s: StepSubmission): Promise<{ taskId: string }> {
  const payload: StepTaskPayload = {
    ...(s.taskToken ? { taskToken: Buffer.from(s.taskToken).toString('base64') } : {}),
    lane: s.lane,
    activity: s.activity,
    input: s.input,
    ...(s.moreArgs?.length ? { moreArgs: [...s.moreArgs] } : {}),
    ...(s.deadlineMs !== undefined ? { deadlineMs: s.deadlineMs } : {}),
  };
  try {
    return await express.submit({
      type: stepTaskType(s.activityType),
      lane: s.lane,
      payload,
      idempotencyKey: stepIdempotencyKey(s.activity, s.resubmission),
      maxAttempts: STEP_TASK_MAX_ATTEMPTS,
      timeoutMs: s.timeoutMs,
    });
  } catch (err) {
    // An awaited step submitted again for the same attempt (a re-run of its local activity) differs from the first
    // submission only by its deadline (the attempt and input are the workflow's, deterministic): the first task is
    // this attempt's, and keeps the first deadline.
    if (err instanceof IdempotencyConflictError && s.taskToken === undefined)
      return { taskId: err.firstTaskId };
    if (
      err instanceof UnknownTaskTypeError ||
      err instanceof InvalidPayloadError ||
      err instanceof PayloadTooLargeError
    ) {
      throw ApplicationFailure.nonRetryable(
        `step ${s.activityType} cannot go on the lane: ${err.message}`,
        STEP_DISPATCH_REFUSED_FAILURE,
      );
    }
    throw err;
  }
}
