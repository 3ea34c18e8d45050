/**
 * Lane-dispatched saga steps against the real dev server and real Redis: the saga worker registers the dispatch
 * activities, a lane worker runs the (test) agents and completes the activities through async completion.
 */
import { randomUUID } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import type Redis from 'ioredis';
import { ExpressWorker } from '../../src/lane/express-worker';
import type { ExpressClient } from '../../src/lane/express-client';
import { submitStep } from '../../src/dispatch/lane-dispatch';
import { stepIdempotencyKey } from '../../src/dispatch/activity-step-contract';
import { cancelUpdate } from '../../src/workflows/saga-contract';
import { LANE_STEP_MARKER } from '../../src/dispatch/lane-step';
import { deleteKeys, redisClient, redisUrl, uniquePrefix } from '../helpers/redis';
import { temporalTestContext, uniqueTaskQueue, type TemporalTestContext } from '../helpers/temporal';
import { failureOf, queryState, startPipeline } from '../sagas/saga-test-kit';
import { ConfigError, loadConfig } from '../../src/config';
import { openLaneDispatch } from '../../src/activities/research/lane-dispatch-wiring';
import { withPipelineLocalActivities } from '../../src/activities/research/local-steps';
import { createLogger } from '../../src/logger';
import { createLogSagaSinks } from '../../src/runtime/saga-worker';
import { waitFor } from '../helpers/wait';
import { startStepWorker, stepClient } from './dispatch-kit';
import { recordedEvents, recordedRuns } from './fixtures/step-handlers';

/** The lane's heartbeat period for a running step (`activityStepTypes`' default `heartbeatIntervalMs`). */
const LANE_HEARTBEAT_MS = 250;

/**
 * A step's cancel in Temporal's history, timed by the server: how the step's activity ended, how long it took from
 * the cancel request to the reported cancellation, and a baseline from the same saga on the same machine at the same
 * time: the no-op `reasoning` step's whole round trip (scheduled, dispatched to the lane, run, completed). A cancel
 * reaches a running handler with its next heartbeat and is reported in one more round trip; one that waited for
 * anything else (a slow heartbeat, the step's end, a timeout) takes many times that. No clock of the test's own.
 */
async function cancelInHistory(
  handle: WorkflowHandle,
  activityType: string,
): Promise<{ endings: string[]; cancelMs: number; baselineMs: number }> {
  const events = (await handle.fetchHistory()).events ?? [];
  const at = (e: (typeof events)[number]) =>
    Number(e.eventTime?.seconds ?? 0) * 1000 + Math.floor((e.eventTime?.nanos ?? 0) / 1e6);
  const scheduledOf = (name: string) =>
    new Set(
      events
        .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === name)
        .map((e) => String(e.eventId)),
    );
  const mine = scheduledOf(activityType);
  const endings: string[] = [];
  let cancelRequestedAt = NaN;
  let cancelledAt = NaN;
  for (const e of events) {
    const ended: [string, { scheduledEventId?: unknown } | null | undefined][] = [
      ['completed', e.activityTaskCompletedEventAttributes],
      ['failed', e.activityTaskFailedEventAttributes],
      ['timed-out', e.activityTaskTimedOutEventAttributes],
      ['canceled', e.activityTaskCanceledEventAttributes],
    ];
    for (const [name, attrs] of ended)
      if (attrs && mine.has(String(attrs.scheduledEventId))) endings.push(name);
    if (mine.has(String(e.activityTaskCancelRequestedEventAttributes?.scheduledEventId)))
      cancelRequestedAt = at(e);
    if (mine.has(String(e.activityTaskCanceledEventAttributes?.scheduledEventId))) cancelledAt = at(e);
  }
  const reasoning = scheduledOf('reasoning');
  const scheduled = events.find((e) => reasoning.has(String(e.eventId)))!;
  const completed = events.find((e) =>
    reasoning.has(String(e.activityTaskCompletedEventAttributes?.scheduledEventId)),
  )!;
  return { endings, cancelMs: cancelledAt - cancelRequestedAt, baselineMs: at(completed) - at(scheduled) };
}

/** The bound a cancel's reporting must meet: three heartbeat periods and baselines (idle: ~0.3 s of ~0.9 s allowed). */
function expectPromptCancel(c: { cancelMs: number; baselineMs: number }): void {
  expect(c.cancelMs).toBeGreaterThanOrEqual(0);
  expect(c.cancelMs).toBeLessThan(3 * (LANE_HEARTBEAT_MS + c.baselineMs));
}

