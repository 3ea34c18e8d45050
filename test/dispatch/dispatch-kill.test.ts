/**
 * Lane-dispatched steps when processes die (real processes, `kill -9`): a lane worker dying mid-step is covered by
 * the lane (reclaimed and rerun with the same task token, one completion in Temporal), and a saga worker dying while
 * a step runs on the lane does not stop the step (its completion reaches the replacement saga worker).
 */
import type { WorkflowHandle } from '@temporalio/client';
import type Redis from 'ioredis';
import type { ExpressClient } from '../../src/lane/express-client';
import type { ExpressWorker } from '../../src/lane/express-worker';
import { deleteKeys, redisClient, uniquePrefix } from '../helpers/redis';
import {
  temporalAddress,
  temporalTestContext,
  uniqueTaskQueue,
  workflowBundlePath,
  type TemporalTestContext,
} from '../helpers/temporal';
import { queryState, startPipeline } from '../sagas/saga-test-kit';
import {
  spawnDispatchingSagaWorker,
  spawnStepWorker,
  startDispatchingSagaWorker,
  startStepWorker,
  stepClient,
  type SpawnedProcess,
} from './dispatch-kit';
import { waitFor } from '../helpers/wait';
import { recordedRuns, release } from './fixtures/step-handlers';

/** Per activity type of the saga's history: how often it was completed, failed, timed out, and its attempts. */
async function activityOutcomes(handle: WorkflowHandle) {
  const events = (await handle.fetchHistory()).events ?? [];
  const typeOf = new Map<string, string>();
  const out: Record<string, { completed: number; failed: number; timedOut: number; attempts: number[] }> = {};
  const of = (scheduledId: unknown) => {
    const type = typeOf.get(String(scheduledId)) ?? '?';
    return (out[type] ??= { completed: 0, failed: 0, timedOut: 0, attempts: [] });
  };
  for (const e of events) {
    if (e.activityTaskScheduledEventAttributes) {
      typeOf.set(String(e.eventId), e.activityTaskScheduledEventAttributes.activityType?.name ?? '?');
    }
    const started = e.activityTaskStartedEventAttributes;
    if (started) of(started.scheduledEventId).attempts.push(started.attempt ?? 0);
    if (e.activityTaskCompletedEventAttributes)
      of(e.activityTaskCompletedEventAttributes.scheduledEventId).completed++;
    if (e.activityTaskFailedEventAttributes)
      of(e.activityTaskFailedEventAttributes.scheduledEventId).failed++;
    if (e.activityTaskTimedOutEventAttributes)
      of(e.activityTaskTimedOutEventAttributes.scheduledEventId).timedOut++;
  }
  return out;
}

const ONE_CLEAN_COMPLETION = { completed: 1, failed: 0, timedOut: 0, attempts: [1] };

