/**
 * bench:saga's lane-dispatched subject: the same research pipeline with the same near-instant agents, but every step
 * runs on the express lane. A saga worker with the dispatch activities on its own task queue, and a lane worker
 * serving the `step.*` types whose handlers are the fast agents, completing the activities through async
 * completion (with the step-run ledger, `runLedger`, so first runs make no heartbeat before the handler). Start sagas
 * on `taskQueue`; `stop()` closes everything it opened.
 */
import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import type { Client } from '@temporalio/client';
import type { InjectedSinks, NativeConnection } from '@temporalio/worker';
import { createLaneDispatchActivities, PIPELINE_DISPATCH_STEPS } from '../../src/activities/lane-dispatch';
import type { PipelineActivities, PlanCacheActivities } from '../../src/activities/contracts';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/logger';
import { activityStepTypes, type StepHandler } from '../../src/lane/activity-completion';
import { stepTaskSchemas } from '../../src/lane/activity-step-contract';
import { ExpressClient } from '../../src/lane/express-client';
import { ExpressWorker } from '../../src/lane/express-worker';
import { startSagaWorker } from '../../src/runtime/saga-worker';
import type { SagaSinks } from '../../src/workflows/saga-sinks';

export interface LaneSubject {
  taskQueue: string;
  keyPrefix: string;
  stop(): Promise<void>;
}

export async function startLaneDispatchSubject(opts: {
  /** Shared with the bench's other subjects: same server, same worker connection. */
  nativeConnection: NativeConnection;
  client: Client;
  redisUrl: string;
  /** The fast agents (bench/lib/fast-pipeline-activities.ts). */
  agents: PipelineActivities & Partial<PlanCacheActivities>;
  sinks: InjectedSinks<SagaSinks>;
  /** Lane worker slots: at least the sagas in flight, so the lane is not the bottleneck. @defaultValue 128 */
  concurrency?: number;
}): Promise<LaneSubject> {
  const taskQueue = `bench-saga-lane-${randomUUID().slice(0, 8)}`;
  const keyPrefix = `bench-saga-lane-${randomUUID().slice(0, 8)}`;
  const logger = createLogger('error');
  const names = Object.keys(PIPELINE_DISPATCH_STEPS);
  const express = new ExpressClient({ types: stepTaskSchemas(names), redisUrl: opts.redisUrl, keyPrefix });
  const handlers: Record<string, StepHandler<never>> = {};
  for (const name of names) {
    const agent = opts.agents[name as keyof PipelineActivities] as (input: unknown) => Promise<unknown>;
    handlers[name] = (input: unknown) => agent(input);
  }
  const concurrency = opts.concurrency ?? 128;
  // The step-run ledger: first runs skip the heartbeat that checks the attempt before the handler.
  const ledgerRedis = new Redis(opts.redisUrl);
  const lane = new ExpressWorker({
    types: activityStepTypes(handlers, {
      completion: opts.client.activity,
      logger,
      runLedger: { redis: ledgerRedis, keyPrefix },
    }),
    redisUrl: opts.redisUrl,
    keyPrefix,
    concurrency: { min: concurrency, max: concurrency },
    autoscaleIntervalMs: 0,
    logger,
  });
  await lane.start();
  const sagaWorker = await startSagaWorker({
    config: loadConfig({ SAGALANE_LOG_LEVEL: 'error' }),
    connection: opts.nativeConnection,
    taskQueue,
    // As the shipped lane-dispatch wiring: the plan-cache lookup runs in the saga worker (a local activity).
    activities: {
      ...createLaneDispatchActivities({ express, steps: PIPELINE_DISPATCH_STEPS }),
      ...(opts.agents.cachedPlan ? { cachedPlan: opts.agents.cachedPlan } : {}),
    },
    sinks: opts.sinks,
    logger,
  });
  return {
    taskQueue,
    keyPrefix,
    async stop() {
      await sagaWorker.stop();
      await lane.stop();
      await express.close();
      ledgerRedis.disconnect();
    },
  };
}