describe('lane-dispatched saga steps', () => {
  let ctx: TemporalTestContext;
  let redis: Redis;
  let express: ExpressClient;
  let laneWorker: ExpressWorker;
  let wiring: ReturnType<typeof openLaneDispatch>;
  const prefix = uniquePrefix('dispatch');
  const taskQueue = uniqueTaskQueue('dispatch');
  const configOf = (env: Record<string, string> = {}) =>
    loadConfig({ REDIS_URL: redisUrl(), SAGALANE_KEY_PREFIX: prefix, ...env });

  beforeAll(async () => {
    ctx = await temporalTestContext();
    redis = redisClient();
    express = stepClient(prefix);
    // The saga worker's activities as startSagaWorker wires them for SAGALANE_STEP_DISPATCH=lane, default settings.
    wiring = openLaneDispatch(configOf(), express, createLogger('silent'));
    await ctx.startWorker({
      taskQueue,
      activities: withPipelineLocalActivities(wiring.activities),
      sinks: createLogSagaSinks(createLogger('silent')),
    });
    laneWorker = await startStepWorker({ client: ctx.client, redis, prefix });
  });

  afterAll(async () => {
    await laneWorker?.stop();
    await ctx?.closeAll();
    await wiring?.close();
    await express?.close();
    await deleteKeys(redis, prefix);
    redis.disconnect();
  });

  it('offers no awaited steps by default: SAGALANE_AWAITED_STEPS=none|codegen|all picks them, a bad value is refused', async () => {
    const answer = async (env?: Record<string, string>) => {
      const w = openLaneDispatch(configOf(env), express, createLogger('silent'));
      try {
        return await (w.activities.localSteps as () => Promise<string[]>)();
      } finally {
        await w.close();
      }
    };
    expect(await answer()).toEqual([]);
    expect(await answer({ SAGALANE_AWAITED_STEPS: 'none' })).toEqual([]);
    expect(await answer({ SAGALANE_AWAITED_STEPS: 'codegen' })).toEqual(['codegen']);
    expect(await answer({ SAGALANE_AWAITED_STEPS: 'all' })).toEqual([
      'codegen',
      'compensateReasoning',
      'compensateCodegen',
      'compensateMl',
      'compensateBacktest',
    ]);
    let err: unknown;
    try {
      configOf({ SAGALANE_AWAITED_STEPS: 'some' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems.map((p) => p.variable)).toEqual(['SAGALANE_AWAITED_STEPS']);
  });

  it('runs every step and compensation-free happy path on the lane; state names the lane task of each step', async () => {
    const handle = await startPipeline(ctx.client, taskQueue, { idea: 'trend following', symbol: 'HAPPY' });
    const result = await handle.result();
    // Default wiring: every step, codegen included, is an activity of the saga's history, completed by the lane.
    const scheduled = ((await handle.fetchHistory()).events ?? []).flatMap(
      (e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? [],
    );
    expect(scheduled).toEqual(['reasoning', 'codegen', 'ml', 'backtest']);
    expect(result.artifacts.code).toBe(`test-artifact:${handle.workflowId}:codegen`);
    const state = await queryState(handle);
    expect(state.state).toBe('completed');
    expect(state.steps.map((s) => [s.name, s.status, s.lane])).toEqual([
      ['reasoning', 'completed', 'standard'],
      ['codegen', 'completed', 'standard'],
      ['ml', 'completed', 'standard'],
      ['backtest', 'completed', 'standard'],
    ]);
    const runs = await recordedRuns(redis, prefix, handle.workflowId);
    expect(runs.map((r) => r.name)).toEqual(['reasoning', 'codegen', 'ml', 'backtest']);
    // Each step's taskId is the lane task that ran it, and the lane's record of it says what reached Temporal.
    for (const step of state.steps) {
      const run = runs.find((r) => r.name === step.name)!;
      expect(step.taskId).toBe(run.taskId);
      const task = await express.get(step.taskId!);
      expect(task).toMatchObject({
        status: 'succeeded',
        lane: 'standard',
        result: { activity: 'completed' },
      });
    }
    // The workflow's result holds the agents' values, not the lane envelope.
    expect(JSON.stringify(result)).not.toContain(LANE_STEP_MARKER);
  });

  it("puts an express saga's steps on the express lane", async () => {
    const handle = await startPipeline(ctx.client, taskQueue, {
      idea: 'urgent',
      symbol: 'URGENT',
      priority: 'express',
    });
    await handle.result();
    const state = await queryState(handle);
    expect(state.steps.map((s) => s.lane)).toEqual(['express', 'express', 'express', 'express']);
  });

  it('fails a non-retryable agent failure at once: one run, not retried by Temporal or the lane; rollback on the express lane', async () => {
    const handle = await startPipeline(ctx.client, taskQueue, { idea: 'bad data', symbol: 'FAILML1' });
    const failure = await failureOf(handle);
    expect(failure.cause?.type).toBe('SagaRolledBack');
    const state = await queryState(handle);
    expect(state.error).toMatchObject({ reason: 'step_failed', step: 'ml' });
    expect(state.error?.message).toContain("unknown data set 'NOPE'");
    const runs = await recordedRuns(redis, prefix, handle.workflowId);
    expect(runs.map((r) => `${r.name}#${r.attempt}`)).toEqual([
      'reasoning#1',
      'codegen#1',
      'ml#1',
      'compensateCodegen#1',
      'compensateReasoning#1',
    ]);
    const ml = state.steps.find((s) => s.name === 'ml')!;
    expect(ml.status).toBe('failed');
    // The failed step's lane task ended once, having reported the failure (no lane retry, no dead letter).
    const mlTask = await express.get(runs.find((r) => r.name === 'ml')!.taskId);
    expect(mlTask).toMatchObject({
      status: 'succeeded',
      attempts: 1,
      result: { activity: 'failed', nonRetryable: true },
    });
    // Compensations went on the express lane although the saga is standard.
    expect(state.compensations.map((c) => [c.step, c.status])).toEqual([
      ['codegen', 'completed'],
      ['reasoning', 'completed'],
    ]);
    for (const run of runs.filter((r) => r.name.startsWith('compensate'))) {
      expect(await express.get(run.taskId)).toMatchObject({
        lane: 'express',
        result: { activity: 'completed' },
      });
    }
    // The state names the lane task of each compensation, as it does for steps.
    const taskOf = (name: string) => runs.find((r) => r.name === name)!.taskId;
    expect(state.compensations.map((c) => [c.step, c.lane, c.taskId])).toEqual([
      ['codegen', 'express', taskOf('compensateCodegen')],
      ['reasoning', 'express', taskOf('compensateReasoning')],
    ]);
  });

  it('retries a retryable failure through Temporal only: each Temporal attempt is one lane run', async () => {
    const handle = await startPipeline(ctx.client, taskQueue, { idea: 'comp fails', symbol: 'FAILCOMP1' });
    await failureOf(handle);
    const state = await queryState(handle);
    expect(state.state).toBe('failed');
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

  it('cancel during codegen (an activity by default, not an awaited step): its handler is aborted, and the cancellation reported within a heartbeat and a few round trips', async () => {
    const handle = await startPipeline(ctx.client, taskQueue, {
      idea: 'cancel codegen',
      symbol: 'BLOCKCGD1',
    });
    await waitFor('codegen running on the lane', async () =>
      (await recordedRuns(redis, prefix, handle.workflowId)).some((r) => r.name === 'codegen'),
    );
    const cancelledAt = Date.now();
    await handle.executeUpdate(cancelUpdate, { args: ['stop codegen'] });
    expect((await failureOf(handle)).cause?.type).toBe('SagaRolledBack');
    const aborted = (await recordedEvents(redis, prefix, handle.workflowId)).find((e) =>
      e.startsWith('aborted codegen '),
    );
    expect(Number(aborted!.split(' ')[2])).toBeGreaterThanOrEqual(cancelledAt);
    const cancel = await cancelInHistory(handle, 'codegen');
    expect(cancel.endings).toEqual(['canceled']);
    expectPromptCancel(cancel);
    const state = await queryState(handle);
    expect(state.error).toMatchObject({ reason: 'cancelled', step: 'codegen' });
    expect(state.steps.find((s) => s.name === 'codegen')?.status).toBe('cancelled');
    const codegen = (await recordedRuns(redis, prefix, handle.workflowId)).find((r) => r.name === 'codegen')!;
    expect(await express.get(codegen.taskId)).toMatchObject({
      lane: 'standard',
      result: { activity: 'cancelled' },
    });
  });

  it('cancel while a step runs on the lane: the handler is aborted and the cancellation reported within a heartbeat and a few round trips, then the rollback runs', async () => {
    const handle = await startPipeline(ctx.client, taskQueue, { idea: 'cancel me', symbol: 'BLOCKML1' });
    await waitFor('ml running on the lane', async () =>
      (await recordedRuns(redis, prefix, handle.workflowId)).some((r) => r.name === 'ml'),
    );
    const cancelledAt = Date.now();
    await handle.executeUpdate(cancelUpdate, { args: ['wrong symbol'] });
    const failure = await failureOf(handle);
    expect(failure.cause?.type).toBe('SagaRolledBack');
    const events = await recordedEvents(redis, prefix, handle.workflowId);
    const aborted = events.find((e) => e.startsWith('aborted ml '));
    expect(aborted).toBeDefined();
    expect(Number(aborted!.split(' ')[2])).toBeGreaterThanOrEqual(cancelledAt);
    const cancel = await cancelInHistory(handle, 'ml');
    expect(cancel.endings).toEqual(['canceled']);
    expectPromptCancel(cancel);
    const state = await queryState(handle);
    expect(state.steps.find((s) => s.name === 'ml')?.status).toBe('cancelled');
    expect(state.error).toMatchObject({ reason: 'cancelled', step: 'ml', cancelReason: 'wrong symbol' });
    const runs = await recordedRuns(redis, prefix, handle.workflowId);
    const mlRun = runs.find((r) => r.name === 'ml')!;
    expect(await express.get(mlRun.taskId)).toMatchObject({ result: { activity: 'cancelled' } });
    // The rollback started after the step stopped: the compensations ran after the abort was recorded.
    expect(runs.map((r) => r.name)).toEqual([
      'reasoning',
      'codegen',
      'ml',
      'compensateCodegen',
      'compensateReasoning',
    ]);
    const history = await handle.fetchHistory();
    const cancelledIdx = (history.events ?? []).findIndex((e) => e.activityTaskCanceledEventAttributes);
    const firstCompScheduled = (history.events ?? []).findIndex(
      (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'compensateCodegen',
    );
    expect(cancelledIdx).toBeGreaterThan(0);
    expect(firstCompScheduled).toBeGreaterThan(cancelledIdx);
  });

  it('drops the outcome of a lane task whose activity timed out, writing nothing to Temporal', async () => {
    // No lane worker serves step.ml for now: the ml task waits in its stream past the activity's heartbeat timeout.
    await laneWorker.stop();
    laneWorker = await startStepWorker({ client: ctx.client, redis, prefix, only: (n) => n !== 'ml' });
    const handle = await startPipeline(
      ctx.client,
      taskQueue,
      { idea: 'too slow', symbol: 'TIMEOUT1' },
      { tuning: { heartbeatTimeoutMs: 1_000, stepMaximumAttempts: 1, retryInitialIntervalMs: 50 } },
    );
    const failure = await failureOf(handle);
    expect(failure.cause?.type).toBe('SagaRolledBack');
    const state = await queryState(handle);
    expect(state.error).toMatchObject({ reason: 'step_failed', step: 'ml' });
    const historyLength = (await handle.fetchHistory()).events?.length;
    const mlEntries = await redis.xrange(`${prefix}:lane:{step.ml}:standard`, '-', '+');
    expect(mlEntries).toHaveLength(1);
    const mlTaskId = mlEntries[0]![1][mlEntries[0]![1].indexOf('id') + 1]!;
    // Now a lane worker for ml picks the stale task up, configured as shipped (with the step-run ledger): a first
    // delivery that waited this long checks its attempt before the handler and finds it gone. (Before the lane told
    // a first delivery's age, a worker with the ledger skipped that check and ran the agent of a timed-out step.)
    const mlWorker = await startStepWorker({
      client: ctx.client,
      redis,
      prefix,
      only: (n) => n === 'ml',
      ledger: true,
    });
    try {
      const task = await waitFor('the stale ml task to finish', async () => {
        const info = await express.get(mlTaskId);
        return info?.status === 'succeeded' ? info : undefined;
      });
      expect(task.result).toMatchObject({ activity: 'dropped' });
    } finally {
      await mlWorker.stop();
    }
    // The ml handler never ran and Temporal got nothing from the stale task.
    const runs = await recordedRuns(redis, prefix, handle.workflowId);
    expect(runs.filter((r) => r.name === 'ml')).toEqual([]);
    expect((await handle.fetchHistory()).events?.length).toBe(historyLength);
    await laneWorker.stop();
    laneWorker = await startStepWorker({ client: ctx.client, redis, prefix });
  });

  it('a dispatch run again for the same activity attempt finds its lane task instead of creating a second one', async () => {
    const activity = {
      workflowId: `wf-${randomUUID()}`,
      runId: randomUUID(),
      activityId: '3',
      activityType: 'ml',
      attempt: 1,
    };
    const submission = {
      activityType: 'ml',
      lane: 'standard' as const,
      input: { sagaId: activity.workflowId },
      taskToken: Buffer.from('not a real token'),
      activity,
      timeoutMs: 60_000,
    };
    // The lane worker must not run these (their token is fake): stop it first.
    await laneWorker.stop();
    const first = await submitStep(express, submission);
    const again = await submitStep(express, submission);
    expect(again.taskId).toBe(first.taskId);
    const retry = await submitStep(express, { ...submission, activity: { ...activity, attempt: 2 } });
    expect(retry.taskId).not.toBe(first.taskId);
    expect(await redis.xlen(`${prefix}:lane:{step.ml}:standard`)).toBe(2);
    expect(stepIdempotencyKey(activity)).toContain(`${activity.workflowId}:${activity.runId}:3:1`);
    await redis.del(`${prefix}:lane:{step.ml}:standard`);
    laneWorker = await startStepWorker({ client: ctx.client, redis, prefix });
  });
});
