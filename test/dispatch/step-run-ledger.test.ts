/**
 * Only reruns of step tasks check their attempt before the handler: a first delivery (the lane's `ctx.redelivered`
 * false) skips the heartbeat (one Temporal call per step saved) and still writes the step-run ledger for older lane
 * workers; a rerun the ledger or the lane marks makes it, and a rerun of a step whose activity another run already
 * completed does not run the agent again.
 */
import type Redis from 'ioredis';
import type { AsyncCompletionClient } from '@temporalio/client';
import { createLogger } from '../../src/logger';
import { activityStepTypes } from '../../src/dispatch/activity-completion';
import type { ExpressClient } from '../../src/lane/express-client';
import { ExpressWorker } from '../../src/lane/express-worker';
import type { TaskType } from '../../src/lane/task-types';
import { deleteKeys, redisClient, redisUrl, uniquePrefix } from '../helpers/redis';
import { temporalTestContext, uniqueTaskQueue, type TemporalTestContext } from '../helpers/temporal';
import { queryState, startPipeline } from '../sagas/saga-test-kit';
import { startDispatchingSagaWorker, stepClient } from './dispatch-kit';
import { createTestStepHandlers, recordedRuns } from './fixtures/step-handlers';

describe('step runs: only reruns check their attempt before the handler', () => {
  let ctx: TemporalTestContext;
  let redis: Redis;
  let express: ExpressClient;
  let laneWorker: ExpressWorker;
  let types: TaskType[];
  const prefix = uniquePrefix('dispatch-ledger');
  const taskQueue = uniqueTaskQueue('dispatch-ledger');
  const heartbeats: string[] = [];
  /** taskId → the payload its first run got, to run the same lane task again. */
  const payloads = new Map<string, unknown>();

  beforeAll(async () => {
    ctx = await temporalTestContext();
    redis = redisClient();
    express = stepClient(prefix);
    await startDispatchingSagaWorker(ctx, taskQueue, express);
    const real = ctx.client.activity;
    const completion = new Proxy(real, {
      get(target, prop, receiver) {
        if (prop === 'heartbeat') {
          return (token: Uint8Array, details?: unknown) => {
            heartbeats.push(Buffer.from(token).toString('base64'));
            return target.heartbeat(token, details);
          };
        }
        const value = Reflect.get(target, prop, receiver) as unknown;
        return typeof value === 'function' ? value.bind(target) : value;
      },
    }) as AsyncCompletionClient;
    types = activityStepTypes(createTestStepHandlers({ redis, prefix }), {
      completion,
      logger: createLogger('warn'),
      runLedger: { redis, keyPrefix: prefix },
      // However slow the box, these first runs count as picked up at once (the default is 500 ms).
      uncheckedFirstRunMs: 60_000,
    }).map((type) => ({
      ...type,
      handler: (payload: unknown, taskCtx) => {
        if (!payloads.has(taskCtx.taskId)) payloads.set(taskCtx.taskId, payload);
        return type.handler!(payload as never, taskCtx);
      },
    }));
    laneWorker = new ExpressWorker({
      types,
      redisUrl: redisUrl(),
      keyPrefix: prefix,
      concurrency: { min: 8, max: 8 },
      autoscaleIntervalMs: 0,
      logger: createLogger('warn'),
    });
    await laneWorker.start();
  });

  afterAll(async () => {
    await laneWorker?.stop();
    await ctx?.closeAll();
    await express?.close();
    await deleteKeys(redis, prefix);
    redis.disconnect();
  });

  it('first runs make no heartbeat before their handler; a rerun of a finished step is dropped without running the agent', async () => {
    const handle = await startPipeline(ctx.client, taskQueue, { idea: 'ledger probe', symbol: 'LEDGER' });
    await handle.result();
    const state = await queryState(handle);
    const taskIds = state.steps.map((s) => s.taskId!);
    expect(taskIds).toHaveLength(4);
    // Instant test agents: no periodic heartbeat either, so no heartbeat at all.
    expect(heartbeats).toEqual([]);
    for (const taskId of taskIds) expect(await redis.exists(`${prefix}:step-run:${taskId}`)).toBe(1);

    // The ml task again, as a reclaimed entry would run it after its first worker completed the activity and died
    // before acknowledging it: the ledger marks it a rerun, the heartbeat finds the attempt over, nothing runs.
    const mlTaskId = state.steps.find((s) => s.name === 'ml')!.taskId!;
    const mlType = types.find((t) => t.name === 'step.ml')!;
    const runsBefore = await recordedRuns(redis, prefix, handle.workflowId);
    const outcome = await mlType.handler!(payloads.get(mlTaskId) as never, {
      signal: new AbortController().signal,
      taskId: mlTaskId,
      attempt: 1,
    });
    expect(outcome).toMatchObject({ activity: 'dropped' });
    expect(heartbeats).toHaveLength(1);
    expect(await recordedRuns(redis, prefix, handle.workflowId)).toEqual(runsBefore);

    // The lane's own word wins over the ledger: a redelivery checks even when the ledger has no key for it (gone,
    // or never written), and is dropped the same way.
    await redis.del(`${prefix}:step-run:${mlTaskId}`);
    const redelivered = await mlType.handler!(payloads.get(mlTaskId) as never, {
      signal: new AbortController().signal,
      taskId: mlTaskId,
      attempt: 1,
      redelivered: true,
    });
    expect(redelivered).toMatchObject({ activity: 'dropped' });
    expect(heartbeats).toHaveLength(2);
    expect(await recordedRuns(redis, prefix, handle.workflowId)).toEqual(runsBefore);
  });
});
