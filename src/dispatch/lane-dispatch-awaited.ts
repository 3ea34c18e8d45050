/**
 * Awaited steps (opt-in, SAGALANE_AWAITED_STEPS): the dispatch of a step called as a local activity. It submits the
 * lane task without a task token and waits for the lane task's result, which carries the step's outcome
 * (src/dispatch/activity-completion.ts): the agent's value in its lane envelope, or the failure to rethrow. The step runs
 * on a lane worker as a dispatched one does, but inside its saga's workflow task: no activity task, no
 * async-completion call, no extra workflow task.
 *
 * The edges, with Temporal's local-activity machinery as the retry authority:
 * - a retry is a new attempt, hence a new lane task (idempotency key per attempt, as for dispatched steps);
 * - a saga worker that dies (or restarts) while it waits leaves the step running; the workflow task's retry on another
 *   worker starts the local activity again *at attempt 1* (a local activity's attempts are not recorded until it
 *   ends), submits the same attempt again, finds the same lane task and waits for it. If that task was stopped by a
 *   mark meanwhile (core evicted the run with the step in flight, which cancels it like a saga cancel), the step is
 *   submitted again under a fresh key rather than failed (`MAX_RESUBMITS`);
 * - the wait does not trust the completion channel alone: it reads the task record every `REREAD_MS` too (a message
 *   published while the subscriber reconnects, or dropped by a Cluster slot move, is lost), and a Redis error while
 *   waiting is no verdict on the step: it keeps waiting until the step ends, the local activity is cancelled or its
 *   start-to-close timeout fires;
 * - a cancel or the local activity's timeout: the dispatcher marks the attempt over (`stepCancelKey`), which the lane
 *   side checks before the agent runs and polls while it runs; the agent is aborted, and the dispatch waits for it to
 *   stop before it reports the cancellation (so a rollback starts after the step really stopped), for at most
 *   `CANCEL_WAIT_MS` (a handler that ignores its abort signal may still run when the rollback starts: dispatched
 *   steps wait for it, awaited ones cannot hold the workflow task that long);
 * - the payload carries an absolute deadline (submit time + the local activity's start-to-close timeout): a lane task
 *   still queued when it passed (a backlog, every lane worker down) is dropped without running, so a task of an
 *   abandoned attempt cannot run after the saga retried or rolled back even once the over-mark expired;
 * - a cancel of the saga reaches an awaited step only when its workflow task ends (the SDK holds the task while a
 *   local activity runs, heartbeating it about every 8 s), as for any local activity, and so do queries and updates:
 *   this is why awaited steps are off by default, and meant for quick steps;
 * - the saga worker shutting down does not cancel a local activity (core waits for local activities to finish, its
 *   shutdown grace does not apply to them): the step runs to its end or its start-to-close timeout;
 * - the lane task's result says failed: the failure is rethrown with its type and non-retryable flag, so a
 *   non-retryable agent error fails the step at once; a lane task that ended without a verdict (its handler was cut
 *   off: lane timeout, too many deliveries) is a retryable failure.
 */
