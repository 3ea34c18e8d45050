/**
 * The saga worker's lane-dispatch activities for the research pipeline, with the express-lane client they submit
 * through (opened here unless given, closed with the worker), and the plan-cache lookup the workflow runs as a local
 * activity (a hit never reaches the lane). The quick `codegen` step is offered as a local activity (`localSteps`,
 * PIPELINE_AWAITED_STEPS) and runs as an awaited step on the express lane (src/dispatch/lane-dispatch-awaited.ts): that saves each
 * saga a workflow task and an activity round trip.
 */
import {
  ExpressClient,
  createLaneDispatchActivities,
  openRedis,
  stepTaskSchemas,
  type Config,
  type LaneDispatchStep,
  type Logger,
} from '../../core';
import { PIPELINE_DISPATCH_STEPS, pipelineAwaitedSteps } from './pipeline-dispatch-steps';
import { createPlanCacheActivities } from './plan-cache';

export function openLaneDispatch(
  config: Config,
  express: ExpressClient | undefined,
  logger: Logger,
  /** The activities to dispatch (a catalog's `dispatchSteps()`). @defaultValue the research pipeline's */
  steps: Record<string, LaneDispatchStep> = PIPELINE_DISPATCH_STEPS,
): { activities: Record<string, (...args: never[]) => Promise<unknown>>; close(): Promise<void> } {
  const client =
    express ??
    new ExpressClient({
      types: stepTaskSchemas(Object.keys(steps)),
      redisUrl: config.redisUrl,
      keyPrefix: config.keyPrefix,
    });
  // The plan cache and the awaited steps' over-marks are the lane workers' (same SAGALANE_KEY_PREFIX and LLM settings):
  // a differing plan-cache config only misses.
  const redis = openRedis(config.redisUrl, { maxRetriesPerRequest: 3, lazyConnect: true });
  return {
    activities: {
      ...createLaneDispatchActivities({
        express: client,
        steps,
        // Where the lane workers' step-run ledger lives (their `runLedger`: the same Redis and key prefix). Kept with
        // the setting `none` too: a saga that started on a worker offering awaited steps keeps calling them as local
        // activities (its recorded `localSteps` answer) when a worker with awaited steps off continues it.
        awaited: { redis, keyPrefix: config.keyPrefix },
      }),
      localSteps: pipelineAwaitedSteps(config.awaitedSteps),
      ...createPlanCacheActivities({ redis, keyPrefix: config.keyPrefix, llm: config.llm, logger }),
    },
    close: async () => {
      await redis.quit().catch(() => redis.disconnect());
      if (!express) await client.close();
    },
  };
}