describe('lane-dispatched steps with real processes killed', () => {
  let ctx: TemporalTestContext;
  let redis: Redis;
  const spawned: SpawnedProcess[] = [];
  const inProcess: ExpressWorker[] = [];
  const clients: ExpressClient[] = [];
  const prefixes: string[] = [];

  beforeAll(async () => {
    ctx = await temporalTestContext();
    redis = redisClient();
  });

  afterAll(async () => {
    await Promise.all(spawned.map((p) => p.kill9()));
    await Promise.all(inProcess.map((w) => w.stop()));
    await ctx?.closeAll();
    await Promise.all(clients.map((c) => c.close()));
    for (const p of prefixes) await deleteKeys(redis, p);
    redis.disconnect();
  });

  it('a lane worker killed mid-step: the lane reruns the step elsewhere, Temporal sees one completion, finished steps do not run again', async () => {
    const prefix = uniquePrefix('dispatch-lanekill');
    prefixes.push(prefix);
    const taskQueue = uniqueTaskQueue('dispatch-lanekill');
    const express = stepClient(prefix);
    clients.push(express);
    await startDispatchingSagaWorker(ctx, taskQueue, express);
    const [a, b] = await Promise.all([
      spawnStepWorker({ prefix, consumer: 'lane-a', temporalAddress: temporalAddress() }),
      spawnStepWorker({ prefix, consumer: 'lane-b', temporalAddress: temporalAddress() }),
    ]);
    spawned.push(a!, b!);
    const byPid = new Map([
      [a!.child.pid, a!],
      [b!.child.pid, b!],
    ]);
    // Heartbeat timeout well above the lane's reclaim time (minIdleMs 1.5 s): the lane, not Temporal, recovers.
    const handle = await startPipeline(
      ctx.client,
      taskQueue,
      { idea: 'kill the lane worker', symbol: 'BLOCKMLK1' },
      { tuning: { heartbeatTimeoutMs: 15_000, retryInitialIntervalMs: 50 } },
    );
    const mlRun = await waitFor('ml running on a lane worker', async () =>
      (await recordedRuns(redis, prefix, handle.workflowId)).find((r) => r.name === 'ml'),
    );
    const victim = byPid.get(mlRun.pid)!;
    await victim.kill9();
    await release(redis, prefix, handle.workflowId);
    const result = await handle.result();
    expect(result.sagaId).toBe(handle.workflowId);

    const runs = await recordedRuns(redis, prefix, handle.workflowId);
    const ml = runs.filter((r) => r.name === 'ml');
    // The same lane task (same activity attempt) ran twice: on the killed worker, then on the survivor.
    expect(ml).toHaveLength(2);
    expect(ml.map((r) => [r.taskId, r.attempt])).toEqual([
      [mlRun.taskId, 1],
      [mlRun.taskId, 1],
    ]);
    expect(ml[1]!.pid).not.toBe(mlRun.pid);
    expect(runs.filter((r) => r.name !== 'ml').map((r) => r.name)).toEqual([
      'reasoning',
      'codegen',
      'backtest',
    ]);
    const outcomes = await activityOutcomes(handle);
    for (const step of ['reasoning', 'codegen', 'ml', 'backtest']) {
      expect({ step, ...outcomes[step] }).toEqual({ step, ...ONE_CLEAN_COMPLETION });
    }
    const state = await queryState(handle);
    expect(state.steps.find((s) => s.name === 'ml')).toMatchObject({ taskId: mlRun.taskId, attempts: 1 });
    expect(await express.get(mlRun.taskId)).toMatchObject({
      status: 'succeeded',
      result: { activity: 'completed' },
    });
  }, 120_000);

  it('a lane worker killed mid awaited step: the lane reruns the same lane task, the saga gets one result', async () => {
    const prefix = uniquePrefix('dispatch-lanekill-awaited');
    prefixes.push(prefix);
    const taskQueue = uniqueTaskQueue('dispatch-lanekill-awaited');
    const express = stepClient(prefix);
    clients.push(express);
    await startDispatchingSagaWorker(ctx, taskQueue, express, { redis, prefix });
    const [a, b] = await Promise.all([
      spawnStepWorker({ prefix, consumer: 'lane-a', temporalAddress: temporalAddress() }),
      spawnStepWorker({ prefix, consumer: 'lane-b', temporalAddress: temporalAddress() }),
    ]);
    spawned.push(a!, b!);
    const byPid = new Map([
      [a!.child.pid, a!],
      [b!.child.pid, b!],
    ]);
    const handle = await startPipeline(ctx.client, taskQueue, {
      idea: 'kill the lane worker',
      symbol: 'BLOCKCGK1',
    });
    const codegenRun = await waitFor('codegen running on a lane worker', async () =>
      (await recordedRuns(redis, prefix, handle.workflowId)).find((r) => r.name === 'codegen'),
    );
    await byPid.get(codegenRun.pid)!.kill9();
    await release(redis, prefix, handle.workflowId);
    const result = await handle.result();
    expect(result.artifacts.code).toBe(`test-artifact:${handle.workflowId}:codegen`);
    const runs = await recordedRuns(redis, prefix, handle.workflowId);
    const codegen = runs.filter((r) => r.name === 'codegen');
    // The same lane task (same local-activity attempt) ran twice: on the killed worker, then on the survivor.
    expect(codegen.map((r) => [r.taskId, r.attempt])).toEqual([
      [codegenRun.taskId, 1],
      [codegenRun.taskId, 1],
    ]);
    expect(codegen[1]!.pid).not.toBe(codegenRun.pid);
    expect(runs.filter((r) => r.name !== 'codegen').map((r) => r.name)).toEqual([
      'reasoning',
      'ml',
      'backtest',
    ]);
    expect((await queryState(handle)).steps.find((s) => s.name === 'codegen')).toMatchObject({
      taskId: codegenRun.taskId,
      attempts: 1,
    });
  }, 120_000);

  it('a saga worker killed while a step runs on the lane: the step goes on and its completion reaches the new saga worker', async () => {
    const prefix = uniquePrefix('dispatch-sagakill');
    prefixes.push(prefix);
    const taskQueue = uniqueTaskQueue('dispatch-sagakill');
    const express = stepClient(prefix);
    clients.push(express);
    inProcess.push(await startStepWorker({ client: ctx.client, redis, prefix }));
    const processOpts = {
      prefix,
      taskQueue,
      temporalAddress: temporalAddress(),
      bundle: workflowBundlePath(),
    };
    const first = await spawnDispatchingSagaWorker(processOpts);
    spawned.push(first);
    const handle = await startPipeline(
      ctx.client,
      taskQueue,
      { idea: 'kill the saga worker', symbol: 'BLOCKMLS1' },
      { tuning: { heartbeatTimeoutMs: 15_000, retryInitialIntervalMs: 50 } },
    );
    const mlRun = await waitFor('ml running on the lane', async () =>
      (await recordedRuns(redis, prefix, handle.workflowId)).find((r) => r.name === 'ml'),
    );
    await first.kill9();
    const second = await spawnDispatchingSagaWorker(processOpts);
    spawned.push(second);
    await release(redis, prefix, handle.workflowId);
    await handle.result();
    const runs = await recordedRuns(redis, prefix, handle.workflowId);
    expect(runs.map((r) => `${r.name}#${r.attempt}`)).toEqual([
      'reasoning#1',
      'codegen#1',
      'ml#1',
      'backtest#1',
    ]);
    const outcomes = await activityOutcomes(handle);
    // As shipped (SAGALANE_AWAITED_STEPS unset: none), codegen is a dispatched activity like the others.
    for (const step of ['reasoning', 'codegen', 'ml', 'backtest']) {
      expect({ step, ...outcomes[step] }).toEqual({ step, ...ONE_CLEAN_COMPLETION });
    }
    const state = await queryState(handle);
    expect(state.state).toBe('completed');
    expect(state.steps.find((s) => s.name === 'ml')?.taskId).toBe(mlRun.taskId);
  }, 120_000);

  it('a saga worker killed while an awaited step runs on the lane: the step goes on, the new saga worker waits for the same lane task', async () => {
    const prefix = uniquePrefix('dispatch-sagakill-awaited');
    prefixes.push(prefix);
    const taskQueue = uniqueTaskQueue('dispatch-sagakill-awaited');
    const express = stepClient(prefix);
    clients.push(express);
    inProcess.push(await startStepWorker({ client: ctx.client, redis, prefix, ledger: true }));
    const processOpts = {
      prefix,
      taskQueue,
      temporalAddress: temporalAddress(),
      bundle: workflowBundlePath(),
      awaitedSteps: 'codegen' as const,
    };
    const first = await spawnDispatchingSagaWorker(processOpts);
    spawned.push(first);
    const handle = await startPipeline(
      ctx.client,
      taskQueue,
      { idea: 'kill the saga worker in codegen', symbol: 'BLOCKCGS1' },
      { tuning: { heartbeatTimeoutMs: 15_000, retryInitialIntervalMs: 50 } },
    );
    const codegenRun = await waitFor('codegen running on the lane', async () =>
      (await recordedRuns(redis, prefix, handle.workflowId)).find((r) => r.name === 'codegen'),
    );
    await first.kill9();
    // The workflow task the dead worker held times out (10 s); the new worker replays and runs the local activity
    // again: same attempt, same lane task, which it waits for.
    const second = await spawnDispatchingSagaWorker(processOpts);
    spawned.push(second);
    await release(redis, prefix, handle.workflowId);
    await handle.result();
    const runs = await recordedRuns(redis, prefix, handle.workflowId);
    expect(runs.map((r) => `${r.name}#${r.attempt}`)).toEqual([
      'reasoning#1',
      'codegen#1',
      'ml#1',
      'backtest#1',
    ]);
    const state = await queryState(handle);
    expect(state.state).toBe('completed');
    expect(state.steps.find((s) => s.name === 'codegen')).toMatchObject({
      taskId: codegenRun.taskId,
      lane: 'express',
    });
  }, 120_000);
});
