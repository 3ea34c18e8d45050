/**
 * The Saga helper's features on a real dev server (test/fixtures/test-workflows.ts `fixtureFeatureSaga`): parallel
 * fan-out/fan-in, compensation modes, continueWithError, compensation options, compensation before the action,
 * the aggregated failure and `steps[].attempts`.
 */
import { WorkflowFailedError } from '@temporalio/client';
import type Redis from 'ioredis';
import { createFeatureActivities } from '../fixtures/test-activities';
import type { FeatureSagaInput } from '../fixtures/test-workflows';
import { deleteKeys, redisClient, uniquePrefix } from '../helpers/redis';
import { temporalTestContext, uniqueTaskQueue, type TemporalTestContext } from '../helpers/temporal';
import { stepAttemptActivityInterceptor } from '../../src/runtime/step-attempt-interceptor';
import { sagaFailureDetails, sagaStateQuery } from '../../src/workflows/saga';
import { recordingSinks, type SinkEvent } from './saga-test-kit';

describe('Saga helper features on a real Temporal dev server', () => {
  let ctx: TemporalTestContext;
  let redis: Redis;
  const keyPrefix = uniquePrefix('saga-features');
  const taskQueue = uniqueTaskQueue('saga-features');
  const log: string[] = [];
  const events: SinkEvent[] = [];
  let counter = 0;

  beforeAll(async () => {
    ctx = await temporalTestContext();
    redis = redisClient();
    await ctx.startWorker({
      taskQueue,
      activities: createFeatureActivities({ log, redis, keyPrefix }),
      sinks: recordingSinks(events),
      maxHeartbeatThrottleInterval: '200ms',
      interceptors: { activity: [stepAttemptActivityInterceptor] },
    });
  });
  afterAll(async () => {
    await ctx.closeAll();
    await deleteKeys(redis, keyPrefix);
    redis.disconnect();
  });

  const start = async (input: FeatureSagaInput) => {
    log.length = 0;
    return ctx.client.workflow.start('fixtureFeatureSaga', {
      taskQueue,
      workflowId: `feature-${Date.now()}-${counter++}`,
      args: [input],
    });
  };
  const failureOf = async (handle: { result(): Promise<unknown> }) => {
    const err = await handle.result().then(
      () => {
        throw new Error('the saga completed; expected a rollback');
      },
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    return err as WorkflowFailedError;
  };
  const step = (name: string, extra: object = {}) => ({ kind: 'step' as const, name, ...extra });

  it('parallel: fans out, fans in with results in branch order, and shows the group as the state', async () => {
    const handle = await start({
      ops: [
        step('prepare'),
        {
          kind: 'parallel',
          name: 'fan-out',
          branches: [[step('a', { behaviour: 'slow' })], [step('b')], [step('c1'), step('c2')]],
        },
        step('finish'),
      ],
    });
    expect(await handle.result()).toEqual([
      'prepare-result',
      [['a-result'], ['b-result'], ['c1-result', 'c2-result']],
      'finish-result',
    ]);
    // All branches started before the slow one finished.
    expect(log.indexOf('act:b#1')).toBeLessThan(log.indexOf('done:a'));
    expect(log.indexOf('act:c1#1')).toBeLessThan(log.indexOf('done:a'));
    const state = await handle.query(sagaStateQuery);
    expect(state.state).toBe('completed');
    // Records are added as steps start: the three branches together, c2 after c1.
    expect(state.steps.map((s) => [s.name, s.status, s.group])).toEqual([
      ['prepare', 'completed', undefined],
      ['a', 'completed', 'fan-out'],
      ['b', 'completed', 'fan-out'],
      ['c1', 'completed', 'fan-out'],
      ['c2', 'completed', 'fan-out'],
      ['finish', 'completed', undefined],
    ]);
    const transitions = events
      .filter((e) => e.sagaId === handle.workflowId && e.name === 'stateTransition')
      .map((e) => e.event.to);
    expect(transitions).toEqual(['prepare', 'fan-out', 'finish', 'completed']);
  });

  it('parallel: a failing branch cancels the running sibling first, then compensates the finished ones', async () => {
    const handle = await start({
      ops: [
        step('prepare'),
        {
          kind: 'parallel',
          name: 'fan-out',
          branches: [
            [step('finished-branch')],
            [step('running-branch', { behaviour: 'hold' })],
            [step('slow-then-fail', { behaviour: 'slow' }), step('failing', { behaviour: 'fail' })],
          ],
        },
        step('never'),
      ],
    });
    const err = await failureOf(handle);
    expect(err.cause?.message).toContain('step "failing" failed: failing refused');
    const cancelledAt = log.indexOf('cancelled:running-branch');
    expect(cancelledAt).toBeGreaterThan(log.indexOf('act:failing#1'));
    // The rollback starts after the sibling acknowledged its cancel.
    expect(log.slice(cancelledAt + 1)).toEqual([
      'undo-start:slow-then-fail:slow-then-fail-result',
      'undo-end:slow-then-fail',
      'undo-start:finished-branch:finished-branch-result',
      'undo-end:finished-branch',
      'undo-start:prepare:prepare-result',
      'undo-end:prepare',
    ]);
    expect(log).not.toContain('act:never#1');
    const state = await handle.query(sagaStateQuery);
    expect(state.state).toBe('rolled_back');
    expect(Object.fromEntries(state.steps.map((s) => [s.name, s.status]))).toEqual({
      prepare: 'completed',
      'finished-branch': 'completed',
      'running-branch': 'cancelled',
      'slow-then-fail': 'completed',
      failing: 'failed',
    });
    expect(state.error).toMatchObject({ reason: 'step_failed', step: 'failing' });
  });

  it('compensationMode sequential runs compensations one at a time, newest first', async () => {
    const handle = await start({
      ops: [
        step('one', { undo: 'slow' }),
        step('two', { undo: 'slow' }),
        step('three', { behaviour: 'fail' }),
      ],
      compensationMode: 'sequential',
    });
    await failureOf(handle);
    expect(log.filter((l) => l.startsWith('undo'))).toEqual([
      'undo-start:two:two-result',
      'undo-end:two',
      'undo-start:one:one-result',
      'undo-end:one',
    ]);
  });

  it('compensationMode parallel starts every compensation before any finishes', async () => {
    const handle = await start({
      ops: [
        step('one', { undo: 'slow' }),
        step('two', { undo: 'slow' }),
        step('three', { undo: 'slow' }),
        step('four', { behaviour: 'fail' }),
      ],
      compensationMode: 'parallel',
    });
    await failureOf(handle);
    const undos = log.filter((l) => l.startsWith('undo'));
    expect(undos.slice(0, 3).sort()).toEqual([
      'undo-start:one:one-result',
      'undo-start:three:three-result',
      'undo-start:two:two-result',
    ]);
    expect(undos.slice(3).sort()).toEqual(['undo-end:one', 'undo-end:three', 'undo-end:two']);
    const state = await handle.query(sagaStateQuery);
    expect(state.state).toBe('rolled_back');
    expect(state.compensations.map((c) => c.status)).toEqual(['completed', 'completed', 'completed']);
  });

  it('continueWithError off stops at the first failed compensation and records the rest as skipped', async () => {
    const handle = await start({
      ops: [step('one'), step('two'), step('three', { undo: 'fail' }), step('four', { behaviour: 'fail' })],
      continueWithError: false,
    });
    const err = await failureOf(handle);
    expect((err.cause as { type?: string }).type).toBe('SagaCompensationFailed');
    expect(err.cause?.message).toContain('compensation of "three" failed: undo of three broke');
    expect(err.cause?.message).toContain('not run after the first failure: "two", "one"');
    expect(log.filter((l) => l.startsWith('undo'))).toEqual(['undo-start:three:three-result']);
    const state = await handle.query(sagaStateQuery);
    expect(state.state).toBe('failed');
    expect(state.compensations).toEqual([
      { step: 'three', status: 'failed', error: 'undo of three broke' },
      { step: 'two', status: 'skipped' },
      { step: 'one', status: 'skipped' },
    ]);
  });

  it('continueWithError on (default) runs every compensation; one failure lists every failed one', async () => {
    const handle = await start({
      ops: [
        step('one', { undo: 'fail' }),
        step('two'),
        step('three', { undo: 'fail' }),
        step('four', { behaviour: 'fail' }),
      ],
    });
    const err = await failureOf(handle);
    expect(log.filter((l) => l.startsWith('undo-start'))).toHaveLength(3);
    const details = sagaFailureDetails(err);
    expect(details).toMatchObject({
      type: 'SagaCompensationFailed',
      error: { reason: 'step_failed', step: 'four' },
      failedCompensations: [
        { step: 'three', error: 'undo of three broke' },
        { step: 'one', error: 'undo of one broke' },
      ],
    });
    expect(details!.compensations.map((c) => [c.step, c.status])).toEqual([
      ['three', 'failed'],
      ['two', 'completed'],
      ['one', 'failed'],
    ]);
    expect(err.cause?.message).toBe(
      'step "four" failed: four refused; rollback incomplete: compensation of "three" failed: undo of three broke; ' +
        'compensation of "one" failed: undo of one broke',
    );
    // The original error is the cause.
    expect(rootCauseMessage(err)).toBe('four refused');
  });

  it('per-step compensation options: a saga-level retry policy and a per-attempt timeout', async () => {
    const handle = await start({
      ops: [
        step('flaky-undo', {
          undo: 'flaky',
          compensation: { retry: { maximumAttempts: 3, initialIntervalMs: 50 } },
        }),
        step('hanging-undo', {
          undo: 'hang',
          compensation: { timeoutMs: 400, retry: { maximumAttempts: 2, initialIntervalMs: 50 } },
        }),
        step('boom', { behaviour: 'fail' }),
      ],
    });
    await failureOf(handle);
    const state = await handle.query(sagaStateQuery);
    expect(state.compensations).toEqual([
      { step: 'hanging-undo', status: 'failed', error: 'compensation timed out after 400 ms', attempts: 2 },
      { step: 'flaky-undo', status: 'completed', attempts: 3 },
    ]);
    expect(log.filter((l) => l.startsWith('undo-start:flaky-undo'))).toHaveLength(3);
  });

  it('compensation registered before the action undoes a step that half-applied and failed', async () => {
    const handle = await start({
      ops: [step('first'), step('half-step', { behaviour: 'half', before: true }), step('never')],
    });
    await failureOf(handle);
    expect(await redis.exists(`${keyPrefix}:half:half-step`)).toBe(0);
    expect(log.filter((l) => l.startsWith('undo-start'))).toEqual([
      'undo-start:half-step:none', // the action never returned: the compensation gets undefined
      'undo-start:first:first-result',
    ]);
    const state = await handle.query(sagaStateQuery);
    expect(state.compensations.map((c) => [c.step, c.status])).toEqual([
      ['half-step', 'completed'],
      ['first', 'completed'],
    ]);
  });

  it('steps[].attempts is the activity attempt that finished the step', async () => {
    const handle = await start({ ops: [step('steady'), step('flaky', { behaviour: 'flaky-once' })] });
    await handle.result();
    expect(log).toEqual(['act:steady#1', 'done:steady', 'act:flaky#1', 'act:flaky#2', 'done:flaky']);
    const state = await handle.query(sagaStateQuery);
    expect(state.steps.map((s) => [s.name, s.attempts])).toEqual([
      ['steady', 1],
      ['flaky', 2],
    ]);
  });
});

function rootCauseMessage(err: unknown): string | undefined {
  let current = err as { message?: string; cause?: unknown } | undefined;
  let message = current?.message;
  while (current?.cause) {
    current = current.cause as { message?: string; cause?: unknown };
    message = current.message;
  }
  return message;
}
