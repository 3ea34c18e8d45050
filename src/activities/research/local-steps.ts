/**
 * The local activities the research pipeline calls on every worker that runs it: `cachedPlan` (src/activities/
 * plan-cache.ts) and `localSteps` (LOCAL_STEP_CANDIDATES in ./contracts). Every such worker must register both:
 * the SDK fails an unregistered local activity at once on first execution but, on replay, waits for the marker that
 * was never written, a nondeterminism error (node_modules/@temporalio/workflow/lib/workflow.js,
 * `scheduleLocalActivityNextHandler`). So the pipeline lets that first failure fail its workflow task, loudly, and
 * `startSagaWorker` registers these answers-nothing defaults for whatever its activities lack.
 */
import type { LocalStepsActivities, PlanCacheActivities } from './contracts';

/** No plan cache, no local steps: every step an activity, as without these local activities. */
export const NO_PIPELINE_LOCAL_ACTIVITIES: PlanCacheActivities & LocalStepsActivities = {
  async cachedPlan() {
    return null;
  },
  async localSteps() {
    return [];
  },
};

/** `activities` with the pipeline's local activities filled in where missing (never replacing one it has). */
export function withPipelineLocalActivities<A extends object>(
  activities: A,
): A & Partial<PlanCacheActivities & LocalStepsActivities> {
  return { ...NO_PIPELINE_LOCAL_ACTIVITIES, ...activities };
}
