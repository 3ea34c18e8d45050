/**
 * Approval gates on a real dev server: the research pipeline with `approval: 'before_backtest'`, answered through
 * SagaClient (the CLI and MCP tools call these methods).
 */
import type Redis from 'ioredis';
import { temporal } from '@temporalio/proto';
import {
  createTestPipelineActivities,
  releaseStep,
  type PipelineCall,
  type PipelineScenario,
} from '../fixtures/test-activities';
import { deleteKeys, redisClient, uniquePrefix } from '../helpers/redis';
import { temporalTestContext, uniqueTaskQueue, type TemporalTestContext } from '../helpers/temporal';
import { waitFor } from '../helpers/wait';
import { SagaClient } from '../../src/client/saga-client';
import { SagaNotAwaitingApprovalError } from '../../src/client/errors';
import { PIPELINE_APPROVAL_STEP, type PipelineInput } from '../../src/workflows/research/pipeline-contract';
import { FAST_TUNING, recordingSinks, type SinkEvent } from './saga-test-kit';
import { runSagalane } from '../front/front-kit';
import { temporalAddress } from '../helpers/temporal';
import type { SagaStateView } from '../../src/workflows/saga-contract';

describe('approval gates (researchPipeline approval: before_backtest)', () => {
  let ctx: TemporalTestContext;
  let redis: Redis;
  let sagas: SagaClient;
  let calls: PipelineCall[];
  const keyPrefix = uniquePrefix('saga-approval');
  const taskQueue = uniqueTaskQueue('saga-approval');
  const events: SinkEvent[] = [];
  const scenarios = new Map<string, PipelineScenario>();
  const callsOf = (sagaId: string) => calls.filter((c) => c.sagaId === sagaId).map((c) => c.name);

  beforeAll(async () => {
    ctx = await temporalTestContext();
    redis = redisClient();
    const agents = createTestPipelineActivities({
      redis,
      keyPrefix,
      scenarioFor: (sagaId) => scenarios.get(sagaId) ?? {},
    });
    calls = agents.calls;
    await ctx.startWorker({ taskQueue, activities: agents.activities, sinks: recordingSinks(events) });
    sagas = new SagaClient(ctx.client, { taskQueue });
  });
  afterAll(async () => {
    await ctx.closeAll();
    await deleteKeys(redis, keyPrefix);
    redis.disconnect();
  });

  const start = async (extra: Partial<PipelineInput> = {}) => {
    const { sagaId } = await sagas.startPipeline(
      { idea: 'mean reversion after gaps', symbol: 'APRV', approval: 'before_backtest', ...extra },
      { tuning: FAST_TUNING },
    );
    return sagaId;
  };
  const awaitingApproval = async (sagaId: string) => {
    let last: SagaStateView | undefined;
    return waitFor(
      () => `saga ${sagaId} to await approval; last: ${JSON.stringify(last)}`,
      async () => {
        last = await sagas.getState(sagaId);
        return last.state === 'awaiting_approval' && last;
      },
      20_000,
    );
  };
  const updateEvents = async (sagaId: string) => {
    const history = await ctx.client.workflow.getHandle(sagaId).fetchHistory();
    const { EventType } = temporal.api.enums.v1;
    const names = new Map<number, string>(
      Object.entries(EventType)
        .filter(([name]) => name.includes('UPDATE'))
        .map(([name, value]) => [Number(value), name]),
    );
    return (history.events ?? []).flatMap((e) => names.get(Number(e.eventType)) ?? []);
  };

  it('waits in awaiting_approval after ml; approve lets the backtest run and the saga complete', async () => {
    const sagaId = await start();
    const waiting = await awaitingApproval(sagaId);
    expect(waiting.currentStep).toBe(PIPELINE_APPROVAL_STEP);
    expect(waiting.steps.at(-1)).toMatchObject({
      name: PIPELINE_APPROVAL_STEP,
      status: 'running',
      approval: { decision: 'pending' },
    });
    expect(callsOf(sagaId)).toEqual(['reasoning', 'codegen', 'ml']);
    const after = await sagas.approve(sagaId, { approver: 'ana', comment: 'sharpe looks sane' });
    expect(['backtest', 'completed']).toContain(after.state);
    const result = await sagas.result(sagaId);
    expect(result.sagaId).toBe(sagaId);
    expect(callsOf(sagaId)).toEqual(['reasoning', 'codegen', 'ml', 'backtest']);
    const final = await sagas.getState(sagaId);
    expect(final.state).toBe('completed');
    expect(final.steps.find((s) => s.name === PIPELINE_APPROVAL_STEP)).toMatchObject({
      status: 'completed',
      approval: { decision: 'approved', approver: 'ana', comment: 'sharpe looks sane' },
    });
  });

  it('reject rolls the saga back with reason rejected; the backtest never runs', async () => {
    const sagaId = await start();
    await awaitingApproval(sagaId);
    const after = await sagas.reject(sagaId, { reason: 'model overfits', approver: 'bo' });
    expect(['compensating', 'rolled_back']).toContain(after.state);
    await expect(sagas.result(sagaId)).rejects.toThrow(/rolled_back/);
    const final = await sagas.getState(sagaId);
    expect(final.state).toBe('rolled_back');
    expect(final.error).toMatchObject({
      reason: 'rejected',
      step: PIPELINE_APPROVAL_STEP,
      cancelReason: 'model overfits',
    });
    expect(final.error?.message).toBe(`approval "${PIPELINE_APPROVAL_STEP}" rejected by bo: model overfits`);
    expect(callsOf(sagaId)).toEqual([
      'reasoning',
      'codegen',
      'ml',
      'compensateMl',
      'compensateCodegen',
      'compensateReasoning',
    ]);
  });

  it('an approval not answered within approvalTimeoutMs rolls back with reason approval_timeout', async () => {
    const sagaId = await start({ approvalTimeoutMs: 500 });
    await expect(sagas.result(sagaId)).rejects.toThrow(/rolled_back/);
    const final = await sagas.getState(sagaId);
    expect(final.error).toMatchObject({ reason: 'approval_timeout', step: PIPELINE_APPROVAL_STEP });
    expect(final.steps.at(-1)).toMatchObject({ status: 'failed', approval: { decision: 'timed_out' } });
    expect(final.compensations.map((c) => c.step)).toEqual(['ml', 'codegen', 'reasoning']);
  });

  it('a second answer is refused by the validator and never reaches the history', async () => {
    const sagaId = await start();
    await awaitingApproval(sagaId);
    await sagas.approve(sagaId, { approver: 'first' });
    await expect(sagas.approve(sagaId, { approver: 'second' })).rejects.toBeInstanceOf(
      SagaNotAwaitingApprovalError,
    );
    await expect(sagas.reject(sagaId, { reason: 'too late' })).rejects.toThrow(/not awaiting approval/);
    await sagas.result(sagaId);
    // One accepted + one completed update (the first answer); the refused ones left nothing.
    expect(await updateEvents(sagaId)).toEqual([
      'EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED',
      'EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED',
    ]);
    const final = await sagas.getState(sagaId);
    expect(final.steps.find((s) => s.name === PIPELINE_APPROVAL_STEP)?.approval?.approver).toBe('first');
  });

  it('refuses an answer to a saga that is not awaiting approval, and one that is over', async () => {
    const { sagaId } = await sagas.startPipeline(
      { idea: 'no gate here', symbol: 'NOGATE' },
      { tuning: FAST_TUNING },
    );
    await sagas.result(sagaId);
    const err = await sagas.approve(sagaId).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SagaNotAwaitingApprovalError);
    expect((err as Error).message).toContain(`Saga "${sagaId}" is not awaiting approval (state: completed)`);
    expect(await updateEvents(sagaId)).toEqual([]);
    await expect(sagas.approve(sagaId, { comment: 'x'.repeat(2001) })).rejects.toThrow(/at most 2000/);
  });

  it('refuses an answer to a running saga that is not at an approval gate, before history', async () => {
    const sagaId = `pipeline-BLOCKED-${Date.now()}`;
    scenarios.set(sagaId, { blockAt: 'ml' });
    await sagas.startPipeline(
      { idea: 'blocked in ml', symbol: 'BLOCKED' },
      { workflowId: sagaId, tuning: FAST_TUNING },
    );
    await waitFor('the saga in ml', async () => (await sagas.getState(sagaId)).state === 'ml', 20_000);
    const err = await sagas.reject(sagaId, { reason: 'no' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SagaNotAwaitingApprovalError);
    expect((err as SagaNotAwaitingApprovalError).state).toBe('ml');
    expect(await updateEvents(sagaId)).toEqual([]);
    await releaseStep(redis, keyPrefix, sagaId);
    await expect(sagas.result(sagaId)).resolves.toMatchObject({ sagaId });
  });

  it('time awaiting approval does not count against the saga timeout', async () => {
    const sagaId = await start({ timeoutMs: 2000 });
    await awaitingApproval(sagaId);
    await new Promise((r) => setTimeout(r, 2500)); // longer than the saga timeout, spent waiting for a human
    await sagas.approve(sagaId);
    await expect(sagas.result(sagaId)).resolves.toMatchObject({ sagaId });
  });

  describe('through the CLI (`sagalane saga approve|reject`)', () => {
    // Each spawns `tsx src/cli/index.ts` (seconds on a busy box) and waits for the saga.
    jest.setTimeout(400_000);
    const cli = (args: string[]) =>
      runSagalane(
        {
          ...process.env,
          TEMPORAL_ADDRESS: temporalAddress(),
          SAGALANE_TASK_QUEUE: taskQueue,
          SAGALANE_LOG_LEVEL: 'warn',
        },
        args,
        150_000,
      );

    it('approve --json prints the state after the answer; a second approve fails naming the state', async () => {
      const sagaId = await start();
      await awaitingApproval(sagaId);
      const run = await cli([
        'saga',
        'approve',
        sagaId,
        '--approver',
        'cli-user',
        '--comment',
        'ok',
        '--json',
      ]);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      const state = JSON.parse(run.stdout) as SagaStateView;
      expect(['backtest', 'completed']).toContain(state.state);
      await sagas.result(sagaId);
      const again = await cli(['saga', 'approve', sagaId]);
      expect(again.code).not.toBe(0);
      expect(again.stderr).toContain(`Saga "${sagaId}" is not awaiting approval (state: completed)`);
      const final = await sagas.getState(sagaId);
      expect(final.steps.find((s) => s.name === PIPELINE_APPROVAL_STEP)?.approval).toMatchObject({
        decision: 'approved',
        approver: 'cli-user',
        comment: 'ok',
      });
    });

    it('reject --reason rolls the saga back', async () => {
      const sagaId = await start();
      await awaitingApproval(sagaId);
      const run = await cli(['saga', 'reject', sagaId, '--reason', 'not today']);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(`Rejected ${sagaId}; rolling back`);
      await expect(sagas.result(sagaId)).rejects.toThrow(/rolled_back/);
      expect((await sagas.getState(sagaId)).error).toMatchObject({
        reason: 'rejected',
        cancelReason: 'not today',
      });
    });
  });
});
