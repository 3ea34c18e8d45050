/**
 * Which of the research pipeline's activities a lane-dispatching saga worker hands to the lane, which are
 * compensations (always on the express lane), and which quick steps it offers as awaited steps (local activities).
 */
import { dispatchStepsOf, type LaneDispatchStep } from '../../core';
import { PIPELINE_SAGA_STEPS } from '../../workflows/research/pipeline-definitions';
import { LOCAL_STEP_CANDIDATES, type LocalStep } from './contracts';

/** Activity types of the research pipeline and whether each is a compensation (from its steps declaration). */
export const PIPELINE_DISPATCH_STEPS: Record<string, LaneDispatchStep> = dispatchStepsOf(PIPELINE_SAGA_STEPS);

/** Which steps a lane-dispatching worker offers as awaited steps (SAGALANE_AWAITED_STEPS; `all`: with compensations). */
export type AwaitedStepsSetting = 'none' | 'codegen' | 'all';

/**
 * The research pipeline's quick steps that a lane-dispatching worker offers as local activities, awaited steps on the
 * express lane, for each setting. Off by default (`none`): an awaited step holds its saga's workflow task, so a
 * cancel (and a query or update) reaches the saga only when that task ends or is heartbeated (~8 s), not within the
 * 1 s a dispatched step's cancel takes; and it needs lane workers that know tokenless tasks (docs/SAGAS.md). The
 * workflow's step-attempt interceptor unwraps their lane envelopes, so the `state` query names each one's lane task.
 */
export const PIPELINE_AWAITED_STEPS: Record<AwaitedStepsSetting, readonly LocalStep[]> = {
  none: [],
  codegen: ['codegen'],
  all: LOCAL_STEP_CANDIDATES,
};

/**
 * The `localSteps` local activity of a lane-dispatching worker: its answer is recorded in the saga's history (a
 * marker), so a saga keeps the answer it got when it started, whatever the setting of the worker that replays it.
 */
export function pipelineAwaitedSteps(setting: AwaitedStepsSetting): () => Promise<LocalStep[]> {
  const steps = PIPELINE_AWAITED_STEPS[setting];
  return async function localSteps() {
    return [...steps];
  };
}
