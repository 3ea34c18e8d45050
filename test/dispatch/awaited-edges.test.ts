/**
 * Awaited steps' edges (review of 2026-12-01), against real Redis and real lane workers; the dispatch runs in the
 * SDK's activity context for a local activity (MockActivityEnvironment: an awaited step's dispatch talks to Redis
 * only, never to the server):
 * - a Redis error while waiting does not fail the step (item 1);
 * - a completion whose message is lost is still seen, by reading the task again (item 2);
 * - a re-run of an attempt whose earlier task was stopped by its mark runs the step again (item 3);
 * - a task queued past its deadline is dropped without running, even once the over-mark expired (item 4);
 * - a lane worker without a mark store refuses awaited steps (item 7);
 * - a cancel whose over-mark cannot be set is still the cancellation (lesser item).
 */
import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createLaneDispatchActivities, submitStep } from '../../src/dispatch/lane-dispatch';
import { PIPELINE_DISPATCH_STEPS } from '../../src/activities/research/pipeline-dispatch-steps';
import { AWAITED_STEP_REFUSED_FAILURE } from '../../src/dispatch/activity-completion';
import { stepCancelKey } from '../../src/dispatch/activity-step-contract';
import { RedisUnavailableError } from '../../src/lane/errors';
import type { ExpressClient } from '../../src/lane/express-client';
import type { ExpressWorker } from '../../src/lane/express-worker';
import { LaneKeys } from '../../src/lane/keys';
import { deleteKeys, redisClient, uniquePrefix } from '../helpers/redis';
import { temporalTestContext, type TemporalTestContext } from '../helpers/temporal';
import { waitFor } from '../helpers/wait';
import { startStepWorker, stepClient } from './dispatch-kit';
import { recordedRuns, release } from './fixtures/step-handlers';

/** The activity context of an awaited codegen (local activity 2, attempt 1) of saga `sagaId`, run `runId`. */
function localCodegen(sagaId: string, runId: string, startToCloseTimeoutMs = 60_000) {
  return new MockActivityEnvironment({
    isLocal: true,
    activityId: '2',
    activityType: 'codegen',
    attempt: 1,
    startToCloseTimeoutMs,
    workflowExecution: { workflowId: sagaId, runId },
  });
}

type Settled = { ok: true; value: unknown; at: number } | { ok: false; err: unknown; at: number };
const settle = (p: Promise<unknown>): Promise<Settled> =>
  p.then(
    (value) => ({ ok: true, value, at: Date.now() }),
    (err: unknown) => ({ ok: false, err, at: Date.now() }),
  );

async function ended(express: ExpressClient, taskId: string) {
  return waitFor(`lane task ${taskId} to end`, async () => {
    const info = await express.get(taskId);
    return info?.status === 'succeeded' || info?.status === 'dead' ? info : undefined;
  });
}

