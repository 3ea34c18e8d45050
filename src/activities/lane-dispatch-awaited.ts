/**
 * Awaited steps: the dispatch of a step called as a local activity. It submits the lane task without a task token and
 * waits for the lane task's result (the lane's completion channel, `ExpressClient.result`), which carries the step's
 * outcome (src/lane/activity-completion.ts): the agent's value in its lane envelope, or the failure to rethrow. The
 * step runs on a lane worker as a dispatched one does, but inside its saga's workflow task: no activity task, no
 * async-completion call, no extra workflow task.
 *
 * The edges, with Temporal's local-activity machinery as the retry authority:
 * - a retry is a new attempt, hence a new lane task (idempotency key per attempt, as for dispatched steps); a saga
 *   worker that dies while it waits leaves the step running, and the workflow task's retry on another worker submits
 *   the same attempt again, finds the same lane task and waits for it;
 * - a cancel or the local activity's timeout: the dispatcher marks the attempt over (`stepCancelKey`), which the lane
 *   side polls while the agent runs; the agent is aborted, and the dispatch waits for it to stop before it reports the
 *   cancellation (so a rollback starts after the step really stopped), for at most `CANCEL_WAIT_MS`; the saga
 *   worker shutting down is no such cancel (the step goes on, see above);
 * - a cancel of the saga reaches an awaited step only when its workflow task ends (the SDK holds the task while a
 *   local activity runs, heartbeating it about every 8 s), as for any local activity: awaited steps are for quick
 *   steps; long ones stay dispatched activities, whose cancel reaches the lane within a heartbeat;
 * - the lane task's result says failed: the failure is rethrown with its type and non-retryable flag, so a
 *   non-retryable agent error fails the step at once; a lane task that ended without a verdict (its handler was cut
 *   off: lane timeout, too many deliveries) is a retryable failure.
 */
import type { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { stepCancelKey } from '../lane/activity-step-contract';
import type { StepTaskOutcome } from '../lane/activity-completion';
import type { ExpressClient, TaskInfo } from '../lane/express-client';
import type { RedisClient } from '../lane/redis-connections';
import { submitStep, type StepSubmission } from './lane-dispatch';

/** The lane workers' Redis and key prefix: where an awaited step's dispatcher marks its attempt over. */
export interface AwaitedSteps {
  redis: Pick<RedisClient, 'set'>;
  keyPrefix: string;
}

/** How long a cancelled awaited step waits for its agent to stop before the cancellation is reported anyway. */
export const CANCEL_WAIT_MS = 5_000;

/** Failure type of an awaited step whose lane task ended without a verdict from its handler. */
export const STEP_LANE_TASK_ENDED_FAILURE = 'StepLaneTaskEnded';

export async function awaitStep(
  express: ExpressClient,
  awaited: AwaitedSteps,
  s: Omit<StepSubmission, 'taskToken'>,
  context: Context,
  onDispatched: (taskId: string) => void,
): Promise<unknown> {
  const { taskId } = await submitStep(express, s);
  onDispatched(taskId);
  const result = express.result(taskId, { waitMs: s.timeoutMs });
  // `cancelled` never resolves; it rejects on a cancel (the workflow's, or the local activity's own timeout).
  const stopped = context.cancelled.then(
    () => undefined,
    (err: unknown) => err,
  );
  const first = await Promise.race([
    result.then((info) => ({ info })),
    stopped.then((cancel) => ({ cancel })),
  ]);
  if ('info' in first) return fromOutcome(taskId, first.info);
  // This worker is shutting down: the attempt is not over. The step goes on on the lane, and the workflow task's retry
  // on another worker submits the same attempt and waits for the same lane task.
  if (first.cancel instanceof CancelledFailure && first.cancel.message === 'WORKER_SHUTDOWN')
    throw first.cancel;
  // The attempt is over for Temporal: the lane side stops the agent (or does not start it) when it sees the mark.
  await awaited.redis.set(stepCancelKey(awaited.keyPrefix, taskId), '1', 'PX', s.timeoutMs + CANCEL_WAIT_MS);
  let timer: NodeJS.Timeout | undefined;
  const info = await Promise.race([
    result.catch(() => undefined),
    new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), CANCEL_WAIT_MS))),
  ]);
  clearTimeout(timer);
  // A step that finished although it was cancelled did its work: its value is reported, so it gets compensated.
  const outcome = info?.status === 'succeeded' ? (info.result as StepTaskOutcome | undefined) : undefined;
  if (outcome?.activity === 'completed') return outcome.value;
  throw first.cancel instanceof Error ? first.cancel : new CancelledFailure('step cancelled');
}

/** The step's value, or its failure thrown, from the lane task's record. */
function fromOutcome(taskId: string, info: TaskInfo): unknown {
  const outcome = info.status === 'succeeded' ? (info.result as StepTaskOutcome | undefined) : undefined;
  switch (outcome?.activity) {
    case 'completed':
      return outcome.value;
    case 'failed':
      throw ApplicationFailure.create({
        message: outcome.error ?? 'step failed',
        type: outcome.failureType,
        nonRetryable: outcome.nonRetryable === true,
        details: outcome.details,
      });
    case 'cancelled':
    case 'dropped':
      throw new CancelledFailure(
        `step stopped on the lane (lane task ${taskId}): ${outcome.error ?? outcome.activity}`,
      );
    default:
      throw ApplicationFailure.retryable(
        `lane task ${taskId} ended ${info.status} without a step outcome${info.error ? `: ${info.error}` : ''}`,
        STEP_LANE_TASK_ENDED_FAILURE,
      );
  }
}
