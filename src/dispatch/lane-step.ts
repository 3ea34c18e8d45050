/**
 * The zod-free half of lane-dispatched saga steps, shared by workflow code (the `Saga` helper reads it), the saga
 * worker's dispatch activities (src/dispatch/lane-dispatch.ts) and the lane side that completes the activity
 * (src/dispatch/activity-completion.ts). Deterministic code only: workflow bundles import it.
 *
 * A lane-dispatched activity completes with a `LaneStepResult` envelope: the agent's value plus the lane and the lane
 * task id that ran it. `Saga.step` unwraps it (the step's action sees the agent's value, the `state` query shows
 * `lane` and `taskId`), so a workflow reads the same values whether its steps run in the saga worker or on the lane.
 */

/** The lanes a step can run on (the express lane's `Lane`, repeated here to keep workflow bundles lane-free). */
export type StepLane = 'express' | 'standard';

/** Per-saga priority: which lane the saga's steps are dispatched on. Compensations always use `express`. */
export const SAGA_PRIORITIES = ['express', 'standard'] as const;
export type SagaPriority = (typeof SAGA_PRIORITIES)[number];

/**
 * Marks the extra last argument a workflow passes to a step activity to choose its lane: `reasoning(input,
 * laneHint('express'))`. A dispatch activity reads and strips it; an in-worker activity ignores the extra argument.
 * (An argument rather than Temporal's activity priority: eagerly dispatched activities arrive without their
 * priority, and eager dispatch saves a round trip per step.)
 */
export const LANE_HINT_MARKER = 'sagalaneLane';

export interface LaneHint {
  [LANE_HINT_MARKER]: StepLane;
}

export function laneHint(lane: StepLane): LaneHint {
  return { [LANE_HINT_MARKER]: lane };
}

/** The lane a step's arguments ask for (a trailing `LaneHint`), if any. */
export function hintedLane(args: readonly unknown[]): StepLane | undefined {
  const last = args.length > 1 ? args[args.length - 1] : undefined;
  if (typeof last !== 'object' || last === null || !(LANE_HINT_MARKER in last)) return undefined;
  const lane = (last as LaneHint)[LANE_HINT_MARKER];
  return lane === 'express' || lane === 'standard' ? lane : undefined;
}

/** Property of the envelope that marks a lane-dispatched result (unlikely to clash with an agent's own fields). */
export const LANE_STEP_MARKER = 'sagalaneLaneStep';

/** Where a dispatched step ran. */
export interface LaneStepRef {
  lane: StepLane;
  taskId: string;
  /** The Temporal activity attempt the lane task completed. */
  attempt?: number;
}

/** What a lane-dispatched activity completes with. */
export interface LaneStepResult<T = unknown> {
  [LANE_STEP_MARKER]: LaneStepRef;
  value: T;
}

export function laneStepResult<T>(value: T, ref: LaneStepRef): LaneStepResult<T> {
  return { [LANE_STEP_MARKER]: { ...ref }, value };
}

/**
 * The details a lane task reports a step's cancellation with: where the step was running, so the saga's state names
 * the lane task of a step cancelled mid-run as it does for one that completed.
 */
export function laneStepCancellation(ref: LaneStepRef): { [LANE_STEP_MARKER]: LaneStepRef } {
  return { [LANE_STEP_MARKER]: { ...ref } };
}

/** The lane task a cancelled activity's failure names (its cancellation's details), if a lane task ran it. */
export function cancelledLaneStep(err: unknown): LaneStepRef | undefined {
  const details = (err as { cause?: { details?: unknown } } | undefined)?.cause?.details;
  const first: unknown = Array.isArray(details) ? details[0] : undefined;
  if (typeof first !== 'object' || first === null || !(LANE_STEP_MARKER in first)) return undefined;
  return unwrapLaneStepResult({ [LANE_STEP_MARKER]: (first as Record<string, unknown>)[LANE_STEP_MARKER] })
    .ran;
}

/** Splits an activity result into the agent's value and, for a lane-dispatched step, where it ran. */
export function unwrapLaneStepResult<T>(result: unknown): { value: T; ran?: LaneStepRef } {
  if (typeof result === 'object' && result !== null && LANE_STEP_MARKER in result) {
    const envelope = result as LaneStepResult<T>;
    const ref = envelope[LANE_STEP_MARKER];
    if (ref && typeof ref.taskId === 'string' && (ref.lane === 'express' || ref.lane === 'standard')) {
      const ran: LaneStepRef = { lane: ref.lane, taskId: ref.taskId };
      if (typeof ref.attempt === 'number') ran.attempt = ref.attempt;
      return { value: envelope.value, ran };
    }
  }
  return { value: result as T };
}

/**
 * Unwraps a step activity's result and, when a lane task ran it, records `lane`, `taskId` and the attempt on the
 * step's record (what the `state` query shows). Called where the result arrives: the step-attempt interceptor, and
 * `Saga.step` for workers without it.
 */
export function takeLaneStepResult<T>(
  record: { lane?: StepLane; taskId?: string; attempts: number } | undefined,
  result: unknown,
): T {
  const { value, ran } = unwrapLaneStepResult<T>(result);
  if (ran && record) {
    record.lane = ran.lane;
    record.taskId = ran.taskId;
    if (ran.attempt !== undefined) record.attempts = ran.attempt;
  }
  return value;
}
