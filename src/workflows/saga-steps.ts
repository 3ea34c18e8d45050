/**
 * A saga's steps, declared once: each step's activity type, its compensation's, the lane it runs on when a worker
 * dispatches it, its activity options, and whether it may run as a local activity. Workflow code calls its steps
 * through `stepActivities(steps)`; the catalog (`defineSaga`, src/catalog) derives the saga worker's dispatch
 * activities and the lane worker's step task types from the same object, so no list of steps is written twice.
 *
 * Zod-free and deterministic: workflow bundles import this module (`sagalane/workflows`).
 */
import {
  ActivityCancellationType,
  proxyActivities,
  proxyLocalActivities,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { StepLane } from '../dispatch/lane-step';

/** One step of a saga; its key in the steps object is the step's activity type. */
export interface SagaStepDeclaration {
  /** Activity type of the step's compensation (registered and dispatched like the step; always on the express lane). */
  compensation?: string;
  /**
   * The lane a lane-dispatching saga worker puts the step on when the workflow passes no `laneHint`.
   * @defaultValue 'standard'
   */
  lane?: StepLane;
  /**
   * Options of the step's activity, over `stepActivities`' defaults: `startToCloseTimeout: '1 minute'`, Temporal's
   * retry policy, and `cancellationType: WAIT_CANCELLATION_COMPLETED`, so a cancelled step's rollback starts once the
   * step really stopped (lane steps heartbeat and stop within ~250 ms; an in-worker activity must heartbeat to notice).
   */
  activity?: ActivityOptions;
  /** Options of the compensation's activity. @defaultValue the step's `activity` options */
  compensationActivity?: ActivityOptions;
  /**
   * The step may also be called as a local activity (`stepActivities(steps, { local: true })`): quick steps save a
   * workflow task and a round trip; on a lane-dispatching worker they run as awaited steps on the express lane.
   * @defaultValue false
   */
  local?: boolean;
}

export type SagaStepsDeclaration = Readonly<Record<string, SagaStepDeclaration>>;

/** An activity type the steps declare: a step or a compensation. */
export interface DeclaredActivity {
  activityType: string;
  /** The step it belongs to (its own name for a step). */
  step: string;
  compensation: boolean;
  /** Where a dispatching worker puts it when the workflow does not say: compensations always `express`. */
  lane: StepLane;
  local: boolean;
}

const ACTIVITY_TYPE = /^[A-Za-z_][A-Za-z0-9_]{0,99}$/;
const DEFAULT_OPTIONS: ActivityOptions = { startToCloseTimeout: '1 minute' };
/** Not Temporal's TRY_CANCEL: the saga compensates a cancelled step only after it stopped, and learns where it ran. */
const STEP_CANCELLATION = ActivityCancellationType.WAIT_CANCELLATION_COMPLETED;

/** What is wrong with a steps declaration, one line per problem (empty when it is valid). */
export function stepsProblems(steps: SagaStepsDeclaration): string[] {
  const problems: string[] = [];
  const names = Object.keys(steps);
  if (names.length === 0) problems.push('a saga declares at least one step');
  const seen = new Map<string, string>();
  for (const name of names) {
    const step = steps[name]!;
    if (!ACTIVITY_TYPE.test(name))
      problems.push(
        `step ${JSON.stringify(name)}: an activity type is a letter or _ then letters, digits or _`,
      );
    if (step.lane !== undefined && step.lane !== 'express' && step.lane !== 'standard')
      problems.push(`step ${name}: lane must be 'express' or 'standard' (got ${JSON.stringify(step.lane)})`);
    for (const [activityType, what] of [
      [name, `step ${name}`],
      ...(step.compensation !== undefined ? [[step.compensation, `the compensation of ${name}`]] : []),
    ] as [string, string][]) {
      const earlier = seen.get(activityType);
      if (earlier) problems.push(`${what} reuses the activity type ${activityType} of ${earlier}`);
      else seen.set(activityType, what);
    }
    if (step.compensation !== undefined && !ACTIVITY_TYPE.test(step.compensation))
      problems.push(
        `step ${name}: compensation ${JSON.stringify(step.compensation)} is not an activity type name`,
      );
  }
  return problems;
}

/** Checks and returns the declaration, typed as written (`as const` not needed). */
export function sagaSteps<const S extends SagaStepsDeclaration>(steps: S): S {
  const problems = stepsProblems(steps);
  if (problems.length) throw new TypeError(`invalid saga steps: ${problems.join('; ')}`);
  return steps;
}

/** Every activity type the steps declare, steps first then compensations, in declaration order. */
export function declaredActivities(steps: SagaStepsDeclaration): DeclaredActivity[] {
  const out: DeclaredActivity[] = [];
  for (const [name, step] of Object.entries(steps)) {
    const local = step.local === true;
    out.push({ activityType: name, step: name, compensation: false, lane: step.lane ?? 'standard', local });
    if (step.compensation !== undefined)
      out.push({ activityType: step.compensation, step: name, compensation: true, lane: 'express', local });
  }
  return out;
}

type ActivityFns = Record<string, (...args: never[]) => Promise<unknown>>;

/**
 * Typed proxies of a saga's steps and compensations for workflow code, each with its declared options (over
 * `defaults`). With `local: true` the steps declared `local` come as local activities (the others as activities).
 *
 * ```ts
 * const act = stepActivities<TicketActivities>(ticketSteps);
 * await saga.step('classify', () => act.classify(ticket), (label) => act.unclassify(label));
 * ```
 */
export function stepActivities<A extends ActivityFns>(
  steps: SagaStepsDeclaration,
  options: { defaults?: ActivityOptions; local?: boolean } = {},
): A {
  const defaults = options.defaults ?? DEFAULT_OPTIONS;
  const proxies: Record<string, unknown> = {};
  for (const [name, step] of Object.entries(steps)) {
    const own = { cancellationType: STEP_CANCELLATION, ...defaults, ...step.activity };
    const asLocal = options.local === true && step.local === true;
    proxies[name] = pick(name, asLocal ? proxyLocalActivities(localOptions(own)) : proxyActivities(own));
    if (step.compensation !== undefined) {
      const comp = { ...own, ...step.compensationActivity };
      proxies[step.compensation] = pick(
        step.compensation,
        asLocal ? proxyLocalActivities(localOptions(comp)) : proxyActivities(comp),
      );
    }
  }
  return proxies as A;
}

function pick(name: string, proxy: Record<string, unknown>): unknown {
  return proxy[name];
}

/** Local activities take the timeouts and retry of an activity, not its queue or heartbeat options. */
function localOptions(o: ActivityOptions) {
  return {
    startToCloseTimeout: o.startToCloseTimeout,
    scheduleToCloseTimeout: o.scheduleToCloseTimeout,
    retry: o.retry,
    cancellationType: o.cancellationType,
  };
}
