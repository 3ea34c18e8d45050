/**
 * `steps[].attempts`: the Temporal activity attempt that finished a saga step. A workflow never learns an activity's
 * attempt from its result, so two interceptors carry it:
 * - this workflow outbound interceptor (bundled: the worker lists this module in `interceptors.workflowModules`, a
 *   prebuilt bundle in `workflowInterceptorModules`) marks activities scheduled inside a saga step with the header
 *   `sagalane-step-attempt` and unwraps the answer;
 * - the activity interceptor (`stepAttemptActivityInterceptor`, src/runtime/step-attempt-interceptor.ts) answers a
 *   marked activity with `{ [STEP_ATTEMPT_ENVELOPE]: attempt, value }`.
 * Either one missing degrades to `attempts: 1`, never to a wrong result. Local activities need no attempt envelope:
 * their attempts are counted in the workflow; an awaited lane step's lane envelope is unwrapped for them too. Deterministic workflow code only.
 */
import {
  CancellationScope,
  defaultPayloadConverter,
  type ActivityInput,
  type LocalActivityInput,
  type Next,
  type WorkflowInterceptors,
  type WorkflowOutboundCallsInterceptor,
} from '@temporalio/workflow';
import { cancelledLaneStep, takeLaneStepResult } from '../dispatch/lane-step';
import type { StepRecord } from './saga-contract';

export const STEP_ATTEMPT_HEADER = 'sagalane-step-attempt';
export const STEP_ATTEMPT_ENVELOPE = '__sagalaneStepAttempt';

/** Each step's action runs in a scope of its own; activities scheduled in it (or below it) belong to the step. */
const stepOfScope = new WeakMap<CancellationScope, StepRecord>();
/** Where the lane ran a compensation: filled in by the interceptor, read by the compensation runner. */
export interface CompensationRun {
  attempts: number;
  lane?: StepRecord['lane'];
  taskId?: string;
}
const compensationOfScope = new WeakMap<CancellationScope, CompensationRun>();

/**
 * The steps running outside any parallel group, per workflow run, innermost last (a run's steps outside groups run
 * one at a time, or one inside another's action, so an activity scheduled meanwhile serves the innermost). Keyed by
 * the run's root cancellation scope, not held in a variable: nothing depends on whether runs on one thread share
 * this module, and a run evicted mid-step leaves nothing behind.
 */
const soleStepsOfRun = new WeakMap<CancellationScope, StepRecord[]>();

function runScope(): CancellationScope {
  let scope = CancellationScope.current();
  while (scope.parent) scope = scope.parent;
  return scope;
}

/**
 * Runs a step's action so the interceptor can tell which step an activity serves. Inside a parallel group, where
 * steps run side by side, the action gets a cancellation scope of its own; outside one the step is simply the run's
 * running step until `stepEnded` (a scope per step was ~10 % of a saga's workflow CPU: three promises, each with the
 * SDK's stack-trace hook, and an AsyncLocalStorage run). Activities scheduled by a signal or update handler while a
 * step runs count as that step's.
 */
export function runAsStep<T>(record: StepRecord, action: () => Promise<T>, inGroup: boolean): Promise<T> {
  if (inGroup) {
    const scope = new CancellationScope();
    stepOfScope.set(scope, record);
    return scope.run(action);
  }
  const run = runScope();
  const running = soleStepsOfRun.get(run);
  if (running) running.push(record);
  else soleStepsOfRun.set(run, [record]);
  return action();
}

/** The step finished (or failed): activities scheduled from now on are not its. */
export function stepEnded(record: StepRecord): void {
  const running = soleStepsOfRun.get(runScope());
  const at = running?.lastIndexOf(record) ?? -1;
  if (at >= 0) running!.splice(at, 1);
}

/**
 * Runs a compensation in its own cancellation scope (a child of the rollback's, so as little cancellable as it), so
 * the interceptor can record the lane task of a lane-dispatched compensation activity in `run`.
 */
export function runAsCompensation<T>(run: CompensationRun, compensation: () => Promise<T>): Promise<T> {
  const scope = new CancellationScope();
  compensationOfScope.set(scope, run);
  return scope.run(compensation);
}

function currentCompensation(): CompensationRun | undefined {
  for (let scope: CancellationScope | undefined = CancellationScope.current(); scope; scope = scope.parent) {
    const run = compensationOfScope.get(scope);
    if (run) return run;
  }
  return undefined;
}

function currentStep(): StepRecord | undefined {
  for (let scope: CancellationScope | undefined = CancellationScope.current(); scope; scope = scope.parent) {
    const record = stepOfScope.get(scope);
    if (record) return record;
  }
  // A compensation's activity is never a step's, even if a step somehow still counted as running.
  if (currentCompensation()) return undefined;
  return soleStepsOfRun.get(runScope())?.at(-1);
}

export function unwrapStepAttempt(value: unknown): { attempt?: number; value: unknown } {
  if (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Record<string, unknown>)[STEP_ATTEMPT_ENVELOPE] === 'number'
  ) {
    const envelope = value as { [STEP_ATTEMPT_ENVELOPE]: number; value?: unknown };
    return { attempt: envelope[STEP_ATTEMPT_ENVELOPE], value: envelope.value };
  }
  return { value };
}

// `then` rather than `async`/`await`: one promise per activity instead of two, each of which the SDK's stack-trace
// hook costs (see `Saga.step`).
class StepAttemptOutbound implements WorkflowOutboundCallsInterceptor {
  scheduleActivity(
    input: ActivityInput,
    next: Next<WorkflowOutboundCallsInterceptor, 'scheduleActivity'>,
  ): Promise<unknown> {
    const record = currentStep();
    // A lane-dispatched activity (a compensation too) answers with a lane envelope: unwrap it here as well, and for
    // a compensation note the lane task that ran it.
    if (!record) {
      const compensation = currentCompensation();
      return next(input).then((value) => takeLaneStepResult(compensation, value));
    }
    const headers = { ...input.headers, [STEP_ATTEMPT_HEADER]: defaultPayloadConverter.toPayload(1) };
    return next({ ...input, headers }).then(
      (answer) => {
        const { attempt, value } = unwrapStepAttempt(answer);
        if (attempt !== undefined) record.attempts = attempt;
        return takeLaneStepResult(record, value);
      },
      (err: unknown) => {
        // A lane task reports a step it stopped on a cancel with where it ran: the state names that lane task too.
        const ran = cancelledLaneStep(err);
        if (ran) {
          record.lane = ran.lane;
          record.taskId = ran.taskId;
        }
        throw err;
      },
    );
  }

  scheduleLocalActivity(
    input: LocalActivityInput,
    next: Next<WorkflowOutboundCallsInterceptor, 'scheduleLocalActivity'>,
  ): Promise<unknown> {
    const record = currentStep();
    // An awaited lane step (a local activity that ran as a lane task, src/dispatch/lane-dispatch-awaited.ts) answers
    // with a lane envelope like a dispatched activity: unwrap it, and for a compensation note the lane task too.
    if (!record) {
      const compensation = currentCompensation();
      return next(input).then((value) => takeLaneStepResult(compensation, value));
    }
    return next(input).then((value) => {
      record.attempts = input.attempt;
      return takeLaneStepResult(record, value);
    });
  }
}

export const interceptors = (): WorkflowInterceptors => ({ outbound: [new StepAttemptOutbound()] });
