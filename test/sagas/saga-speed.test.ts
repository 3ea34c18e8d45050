/**
 * The speed levers of issue 14, pinned on the real dev server: eager workflow start through a SagaClient on the saga
 * worker's own NativeConnection (and what the SDK does without one); the plan-cache hit that the pipeline answers
 * with a local activity instead of the `reasoning` activity; codegen and the compensations as local activities on a
 * worker with in-process agents (`localSteps`), activities on any other; the promises a saga creates in workflow
 * code, each of which the SDK's stack-trace hook costs.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { defaultPayloadConverter } from '@temporalio/common';
import Redis from 'ioredis';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import { createActivities, listArtifacts } from '../../src/activities/research';
import { planCacheKey } from '../../src/activities/research/plan-cache';
import { SagaClient } from '../../src/client/saga-client';
import { SagaClientOptionsError } from '../../src/client/errors';
import { createLogger } from '../../src/logger';
import { createLogSagaSinks } from '../../src/runtime/saga-worker';
import type { PipelineResult } from '../../src/workflows/research/pipeline-contract';
import { deleteKeys, redisUrl, uniquePrefix } from '../helpers/redis';
import { temporalAddress, uniqueTaskQueue, workflowBundlePath } from '../helpers/temporal';
import { waitFor } from '../helpers/wait';
import { createTestPipelineActivities } from '../fixtures/test-activities';
import { failureOf, queryState, startPipeline } from './saga-test-kit';

const EventType = temporal.api.enums.v1.EventType;
const execFileAsync = promisify(execFile);
const PROMISE_COUNT_SCRIPT = path.resolve(__dirname, '..', 'fixtures', 'saga-promise-count.ts');
const sinks = createLogSagaSinks(createLogger('silent'));

async function startWorker(connection: NativeConnection, taskQueue: string, activities: object) {
  const worker = await Worker.create({
    connection,
    taskQueue,
    workflowBundle: { codePath: workflowBundlePath() },
    activities,
    sinks,
  });
  return { worker, running: worker.run() };
}

describe('eager workflow start (SagaClient on the saga worker connection)', () => {
  let native: NativeConnection;
  let plain: Connection;
  let worker: { worker: Worker; running: Promise<void> };
  const taskQueue = uniqueTaskQueue('saga-eager');

  beforeAll(async () => {
    native = await NativeConnection.connect({ address: temporalAddress() });
    plain = await Connection.connect({ address: temporalAddress() });
    worker = await startWorker(native, taskQueue, createTestPipelineActivities().activities);
  });
  afterAll(async () => {
    worker.worker.shutdown();
    await worker.running;
    await native.close();
    await plain.close();
  });

  it('hands the first workflow task to the worker in the start reply: no matching dispatch before it', async () => {
    const sagas = new SagaClient(new Client({ connection: native }), { taskQueue });
    const started = await sagas.startPipeline({ idea: 'eager start probe', symbol: 'EAGER' });
    expect(started.eagerlyStarted).toBe(true);
    const result = await sagas.result(started.sagaId);
    expect(result.sagaId).toBe(started.sagaId);
    const history = await sagas.client.workflow.getHandle(started.sagaId).fetchHistory();
    const events = history.events ?? [];
    const scheduled = events.find((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED)!;
    const first = events.find((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED)!;
    // An eagerly started task is recorded in the start's own write: the server task ids follow each other. A task
    // dispatched through matching is started by a later write (a transfer task lies in between).
    expect(Number(first.taskId)).toBe(Number(scheduled.taskId) + 1);
  });

  it('starts normally through a plain Connection, and refuses eagerStart there with a named error', async () => {
    const sagas = new SagaClient(new Client({ connection: plain }), { taskQueue });
    const started = await sagas.startPipeline({ idea: 'plain start probe', symbol: 'EAGER' });
    expect(started.eagerlyStarted).toBe(false);
    await sagas.result(started.sagaId);
    expect(() => new SagaClient(new Client({ connection: plain }), { taskQueue, eagerStart: true })).toThrow(
      SagaClientOptionsError,
    );
  });
});

describe('local activities: plan-cache hits, and the quick step and compensations of in-worker agents', () => {
  let native: NativeConnection;
  let client: Client;
  let redis: Redis;
  let worker: { worker: Worker; running: Promise<void> };
  const keyPrefix = uniquePrefix('saga-plan-cache');
  const taskQueue = uniqueTaskQueue('saga-plan-cache');

  beforeAll(async () => {
    native = await NativeConnection.connect({ address: temporalAddress() });
    client = new Client({ connection: native });
    redis = new Redis(redisUrl());
    const activities = createActivities({
      redis,
      keyPrefix,
      llm: { model: 'unused', timeoutMs: 1_000 },
      planCacheTtlS: 600,
      logger: createLogger('silent'),
    });
    worker = await startWorker(native, taskQueue, activities);
  });
  afterAll(async () => {
    worker.worker.shutdown();
    await worker.running;
    await native.close();
    await deleteKeys(redis, keyPrefix);
    redis.disconnect();
  });

  const activityTypes = async (workflowId: string) =>
    ((await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [])
      .map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name)
      .filter((name): name is string => !!name);

  it('a saga whose idea was planned before skips the reasoning activity; its rollback keeps the entry it did not create', async () => {
    const idea = 'trend following with moving averages, cached';
    const first = await startPipeline(client, taskQueue, { idea, symbol: 'DEMO' });
    const firstResult = (await first.result()) as PipelineResult;
    // In-worker agents (`localSteps`): codegen is a local activity; the long steps stay activities.
    expect(await activityTypes(first.workflowId)).toEqual(['reasoning', 'ml', 'backtest']);

    const second = await startPipeline(client, taskQueue, { idea, symbol: 'DEMO' });
    const secondResult = (await second.result()) as PipelineResult;
    expect(secondResult.plan).toEqual(firstResult.plan);
    const history = (await second.fetchHistory()).events ?? [];
    expect(await activityTypes(second.workflowId)).toEqual(['ml', 'backtest']);
    // Local activities are markers in the history: one patch (SAGA_V2_PATCH), localSteps, cachedPlan and codegen.
    expect(history.filter((e) => e.eventType === EventType.EVENT_TYPE_MARKER_RECORDED)).toHaveLength(4);
    // Temporal's core upserts TemporalChangeVersion once per patch asked: once.
    const changeVersionUpserts = history.filter((e) =>
      Object.keys(
        e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields ?? {},
      ).includes('TemporalChangeVersion'),
    );
    expect(changeVersionUpserts).toHaveLength(1);
    // SagaState / SagaStep upserts: reasoning (a cache hit) and codegen fall in one activation and share one.
    const sagaUpserts = history.flatMap((e) => {
      const fields = e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields ?? {};
      return 'SagaState' in fields ? [defaultPayloadConverter.fromPayload<string>(fields.SagaState!)] : [];
    });
    expect(sagaUpserts).toEqual(['codegen', 'ml', 'backtest', 'completed']);
    const state = await queryState(second);
    expect(state.steps.map((s) => `${s.name}:${s.status}`)).toEqual([
      'reasoning:completed',
      'codegen:completed',
      'ml:completed',
      'backtest:completed',
    ]);

    // A third saga with the cached plan fails later on; its rollback must not drop the first saga's entry.
    const third = await startPipeline(client, taskQueue, {
      idea,
      symbol: 'DEMO',
      dataset: 'NO_SUCH_DATASET',
    });
    await failureOf(third);
    const rolledBack = await queryState(third);
    expect(rolledBack.state).toBe('rolled_back');
    // Its compensations ran as local activities: the only activity of the saga is the failed ml step.
    expect(rolledBack.compensations).toEqual([
      { step: 'codegen', status: 'completed' },
      { step: 'reasoning', status: 'completed' },
    ]);
    expect(await activityTypes(third.workflowId)).toEqual(['ml']);
    expect(await listArtifacts({ redis, keyPrefix }, third.workflowId)).toEqual([]);
    expect(await redis.exists(planCacheKey(keyPrefix, idea, 'DEMO', 'builtin'))).toBe(1);
  });

  it('a strict saga does not look the plan up locally: the reasoning agent applies the strict check', async () => {
    const idea = 'trend following with moving averages, strict';
    await (await startPipeline(client, taskQueue, { idea, symbol: 'DEMO' })).result();
    const strict = await startPipeline(client, taskQueue, { idea, symbol: 'DEMO', strict: true });
    await strict.result();
    const history = (await strict.fetchHistory()).events ?? [];
    expect(await activityTypes(strict.workflowId)).toEqual(['reasoning', 'ml', 'backtest']);
    // No plan-cache lookup: the one patch, localSteps and codegen.
    expect(history.filter((e) => e.eventType === EventType.EVENT_TYPE_MARKER_RECORDED)).toHaveLength(3);
  });

  it('a worker that does not register the local activities fails the workflow task, naming the missing one', async () => {
    // The SDK fails an unregistered local activity at once on first execution but waits for its marker on replay,
    // so the pipeline must not fall back there (it would not replay): it lets the workflow task fail, nothing is
    // recorded, and a worker with the local activity can take the task over.
    const taskQueue2 = uniqueTaskQueue('saga-no-local');
    const { activities } = createTestPipelineActivities();
    const { cachedPlan: _c, localSteps: _l, ...withoutLocal } = activities;
    const other = await startWorker(native, taskQueue2, withoutLocal);
    try {
      const handle = await startPipeline(client, taskQueue2, { idea: 'no local activities', symbol: 'DEMO' });
      const failed = await waitFor('a failed workflow task', async () => {
        const events = (await handle.fetchHistory()).events ?? [];
        return (
          events.find((e) => e.workflowTaskFailedEventAttributes)?.workflowTaskFailedEventAttributes?.failure
            ?.message ?? undefined
        );
      });
      expect(failed).toContain("Local activity of type 'localSteps' not registered on worker");
      const events = (await handle.fetchHistory()).events ?? [];
      expect(events.some((e) => e.eventType === EventType.EVENT_TYPE_MARKER_RECORDED)).toBe(false);
      await handle.terminate('test over');
    } finally {
      other.worker.shutdown();
      await other.running;
    }
  });

  it('a worker with the answers-nothing local activities (test agents) runs every step as an activity', async () => {
    const taskQueue2 = uniqueTaskQueue('saga-plan-cache-none');
    const { activities, calls } = createTestPipelineActivities();
    const other = await startWorker(native, taskQueue2, activities);
    try {
      const handle = await startPipeline(client, taskQueue2, { idea: 'no cache here', symbol: 'DEMO' });
      await handle.result();
      expect(calls.filter((c) => c.sagaId === handle.workflowId).map((c) => c.name)).toEqual([
        'reasoning',
        'codegen',
        'ml',
        'backtest',
      ]);
      expect(await activityTypes(handle.workflowId)).toEqual(['reasoning', 'codegen', 'ml', 'backtest']);
    } finally {
      other.worker.shutdown();
      await other.running;
    }
  });
});

describe('promises per saga (the SDK stack-trace hook costs each one)', () => {
  it('a no-op in-worker pipeline saga creates at most 95 promises in workflow code (104 before 351fcb9)', async () => {
    const { stdout } = await execFileAsync(
      process.execPath,
      ['--import', 'tsx', PROMISE_COUNT_SCRIPT, temporalAddress(), workflowBundlePath()],
      { timeout: 60_000 },
    );
    const { perSaga } = JSON.parse(stdout.trim().split('\n').pop()!) as { perSaga: number };
    // The lower bound proves the hook saw the workflow context's promises at all.
    expect(perSaga).toBeGreaterThan(40);
    expect(perSaga).toBeLessThanOrEqual(95);
  }, 90_000);
});
