/**
 * The lane task that carries one Temporal activity attempt to a lane worker: its task type names, payload schema and
 * idempotency key. The saga worker's dispatch activities (src/dispatch/lane-dispatch.ts) submit these; the lane
 * side (./activity-completion.ts) runs the agent and completes the activity with the task token.
 */
import { z } from 'zod';
import { LANES } from '../lane/keys';
import { DEFAULT_TASK_TYPE_DEFAULTS, type TaskSchema } from '../lane/task-types';

/** Task types of lane-dispatched steps are `step.<activity type>`, e.g. `step.reasoning`, `step.compensateMl`. */
export const STEP_TASK_TYPE_PREFIX = 'step.';

export function stepTaskType(activityType: string): string {
  return `${STEP_TASK_TYPE_PREFIX}${activityType}`;
}

/** The activity attempt a lane task completes (for logs, `task get` and the idempotency key). */
export const stepActivityRefSchema = z.object({
  workflowId: z.string().min(1),
  runId: z.string().min(1),
  activityId: z.string().min(1),
  activityType: z.string().min(1),
  attempt: z.number().int().min(1),
});
export type StepActivityRef = z.infer<typeof stepActivityRefSchema>;

export const stepTaskPayloadSchema = z
  .object({
    /**
     * The activity's task token, base64: what the lane worker completes, fails or cancels the activity with. Absent
     * for an awaited step (a local activity's dispatch, which has no task token the server knows): the lane task's
     * own result then carries the step's outcome and the dispatcher waits for it.
     */
    taskToken: z.string().min(1).max(16_384).optional(),
    /** The lane the dispatcher chose (the handler reports it back with the result). */
    lane: z.enum(LANES),
    activity: stepActivityRefSchema,
    /** The activity's (first) argument, validated by the agent itself (its own schema). */
    input: z.unknown(),
    /**
     * The arguments after the first, for an activity the workflow calls with several (the trailing `laneHint` is not
     * one of them). Absent when there is one argument, as lane workers before this field expect.
     */
    moreArgs: z.array(z.unknown()).max(64).optional(),
    /**
     * An awaited step's absolute deadline (epoch ms: its dispatch's submit time + the local activity's start-to-close
     * timeout): a run that starts after it drops the task without running the agent (the attempt is over for
     * Temporal, whatever became of the over-mark). Lane and saga workers' clocks are assumed close (NTP).
     */
    deadlineMs: z.number().int().positive().optional(),
  })
  .strict();
export type StepTaskPayload = z.infer<typeof stepTaskPayloadSchema>;

/**
 * Where the dispatcher of an awaited step marks its attempt over (cancelled, timed out: it stopped waiting): the lane
 * side polls it while the agent runs, and checks it before a run, so an abandoned step stops and a rerun of one does
 * not run the agent again.
 */
export function stepCancelKey(keyPrefix: string, taskId: string): string {
  return `${keyPrefix}:step-cancel:${taskId}`;
}

/**
 * One lane task per activity attempt: a dispatch that runs again for the same attempt (its submit retried after a
 * lost reply, a duplicate delivery) finds the first task. A Temporal retry is a new attempt with a new task token, so
 * it gets its own task; the old attempt's task, if it still runs, finds its token dead and writes nothing.
 */
export function stepIdempotencyKey(ref: StepActivityRef, resubmission = 0): string {
  const key = `step:${ref.workflowId}:${ref.runId}:${ref.activityId}:${ref.attempt}`;
  // An awaited step submitted again for the same attempt after its earlier task was stopped (lane-dispatch-awaited).
  return resubmission > 0 ? `${key}:again-${resubmission}` : key;
}

/**
 * The lane never retries a step (Temporal is its one retry authority): one run per delivery. A worker that dies
 * mid-step is still covered, since the lane reclaims and reruns entries by delivery, not by attempt.
 */
export const STEP_TASK_MAX_ATTEMPTS = 1;

/** Schema-only entries for a producer (the dispatch activities' ExpressClient). */
export function stepTaskSchemas(activityTypes: Iterable<string>): TaskSchema[] {
  return [...activityTypes].map((activityType) => ({
    name: stepTaskType(activityType),
    schema: stepTaskPayloadSchema as z.ZodType,
    defaults: { ...DEFAULT_TASK_TYPE_DEFAULTS, maxAttempts: STEP_TASK_MAX_ATTEMPTS },
  }));
}
