/**
 * Awaited steps (opt-in, SAGALANE_AWAITED_STEPS=codegen or all) against the real dev server and real Redis: a
 * lane-dispatching saga worker that offers the quick steps (`codegen`, the compensations) as local activities runs
 * each as a lane task without a task token and waits for the lane task's result; a lane worker with the step-run
 * ledger (as shipped) runs the test agents. Edges: ./awaited-edges.test.ts.
 */
import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createLaneDispatchActivities, submitStep } from '../../src/dispatch/lane-dispatch';
import { PIPELINE_DISPATCH_STEPS } from '../../src/activities/research/pipeline-dispatch-steps';
import { stepCancelKey } from '../../src/dispatch/activity-step-contract';
import { cancelUpdate } from '../../src/workflows/saga-contract';
import type { ExpressClient } from '../../src/lane/express-client';
import type { ExpressWorker } from '../../src/lane/express-worker';
import { deleteKeys, redisClient, uniquePrefix } from '../helpers/redis';
import { temporalTestContext, uniqueTaskQueue, type TemporalTestContext } from '../helpers/temporal';
import { failureOf, queryState, startPipeline } from '../sagas/saga-test-kit';
import { waitFor } from '../helpers/wait';
import { startDispatchingSagaWorker, startStepWorker, stepClient } from './dispatch-kit';
import { recordedEvents, recordedRuns } from './fixtures/step-handlers';

/** Activity types the saga's history scheduled as activities (awaited steps are local: not among them). */
async function scheduledActivities(handle: { fetchHistory(): Promise<{ events?: unknown[] | null }> }) {
  const events = ((await handle.fetchHistory()).events ?? []) as {
    activityTaskScheduledEventAttributes?: { activityType?: { name?: string | null } | null } | null;
  }[];
  return events.flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []);
}

