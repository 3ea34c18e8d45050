/**
 * The research pipeline's agents as lane step handlers (`step.reasoning`, …, `step.compensateBacktest`): what a lane
 * worker serves so that a lane-dispatching saga worker's steps run. Each handler is the agent itself, given the
 * step's abort signal and progress callback (progress becomes the activity's heartbeat details).
 */
import type { AgentHandlers } from './agents';
import { PIPELINE_DISPATCH_STEPS } from './pipeline-dispatch-steps';
import { activityStepTypes, type ActivityStepTypeOptions, type StepHandler, type TaskType } from '../../core';

/** The step handlers of the pipeline's steps and compensations, keyed by activity type. */
export function pipelineStepHandlers(agents: AgentHandlers): Record<string, StepHandler<never>> {
  const handlers: Record<string, StepHandler<never>> = {};
  for (const name of Object.keys(PIPELINE_DISPATCH_STEPS) as (keyof AgentHandlers)[]) {
    const agent = agents[name] as (input: unknown, o: object) => Promise<unknown>;
    handlers[name] = (input: unknown, ctx) =>
      agent(input, { signal: ctx.signal, onProgress: (p: object) => ctx.onProgress({ ...p }) });
  }
  return handlers;
}

/** The step types for the given agents (`createAgents(deps)`), completing activities through `options.completion`. */
export function createPipelineStepTypes(agents: AgentHandlers, options: ActivityStepTypeOptions): TaskType[] {
  return activityStepTypes(pipelineStepHandlers(agents), options);
}
