/**
 * Worker half of `steps[].attempts` (the workflow half and the why: src/workflows/step-attempts.ts): an activity
 * scheduled inside a saga step carries the header `sagalane-step-attempt`; its result goes back wrapped with the
 * attempt that produced it, and the workflow interceptor unwraps it before the step sees it.
 */
import { Context } from '@temporalio/activity';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { STEP_ATTEMPT_ENVELOPE, STEP_ATTEMPT_HEADER } from '../workflows/step-attempts';

export const stepAttemptActivityInterceptor: ActivityInterceptorsFactory = () => ({
  inbound: {
    async execute(input, next) {
      const value = await next(input);
      if (!input.headers[STEP_ATTEMPT_HEADER]) return value;
      return { [STEP_ATTEMPT_ENVELOPE]: Context.current().info.attempt, value };
    },
  },
});

/** The workflow interceptor module to bundle (`workflowModules` / `workflowInterceptorModules`). */
export const STEP_ATTEMPT_WORKFLOW_MODULE = require.resolve('../workflows/step-attempts');