describe('awaited steps: quick steps as local activities on the lane', () => {
  let ctx: TemporalTestContext;
  let redis: Redis;
  let express: ExpressClient;
  let laneWorker: ExpressWorker;
  const prefix = uniquePrefix('dispatch-awaited');
  const taskQueue = uniqueTaskQueue('dispatch-awaited');
  /** A worker that offers the compensations as awaited steps too. */
  const allLocalQueue = uniqueTaskQueue('dispatch-awaited-all');

  beforeAll(async () => {
    ctx = await temporalTestContext();
    redis = redisClient();
    express = stepClient(prefix);
    await startDispatchingSagaWorker(ctx, taskQueue, express, { redis, prefix });
    await startDispatchingSagaWorker(ctx, allLocalQueue, express, {
      redis,
      prefix,
      steps: 'all',
    });
    laneWorker = await startStepWorker({ client: ctx.client, redis, prefix, ledger: true });
  });

  afterAll(async () => {
    await laneWorker?.stop();
    await ctx?.closeAll();
    await express?.close();
    await deleteKeys(redis, prefix);
    redis.disconnect();
  });

  it('runs codegen on the express lane inside the workflow task: no activity of its own, the state names its lane task', async () => {
    const handle = await startPipeline(ctx.client, taskQueue, { idea: 'awaited', symbol: 'AWAIT1' });
    const result = await handle.result();
    expect(result.artifacts.code).toBe(`test-artifact:${handle.workflowId}:codegen`);
    expect(await scheduledActivities(handle)).toEqual(['reasoning', 'ml', 'backtest']);
    const state = await queryState(handle);
    expect(state.steps.map((s) => [s.name, s.status, s.lane])).toEqual([
      ['reasoning', 'completed', 'standard'],
      ['codegen', 'completed', 'express'],
      ['ml', 'completed', 'standard'],
      ['backtest', 'completed', 'standard'],
    ]);
    const runs = await recordedRuns(redis, prefix, handle.workflowId);
    expect(runs.map((r) => r.name)).toEqual(['reasoning', 'codegen', 'ml', 'backtest']);
    const codegen = runs.find((r) => r.name === 'codegen')!;
    expect(state.steps.find((s) => s.name === 'codegen')?.taskId).toBe(codegen.taskId);
    // The lane task's result is the step's outcome (the value went to the workflow from here, not from Temporal).
    expect(await express.get(codegen.taskId)).toMatchObject({
      status: 'succeeded',
      lane: 'express',
      attempts: 1,
      result: { activity: 'completed', value: { value: { artifact: { key: result.artifacts.code } } } },
    });
  });

  it('retries a retryable failure of an awaited step through Temporal: each local-activity attempt is one lane task', async () => {
    const handle = await startPipeline(ctx.client, taskQueue, { idea: 'flaky codegen', symbol: 'FLAKYCG1' });
    await handle.result();
    const runs = await recordedRuns(redis, prefix, handle.workflowId);
    const codegen = runs.filter((r) => r.name === 'codegen');
    expect(codegen.map((r) => r.attempt)).toEqual([1, 2]);
    expect(new Set(codegen.map((r) => r.taskId)).size).toBe(2);
    expect(await express.get(codegen[0]!.taskId)).toMatchObject({
      attempts: 1,
      result: { activity: 'failed', nonRetryable: false },
    });
    const state = await queryState(handle);
    expect(state.steps.find((s) => s.name === 'codegen')).toMatchObject({
      status: 'completed',
      attempts: 2,
      taskId: codegen[1]!.taskId,
    });
  });

  it('runs compensations as awaited steps on the express lane, once each', async () => {
    const handle = await startPipeline(ctx.client, allLocalQueue, { idea: 'bad data', symbol: 'FAILML1' });
    expect((await failureOf(handle)).cause?.type).toBe('SagaRolledBack');
    expect(await scheduledActivities(handle)).toEqual(['reasoning', 'ml']);
    const runs = await recordedRuns(redis, prefix, handle.workflowId);
    expect(runs.map((r) => `${r.name}#${r.attempt}`)).toEqual([
      'reasoning#1',
      'codegen#1',
      'ml#1',
      'compensateCodegen#1',
      'compensateReasoning#1',
    ]);
    const state = await queryState(handle);
    // The state names the lane task that ran each compensation (the interceptor unwraps local activities' results).
    const taskOf = (name: string) => runs.find((r) => r.name === name)!.taskId;
    expect(state.compensations.map((c) => [c.step, c.status, c.lane, c.taskId])).toEqual([
      ['codegen', 'completed', 'express', taskOf('compensateCodegen')],
      ['reasoning', 'completed', 'express', taskOf('compensateReasoning')],
    ]);
    for (const run of runs.filter((r) => r.name.startsWith('compensate'))) {
      expect(await express.get(run.taskId)).toMatchObject({
        lane: 'express',
        attempts: 1,
        result: { activity: 'completed' },
      });
    }
  });

  it('fails a non-retryable agent failure of an awaited step at once: one run, then the rollback', async () => {
    const handle = await startPipeline(ctx.client, taskQueue, { idea: 'bad codegen', symbol: 'FAILCG1' });
    expect((await failureOf(handle)).cause?.type).toBe('SagaRolledBack');
    const state = await queryState(handle);
    expect(state.error).toMatchObject({ reason: 'step_failed', step: 'codegen' });
    expect(state.error?.message).toContain("unknown data set 'NOPE'");
    const runs = await recordedRuns(redis, prefix, handle.workflowId);
    expect(runs.map((r) => `${r.name}#${r.attempt}`)).toEqual([
      'reasoning#1',
      'codegen#1',
      'compensateReasoning#1',
    ]);
    expect(await express.get(runs.find((r) => r.name === 'codegen')!.taskId)).toMatchObject({
      status: 'succeeded',
      attempts: 1,
      result: { activity: 'failed', nonRetryable: true, failureType: 'DatasetNotFound' },
    });
  });

  it('retries a failing awaited compensation through Temporal only: each attempt is one lane task', async () => {
    const handle = await startPipeline(ctx.client, allLocalQueue, {
      idea: 'comp fails',
      symbol: 'FAILCOMP1',
    });
    await failureOf(handle);
    expect((await queryState(handle)).state).toBe('failed');
    const runs = await recordedRuns(redis, prefix, handle.workflowId);
    const compCodegen = runs.filter((r) => r.name === 'compensateCodegen');
    // FAST_TUNING: 3 compensation attempts; one lane task (one run) each.
    expect(compCodegen.map((r) => r.attempt)).toEqual([1, 2, 3]);
    expect(new Set(compCodegen.map((r) => r.taskId)).size).toBe(3);
    for (const run of compCodegen) {
      expect(await express.get(run.taskId)).toMatchObject({
        attempts: 1,
        result: { activity: 'failed', nonRetryable: false },
      });
    }
  });

  it('a saga cancelled during an awaited step: the cancel arrives when the workflow task is heartbeated, the step is aborted and reports it, then the rollback runs', async () => {
    const handle = await startPipeline(ctx.client, taskQueue, { idea: 'cancel me', symbol: 'BLOCKCG1' });
    await waitFor('codegen running on the lane', async () =>
      (await recordedRuns(redis, prefix, handle.workflowId)).some((r) => r.name === 'codegen'),
    );
    const cancelledAt = Date.now();
    await handle.executeUpdate(cancelUpdate, { args: ['wrong symbol'] });
    expect((await failureOf(handle)).cause?.type).toBe('SagaRolledBack');
    const events = await recordedEvents(redis, prefix, handle.workflowId);
    const abortedAt = Number(events.find((e) => e.startsWith('aborted codegen '))!.split(' ')[2]);
    // A local activity holds its workflow task: the update is delivered when the SDK heartbeats it (about 8 s of the
    // 10 s workflow-task timeout), as for any local step. A real codegen ends sooner (its sandbox limit, 1 s).
    expect(abortedAt - cancelledAt).toBeLessThan(10_000);
    const state = await queryState(handle);
    expect(state.error).toMatchObject({ reason: 'cancelled', step: 'codegen', cancelReason: 'wrong symbol' });
    const runs = await recordedRuns(redis, prefix, handle.workflowId);
    expect(runs.map((r) => r.name)).toEqual(['reasoning', 'codegen', 'compensateReasoning']);
    expect(await express.get(runs[1]!.taskId)).toMatchObject({ result: { activity: 'cancelled' } });
    // The rollback started after the step stopped.
    expect(runs[2]!.at).toBeGreaterThanOrEqual(abortedAt);
  }, 30_000);

  const awaitedSubmission = (sagaId: string) => ({
    activityType: 'codegen',
    lane: 'express' as const,
    input: { sagaId, plan: {} },
    activity: {
      workflowId: sagaId,
      runId: randomUUID(),
      activityId: 'local-2',
      activityType: 'codegen',
      attempt: 1,
    },
    timeoutMs: 60_000,
  });

  it('an awaited step whose attempt is marked over does not run; one marked while it runs is aborted before its lane timeout', async () => {
    // Marked before any lane worker reads it: dropped without running the agent.
    await laneWorker.stop();
    const early = `pipeline-AWAIT2-${randomUUID()}`;
    const { taskId: earlyTask } = await submitStep(express, awaitedSubmission(early));
    await redis.set(stepCancelKey(prefix, earlyTask), '1', 'PX', 60_000);
    laneWorker = await startStepWorker({ client: ctx.client, redis, prefix, ledger: true });
    const dropped = await waitFor('the marked task to end', async () => {
      const info = await express.get(earlyTask);
      return info?.status === 'succeeded' ? info : undefined;
    });
    expect(dropped.result).toMatchObject({ activity: 'dropped' });
    expect(await recordedRuns(redis, prefix, early)).toEqual([]);

    // Marked while the agent runs: its signal is aborted within a poll or two. The yardstick is the lane's own clock,
    // not the test's: the task has a short lane timeout, and a mark that was not seen before it would end the run as a
    // timeout (a failed attempt), not as the cancellation it reports.
    const running = `pipeline-BLOCKCG2-${randomUUID()}`;
    const { taskId } = await submitStep(express, { ...awaitedSubmission(running), timeoutMs: 5_000 });
    await waitFor('codegen running', async () => (await recordedRuns(redis, prefix, running)).length > 0);
    const markedAt = Date.now();
    await redis.set(stepCancelKey(prefix, taskId), '1', 'PX', 60_000);
    const cancelled = await waitFor('the marked task to end', async () => {
      const info = await express.get(taskId);
      return info?.status === 'succeeded' || info?.status === 'dead' ? info : undefined;
    });
    expect(cancelled).toMatchObject({ status: 'succeeded', attempts: 1, result: { activity: 'cancelled' } });
    const events = await recordedEvents(redis, prefix, running);
    const aborted = events.find((e) => e.startsWith('aborted codegen '));
    expect(Number(aborted!.split(' ')[2])).toBeGreaterThanOrEqual(markedAt);
    expect(events).not.toContain('finished codegen');
  });

  it("a cancelled (or timed-out) awaited step's dispatch marks the attempt over, waits for the agent to stop, then reports the cancellation", async () => {
    const dispatch = createLaneDispatchActivities({
      express,
      steps: PIPELINE_DISPATCH_STEPS,
      awaited: { redis, keyPrefix: prefix },
    });
    const sagaId = `pipeline-BLOCKCG3-${randomUUID()}`;
    // The SDK's activity context for a local activity (the dispatch talks to Redis only, never to the server).
    const env = new MockActivityEnvironment({
      isLocal: true,
      activityId: '2',
      activityType: 'codegen',
      attempt: 1,
      startToCloseTimeoutMs: 60_000,
      workflowExecution: { workflowId: sagaId, runId: randomUUID() },
    });
    const outcome = env.run(dispatch.codegen!, { sagaId, plan: {} }).then(
      () => ({ ok: true as const, at: Date.now() }),
      (err: unknown) => ({ ok: false as const, err, at: Date.now() }),
    );
    const run = await waitFor('codegen running', async () => (await recordedRuns(redis, prefix, sagaId))[0]);
    expect(run.taskId).toBeTruthy();
    const cancelledAt = Date.now();
    env.cancel();
    const settled = await outcome;
    expect(settled.ok).toBe(false);
    expect((settled as { err: unknown }).err).toBeInstanceOf(CancelledFailure);
    const aborted = (await recordedEvents(redis, prefix, sagaId)).find((e) =>
      e.startsWith('aborted codegen '),
    );
    const abortedAt = Number(aborted!.split(' ')[2]);
    expect(abortedAt).toBeGreaterThanOrEqual(cancelledAt);
    // The cancellation was reported after the agent stopped, and the lane task says so. The dispatch waits at most
    // CANCEL_WAIT_MS (5 s) for the agent before it reports anyway: that wait, not the test's clock, bounds how late
    // the abort may come for this order to hold.
    expect(settled.at).toBeGreaterThanOrEqual(abortedAt);
    expect(await express.get(run.taskId)).toMatchObject({ result: { activity: 'cancelled' } });
  });
});
