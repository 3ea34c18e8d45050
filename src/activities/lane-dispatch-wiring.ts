/**
 * The saga worker's lane-dispatch activities for the research pipeline, with the express-lane client they submit
 * through (opened here unless given, closed with the worker).
 */
import type { Config } from '../config';
import { stepTaskSchemas } from '../lane/activity-step-contract';
import { ExpressClient } from '../lane/express-client';
import {
  createLaneDispatchActivities,
  PIPELINE_DISPATCH_STEPS,
  type DispatchActivities,
} from './lane-dispatch';

export function openLaneDispatch(
  config: Config,
  express?: ExpressClient,
): { activities: DispatchActivities; close(): Promise<void> } {
  const client =
    express ??
    new ExpressClient({
      types: stepTaskSchemas(Object.keys(PIPELINE_DISPATCH_STEPS)),
      redisUrl: config.redisUrl,
      keyPrefix: config.keyPrefix,
    });
  return {
    activities: createLaneDispatchActivities({ express: client, steps: PIPELINE_DISPATCH_STEPS }),
    close: async () => {
      if (!express) await client.close();
    },
  };
}