import type { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { stepCancelKey } from './activity-step-contract';
import type { StepTaskOutcome } from './activity-completion';
import type { ExpressClient, TaskInfo } from '../lane/express-client';
import type { RedisClient } from '../lane/redis-connections';
import { submitStep, type StepSubmission } from './lane-step-submit';

/** The lane workers' Redis and key prefix: where an awaited step's dispatcher marks its attempt over. */
export interface AwaitedSteps {
  redis: Pick<RedisClient, 'set'>;
  keyPrefix: string;
}

/** How long a cancelled awaited step waits for its agent to stop before the cancellation is reported anyway. */
export const CANCEL_WAIT_MS = 5_000;

/** How often a waiting dispatcher reads its lane task's record, besides waking up on the completion channel. */
export const REREAD_MS = 1_500;

/** How many times a re-run of an attempt submits the step again after finding the earlier run's task stopped. */
export const MAX_RESUBMITS = 3;

/** How long setting the over-mark is retried through Redis errors before the cancel is reported without it. */
export const MARK_RETRY_MS = 2_000;

/** Failure type of an awaited step whose lane task ended without a verdict from its handler. */
export const STEP_LANE_TASK_ENDED_FAILURE = 'StepLaneTaskEnded';

export async function awaitStep(
  express: ExpressClient,
  awaited: AwaitedSteps,
  s: Omit<StepSubmission, 'taskToken' | 'deadlineMs' | 'resubmission'> & { startToCloseMs: number },
  context: Context,
  onDispatched: (taskId: string) => void,
): Promise<unknown> {
  const { startToCloseMs, ...submission } = s;
  const deadlineMs = Date.now() + startToCloseMs;
  let cancel: unknown;
  let stopped = false;
  // `cancelled` never resolves; it rejects on a cancel (the workflow's, an eviction's, or the local activity's timeout).
  const cancelled = context.cancelled.then(
    () => undefined,
    (err: unknown) => {
      cancel = err;
      stopped = true;
    },
  );
  let taskId: string;
  for (let resubmission = 0; ; resubmission++) {
    ({ taskId } = await submitStep(express, { ...submission, deadlineMs, resubmission }));
    onDispatched(taskId);
    const info = await waitForTask(express, taskId, cancelled, () => stopped);
    if (info) {
      const outcome = info.status === 'succeeded' ? (info.result as StepTaskOutcome | undefined) : undefined;
      // Stopped by a mark or its deadline while nobody here cancelled it: the task of an earlier run of this attempt
      // (this worker or another was evicted or died while it waited). The attempt is not over for Temporal: run again.
      const stale = outcome?.activity === 'cancelled' || outcome?.activity === 'dropped';
      if (stale && resubmission < MAX_RESUBMITS) continue;
      return fromOutcome(taskId, info);
    }
    break;
  }
  // The attempt is over for Temporal: the lane side stops the agent (or does not start it) when it sees the mark. It
  // must outlive any run that started before the deadline (a run lasts up to the lane's timeout, `s.timeoutMs`).
  const markTtl = Math.max(0, deadlineMs - Date.now()) + s.timeoutMs + CANCEL_WAIT_MS;
  await markOver(awaited, taskId, markTtl);
  let timer: NodeJS.Timeout | undefined;
  const settled = new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), CANCEL_WAIT_MS)));
  const info = await waitForTask(express, taskId, settled, () => false);
  clearTimeout(timer);
  // A step that finished although it was cancelled did its work: its value is reported, so it gets compensated.
  const outcome = info?.status === 'succeeded' ? (info.result as StepTaskOutcome | undefined) : undefined;
  if (outcome?.activity === 'completed') return outcome.value;
  throw cancel instanceof Error ? cancel : new CancelledFailure('step cancelled');
}

/**
 * The task's record once it ended (`succeeded` or `dead`), or undefined once `stop` settles. Wakes up on the
 * completion channel (`result`) and reads the record every REREAD_MS besides; Redis errors (a reconnect: the
 * client fails fast) only mean "read again shortly".
 */
async function waitForTask(
  express: ExpressClient,
  taskId: string,
  stop: Promise<unknown>,
  isStopped: () => boolean,
): Promise<TaskInfo | undefined> {
  const stopped = stop.then(() => 'stop' as const);
  const pause = async (ms: number) => {
    let timer: NodeJS.Timeout | undefined;
    const r = await Promise.race([
      new Promise<undefined>((ok) => (timer = setTimeout(() => ok(undefined), ms))),
      stopped,
    ]);
    clearTimeout(timer);
    return r;
  };
  let failures = 0;
  while (!isStopped()) {
    const roundEnds = Date.now() + REREAD_MS;
    // result() reads the record after subscribing, wakes on the completion message and rejects after waitMs; a
    // rejection (Redis unavailable, the wait over) only ends this round.
    const woke = await Promise.race([
      express.result(taskId, { waitMs: REREAD_MS }).catch(() => undefined),
      pause(REREAD_MS),
    ]);
    if (woke === 'stop') return undefined;
    if (woke) return woke;
    try {
      const info = await express.get(taskId);
      failures = 0;
      if (info && (info.status === 'succeeded' || info.status === 'dead')) return info;
      // A round that ended early (result() refused at once) still waits its REREAD_MS: no busy loop.
      if ((await pause(Math.max(0, roundEnds - Date.now()))) === 'stop') return undefined;
    } catch {
      // Redis unavailable (the client fails fast while it reconnects): read again, backing off.
      if ((await pause(Math.min(100 * 2 ** failures++, 2_000))) === 'stop') return undefined;
    }
  }
  return undefined;
}

/** Sets the over-mark, retrying a Redis error for a few seconds; a mark that cannot be set does not hide the cancel. */
async function markOver(awaited: AwaitedSteps, taskId: string, ttlMs: number): Promise<void> {
  const key = stepCancelKey(awaited.keyPrefix, taskId);
  const until = Date.now() + MARK_RETRY_MS;
  for (let i = 0; ; i++) {
    try {
      await awaited.redis.set(key, '1', 'PX', Math.ceil(ttlMs));
      return;
    } catch {
      // The task then runs to its end or its deadline: nothing is written to Temporal by it, the cancel stands.
      if (Date.now() >= until) return;
      await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** i, 1_000)));
    }
  }
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
