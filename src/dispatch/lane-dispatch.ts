/**
 * Thin dispatch activities: registered in the saga worker under the activity types a workflow already calls
 * (`reasoning`, `compensateMl`, …), each submits a lane task carrying its task token and input, then hands
 * completion off (`CompleteAsyncError`). A lane worker runs the agent and completes the activity
 * (src/dispatch/activity-completion.ts). The workflow code does not change: which steps go through the lane is the saga
 * worker's choice, so histories recorded with in-worker activities replay unchanged.
 *
 * Lane choice: compensations always go on the express lane (a rollback never waits behind bulk work); a step goes on
 * the lane its workflow asked for with a trailing `laneHint(lane)` argument (`researchPipeline` passes
 * `laneHint('express')` for `priority: 'express'` sagas), otherwise on the step's declared lane (`standard` unless
 * its declaration says `lane: 'express'`).
 *
 * Awaited steps (opt-in, SAGALANE_AWAITED_STEPS): the same activity called as a local activity (a worker offers its
 * quick steps as local ones, as the research pipeline's `localSteps` does) cannot hand completion off, as a local activity has no task token the server
 * knows. Its dispatch submits the lane task without a token and waits for the lane task's result instead
 * (./lane-dispatch-awaited.ts): the step still runs on a lane worker, but inside the saga's workflow task, which saves
 * the step its own workflow task and activity round trip, but a cancel then waits for that workflow task (see
 * PIPELINE_AWAITED_STEPS). Awaited steps always go on the express lane: they hold their saga's workflow task while
 * they wait.
 */
import { CompleteAsyncError, Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { StepActivityRef } from './activity-step-contract';
import type { ExpressClient } from '../lane/express-client';
import type { Lane } from '../lane/keys';
import { hintedLane } from './lane-step';
import { awaitStep, type AwaitedSteps } from './lane-dispatch-awaited';
import { STEP_DISPATCH_REFUSED_FAILURE, submitStep } from './lane-step-submit';

export { STEP_DISPATCH_REFUSED_FAILURE, submitStep, type StepSubmission } from './lane-step-submit';

/** How one activity type is dispatched. */
export interface LaneDispatchStep {
  /**
   * A compensation: always dispatched on the express lane, whatever the saga's priority.
   * @defaultValue false
   */
  compensation?: boolean;
  /**
   * The lane of a step (not a compensation) whose workflow passes no `laneHint`: the declared `lane` of the step.
   * @defaultValue 'standard'
   */
  lane?: Lane;
}

export interface LaneDispatchOptions {
  /** Submits the lane tasks; must know the `step.<activity>` types (`stepTaskSchemas(names)`). */
  express: ExpressClient;
  /** Activity type → how it is dispatched. Only these become dispatch activities (per-step opt-in). */
  steps: Record<string, LaneDispatchStep>;
  /**
   * Extra time the lane gives a step beyond its activity's start-to-close timeout before the lane itself stops it
   * (Temporal's timeout is the authority and fires first; the lane's limit only frees a slot held by a lost step).
   * @defaultValue 30000
   */
  laneTimeoutGraceMs?: number;
  /** Called once a step is on the lane (metrics, logs). */
  onDispatched?: (event: { activityType: string; lane: Lane; taskId: string }) => void;
  /**
   * Where awaited steps (local activities) mark an attempt over, so the lane side stops its agent: the lane workers'
   * Redis and key prefix (their `runLedger`). Without it a local activity's dispatch is refused (non-retryable).
   * @defaultValue none
   */
  awaited?: AwaitedSteps;
}

export type DispatchActivities = Record<string, (input: unknown, ...rest: unknown[]) => Promise<never>>;

export function createLaneDispatchActivities(options: LaneDispatchOptions): DispatchActivities {
  const grace = options.laneTimeoutGraceMs ?? 30_000;
  if (!Number.isInteger(grace) || grace < 0) {
    throw new RangeError(`laneTimeoutGraceMs must be a non-negative integer (got ${grace})`);
  }
  const activities: DispatchActivities = {};
  for (const [activityType, step] of Object.entries(options.steps)) {
    const dispatch = async (...args: unknown[]): Promise<never> => {
      const context = Context.current();
      const info = context.info;
      // Every argument the workflow passed reaches the lane, but the trailing lane hint (only the dispatch reads it).
      const hinted = hintedLane(args);
      const stepArgs = hinted === undefined ? args : args.slice(0, -1);
      const input = stepArgs[0];
      const moreArgs = stepArgs.slice(1);
      if (info.isLocal) {
        if (!options.awaited) {
          throw ApplicationFailure.nonRetryable(
            `step ${activityType} was called as a local activity, but this worker has no awaited-step store (awaited)`,
            STEP_DISPATCH_REFUSED_FAILURE,
          );
        }
        const submission = {
          activityType,
          lane: 'express' as const,
          input,
          moreArgs,
          activity: activityRef(info),
          timeoutMs: info.startToCloseTimeoutMs + grace,
          startToCloseMs: info.startToCloseTimeoutMs,
        };
        return (await awaitStep(options.express, options.awaited, submission, context, (taskId) =>
          options.onDispatched?.({ activityType, lane: 'express', taskId }),
        )) as never;
      }
      const lane: Lane = step.compensation ? 'express' : (hinted ?? step.lane ?? 'standard');
      const { taskId } = await submitStep(options.express, {
        activityType,
        lane,
        input,
        moreArgs,
        taskToken: info.taskToken,
        activity: activityRef(info),
        timeoutMs: info.startToCloseTimeoutMs + grace,
      });
      options.onDispatched?.({ activityType, lane, taskId });
      throw new CompleteAsyncError();
    };
    Object.defineProperty(dispatch, 'name', { value: activityType });
    activities[activityType] = dispatch;
  }
  return activities;
}

function activityRef(info: Context['info']): StepActivityRef {
  const execution = info.workflowExecution;
  if (!execution) {
    throw ApplicationFailure.nonRetryable(
      `activity ${info.activityType} has no workflow: lane dispatch serves workflow activities only`,
      STEP_DISPATCH_REFUSED_FAILURE,
    );
  }
  return {
    workflowId: execution.workflowId,
    runId: execution.runId,
    // Local activities count their ids apart from activities (both start at 1): `local-3` is not activity 3.
    activityId: info.isLocal ? `local-${info.activityId}` : info.activityId,
    activityType: info.activityType,
    attempt: info.attempt,
  };
}