describe('awaited steps: edges', () => {
  let ctx: TemporalTestContext;
  let redis: Redis;
  const prefixes: string[] = [];
  const clients: ExpressClient[] = [];
  const workers: ExpressWorker[] = [];
  /** A lane of its own (prefix and client), with no lane worker unless the test starts one. */
  const lane = (name: string) => {
    const prefix = uniquePrefix(`dispatch-awaited-${name}`);
    prefixes.push(prefix);
    const express = stepClient(prefix);
    clients.push(express);
    return { prefix, express };
  };
  const dispatchOf = (express: ExpressClient, prefix: string, opts: { laneTimeoutGraceMs?: number } = {}) => {
    const taskIds: string[] = [];
    const dispatch = createLaneDispatchActivities({
      express,
      steps: PIPELINE_DISPATCH_STEPS,
      awaited: { redis, keyPrefix: prefix },
      onDispatched: ({ taskId }) => taskIds.push(taskId),
      ...opts,
    });
    return { codegen: dispatch.codegen!, taskIds };
  };

  beforeAll(async () => {
    ctx = await temporalTestContext();
    redis = redisClient();
  });

  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await ctx?.closeAll();
    await Promise.all(clients.map((c) => c.close()));
    for (const p of prefixes) await deleteKeys(redis, p);
    redis.disconnect();
  });

  it('a Redis error while waiting is no verdict: the dispatch keeps waiting and returns the value, one lane task', async () => {
    const { prefix, express } = lane('blip');
    workers.push(await startStepWorker({ client: ctx.client, redis, prefix, ledger: true }));
    // A stub only for the failing reads: the client's fail-fast connection throws RedisUnavailableError while it
    // reconnects, which a real Redis blip cannot be timed to overlap reliably. Everything else is the real client.
    let failedReads = 0;
    let submits = 0;
    const blip = new Proxy(express, {
      get(target, prop, receiver) {
        if (prop === 'result' || prop === 'get') {
          return (...args: unknown[]) => {
            if (failedReads < 3) {
              failedReads++;
              return Promise.reject(new RedisUnavailableError('redis://test', 'connection is reconnecting'));
            }
            return (target[prop] as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          };
        }
        if (prop === 'submit') {
          return (...args: unknown[]) => {
            submits++;
            return (target.submit as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          };
        }
        return Reflect.get(target, prop, receiver) as unknown;
      },
    });
    const sagaId = `pipeline-BLIP1-${randomUUID()}`;
    const { codegen, taskIds } = dispatchOf(blip, prefix);
    const settled = await settle(localCodegen(sagaId, randomUUID()).run(codegen, { sagaId, plan: {} }));
    expect(settled).toMatchObject({ ok: true, value: { value: { artifact: { key: expect.any(String) } } } });
    expect(failedReads).toBe(3);
    expect(submits).toBe(1);
    expect(taskIds).toHaveLength(1);
    expect((await recordedRuns(redis, prefix, sagaId)).map((r) => r.taskId)).toEqual(taskIds);
  });

  it('a completion whose message is lost is seen within ~2 s: the dispatch reads the task again while it waits', async () => {
    const { prefix, express } = lane('lost');
    const sagaId = `pipeline-LOST1-${randomUUID()}`;
    const { codegen, taskIds } = dispatchOf(express, prefix);
    const outcome = settle(localCodegen(sagaId, randomUUID()).run(codegen, { sagaId, plan: {} }));
    const taskId = await waitFor('the lane task', async () => taskIds[0]);
    // The task's record says it succeeded, but no message is published (as if sent while the subscriber reconnected).
    const completedAt = Date.now();
    const value = { value: { artifact: { key: 'lost-message' } } };
    await redis.hset(new LaneKeys(prefix).task(taskId), {
      status: 'succeeded',
      finishedAt: String(completedAt),
      result: JSON.stringify({ activity: 'completed', value }),
    });
    const settled = await Promise.race([
      outcome,
      new Promise<'still waiting'>((r) => setTimeout(() => r('still waiting'), 5_000)),
    ]);
    expect(settled).toMatchObject({ ok: true, value });
    expect((settled as Settled).at - completedAt).toBeLessThan(2_500);
  });

  it("a re-run of an attempt whose earlier lane task was stopped by its mark (an eviction's cancel) runs the step again under a fresh key", async () => {
    const { prefix, express } = lane('rerun');
    workers.push(await startStepWorker({ client: ctx.client, redis, prefix, ledger: true }));
    const sagaId = `pipeline-BLOCKCGR1-${randomUUID()}`;
    const runId = randomUUID();
    const first = dispatchOf(express, prefix);
    const env1 = localCodegen(sagaId, runId);
    const cancelled = settle(env1.run(first.codegen, { sagaId, plan: {} }));
    await waitFor('codegen running', async () => (await recordedRuns(redis, prefix, sagaId)).length > 0);
    env1.cancel();
    expect(await cancelled).toMatchObject({ ok: false, err: expect.any(CancelledFailure) });
    expect((await ended(express, first.taskIds[0]!)).result).toMatchObject({ activity: 'cancelled' });
    // The workflow task is retried (the run was evicted): the same local activity, same attempt, runs again.
    const again = dispatchOf(express, prefix);
    const rerun = settle(localCodegen(sagaId, runId).run(again.codegen, { sagaId, plan: {} }));
    await waitFor(
      'codegen running again',
      async () => (await recordedRuns(redis, prefix, sagaId)).length > 1,
    );
    await release(redis, prefix, sagaId);
    expect(await rerun).toMatchObject({
      ok: true,
      value: { value: { artifact: { key: expect.any(String) } } },
    });
    const runs = await recordedRuns(redis, prefix, sagaId);
    expect(runs).toHaveLength(2);
    expect(again.taskIds.at(-1)).toBe(runs[1]!.taskId);
    expect(runs[1]!.taskId).not.toBe(runs[0]!.taskId);
  });

  it('a lane task queued past its deadline is dropped without running, even after its over-mark expired', async () => {
    const { prefix, express } = lane('deadline');
    const sagaId = `pipeline-LATE1-${randomUUID()}`;
    // 1 s start-to-close and no lane grace: the over-mark lives a few seconds only.
    const { codegen, taskIds } = dispatchOf(express, prefix, { laneTimeoutGraceMs: 0 });
    const env = localCodegen(sagaId, randomUUID(), 1_000);
    const outcome = settle(env.run(codegen, { sagaId, plan: {} }));
    const taskId = await waitFor('the lane task', async () => taskIds[0]);
    env.cancel(); // the local activity timed out: every lane worker is down, nothing ran it
    expect(await outcome).toMatchObject({ ok: false, err: expect.any(CancelledFailure) });
    // The mark expires (deleted here rather than waiting for its TTL); then a lane worker comes back.
    await redis.del(stepCancelKey(prefix, taskId));
    workers.push(await startStepWorker({ client: ctx.client, redis, prefix, ledger: true }));
    expect((await ended(express, taskId)).result).toMatchObject({ activity: 'dropped' });
    expect(await recordedRuns(redis, prefix, sagaId)).toEqual([]);
  });

  it('a cancel whose over-mark cannot be set (Redis errors) is still reported as the cancellation, not a Redis error', async () => {
    const { prefix, express } = lane('markfails');
    const sagaId = `pipeline-MARKFAIL1-${randomUUID()}`;
    const taskIds: string[] = [];
    const refusedSets: unknown[][] = [];
    const dispatch = createLaneDispatchActivities({
      express,
      steps: PIPELINE_DISPATCH_STEPS,
      // A stub only for the mark's SET: a Redis that refuses it (the waits and reads go to the real lane).
      awaited: {
        redis: {
          set: (...args: unknown[]) => {
            refusedSets.push(args);
            return Promise.reject(new Error('READONLY You cannot write'));
          },
        },
        keyPrefix: prefix,
      },
      onDispatched: ({ taskId }) => taskIds.push(taskId),
    });
    const env = localCodegen(sagaId, randomUUID());
    const outcome = settle(env.run(dispatch.codegen!, { sagaId, plan: {} }));
    await waitFor('the lane task', async () => taskIds[0]);
    env.cancel();
    expect(await outcome).toMatchObject({ ok: false, err: expect.any(CancelledFailure) });
    // The cancel did try to set the over-mark, on the dispatched task's key, and was refused.
    expect(refusedSets.map((args) => args[0])).toContain(stepCancelKey(prefix, taskIds[0]!));
  });

  it('a lane worker without a mark store (runLedger) refuses an awaited step, non-retryably, without running it', async () => {
    const { prefix, express } = lane('noledger');
    workers.push(await startStepWorker({ client: ctx.client, redis, prefix, ledger: false }));
    const sagaId = `pipeline-NOLEDGER1-${randomUUID()}`;
    const { taskId } = await submitStep(express, {
      activityType: 'codegen',
      lane: 'express',
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
    expect((await ended(express, taskId)).result).toMatchObject({
      activity: 'failed',
      nonRetryable: true,
      failureType: AWAITED_STEP_REFUSED_FAILURE,
    });
    expect(await recordedRuns(redis, prefix, sagaId)).toEqual([]);
  });
});
