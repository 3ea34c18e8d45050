/**
 * The Temporal SDK behaviours lane dispatch relies on, pinned against the real dev server (read in
 * node_modules/@temporalio/client/lib/async-completion-client.js: `handleError` maps gRPC NOT_FOUND to
 * `ActivityNotFoundError`; `heartbeat` throws `ActivityCancelledError` when the response has `cancelRequested`):
 * - an activity that throws `CompleteAsyncError` stays open until `client.activity.complete(taskToken, value)`;
 * - `heartbeat(taskToken)` of an activity whose cancel was requested throws `ActivityCancelledError`, also for an
 *   activity scheduled without a heartbeat timeout (reasoning, codegen);
 * - any write with the token of an attempt that is over (completed, timed out) throws `ActivityNotFoundError`;
 * - `fail(taskToken, ApplicationFailure.nonRetryable(...))` is not retried by Temporal.
 * If an SDK upgrade changes one of these, this file fails before the dispatch tests do.
 */
import { NO_PIPELINE_LOCAL_ACTIVITIES } from '../../src/activities/research/local-steps';
import { ActivityCancelledError, ActivityNotFoundError } from '@temporalio/client';
import { CompleteAsyncError, Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { PipelineActivities } from '../../src/activities/research/contracts';
import { createLogSagaSinks } from '../../src/runtime/saga-worker';
import { createLogger } from '../../src/logger';
import { cancelUpdate } from '../../src/workflows/saga-contract';
import { temporalTestContext, uniqueTaskQueue, type TemporalTestContext } from '../helpers/temporal';
import { failureOf, queryState, startPipeline } from '../sagas/saga-test-kit';
import { waitFor } from '../helpers/wait';

describe('Temporal async completion (what lane dispatch relies on)', () => {
  let ctx: TemporalTestContext;
  const taskQueue = uniqueTaskQueue('async-completion');
  /** Task tokens of the async `reasoning` attempts, by workflow id. */
  const tokens = new Map<string, Uint8Array[]>();

  beforeAll(async () => {
    ctx = await temporalTestContext();
    const hold = async () => {
      const { taskToken, workflowExecution } = Context.current().info;
      const list = tokens.get(workflowExecution!.workflowId) ?? [];
      list.push(taskToken);
      tokens.set(workflowExecution!.workflowId, list);
      throw new CompleteAsyncError();
    };
    const noop = async () => undefined;
    const activities = {
      reasoning: hold,
      // Left open: the test only needs to see the saga reach codegen.
      codegen: async () => {
        throw new CompleteAsyncError();
      },
      compensateReasoning: noop,
      compensateCodegen: noop,
      compensateMl: noop,
      compensateBacktest: noop,
      ...NO_PIPELINE_LOCAL_ACTIVITIES,
    } as unknown as PipelineActivities;
    await ctx.startWorker({ taskQueue, activities, sinks: createLogSagaSinks(createLogger('silent')) });
  });

  afterAll(async () => {
    await ctx?.closeAll();
  });

  const tokenOf = (workflowId: string, attempt = 1) =>
    waitFor(
      `reasoning attempt ${attempt} of ${workflowId}`,
      async () => tokens.get(workflowId)?.[attempt - 1],
    );

  it('CompleteAsyncError leaves the activity open; complete(token) finishes it once, a second write is ActivityNotFoundError', async () => {
    const handle = await startPipeline(ctx.client, taskQueue, { idea: 'async one', symbol: 'ASYNC1' });
    const token = await tokenOf(handle.workflowId);
    await ctx.client.activity.heartbeat(token);
    expect((await queryState(handle)).currentStep).toBe('reasoning');
    const plan = {
      family: 'ma_crossover',
      parameterRanges: { fast: { min: 2, max: 3, step: 1 } },
      rationale: 'x',
      provider: 'test',
    };
    await ctx.client.activity.complete(token, { plan, cacheKey: 'k', cached: false });
    // The saga moves on to codegen: reasoning completed with the value.
    await waitFor('codegen', async () => (await queryState(handle)).currentStep === 'codegen');
    await expect(ctx.client.activity.complete(token, {})).rejects.toBeInstanceOf(ActivityNotFoundError);
    await expect(ctx.client.activity.heartbeat(token)).rejects.toBeInstanceOf(ActivityNotFoundError);
    await handle.terminate('done with it');
  });

  it('heartbeat(token) throws ActivityCancelledError after a cancel, for a step without a heartbeat timeout; reportCancellation then lets the rollback run', async () => {
    const handle = await startPipeline(ctx.client, taskQueue, { idea: 'async two', symbol: 'ASYNC2' });
    const token = await tokenOf(handle.workflowId);
    await handle.executeUpdate(cancelUpdate, { args: ['pin'] });
    await expect(ctx.client.activity.heartbeat(token)).rejects.toBeInstanceOf(ActivityCancelledError);
    // WAIT_CANCELLATION_COMPLETED: the saga waits in reasoning until the cancellation is reported.
    expect((await queryState(handle)).state).toBe('reasoning');
    await ctx.client.activity.reportCancellation(token);
    const failure = await failureOf(handle);
    expect(failure.cause?.type).toBe('SagaRolledBack');
  });

  it('fail(token, nonRetryable) is not retried; fail(token, retryable) is, with a new task token per attempt', async () => {
    const once = await startPipeline(ctx.client, taskQueue, { idea: 'async three', symbol: 'ASYNC3' });
    await ctx.client.activity.fail(
      await tokenOf(once.workflowId),
      ApplicationFailure.nonRetryable('bad input', 'InvalidInput'),
    );
    await failureOf(once);
    expect(tokens.get(once.workflowId)).toHaveLength(1);

    const twice = await startPipeline(ctx.client, taskQueue, { idea: 'async four', symbol: 'ASYNC4' });
    const first = await tokenOf(twice.workflowId, 1);
    await ctx.client.activity.fail(first, ApplicationFailure.retryable('try again', 'Transient'));
    const second = await tokenOf(twice.workflowId, 2);
    expect(Buffer.from(second).equals(Buffer.from(first))).toBe(false);
    // The first attempt's token is dead now: its late outcome is refused, which is how a stale lane task is dropped.
    await expect(ctx.client.activity.complete(first, {})).rejects.toBeInstanceOf(ActivityNotFoundError);
    await twice.terminate('done with it');
  });
});
