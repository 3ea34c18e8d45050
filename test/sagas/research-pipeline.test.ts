import { randomUUID } from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import type Redis from 'ioredis';
import {
  createTestPipelineActivities,
  releaseStep,
  type PipelineCall,
  type PipelineScenario,
  type PipelineStepName,
} from '../fixtures/test-activities';
import { deleteKeys, redisClient, uniquePrefix } from '../helpers/redis';
import { temporalTestContext, uniqueTaskQueue, type TemporalTestContext } from '../helpers/temporal';
import { waitFor } from '../helpers/wait';
import {
  PIPELINE_STEPS,
  RESEARCH_PIPELINE_WORKFLOW,
  pipelineWorkflowId,
  type PipelineInput,
  type PipelineResult,
} from '../../src/workflows/research/pipeline-contract';
import { cancelUpdate } from '../../src/workflows/saga-contract';
import {
  FAST_TUNING,
  failureOf,
  queryState,
  recordingSinks,
  startPipeline,
  waitForState,
  type SinkEvent,
} from './saga-test-kit';

const compensationOf = (step: string) => `compensate${step[0]!.toUpperCase()}${step.slice(1)}`;

describe('researchPipeline saga on a real Temporal dev server', () => {
  let ctx: TemporalTestContext;
  let redis: Redis;
  const keyPrefix = uniquePrefix('saga-pipeline');
  const taskQueue = uniqueTaskQueue('saga-pipeline');
  const scenarios = new Map<string, PipelineScenario>();
  const events: SinkEvent[] = [];
  let calls: PipelineCall[];
  const callsOf = (sagaId: string) => calls.filter((c) => c.sagaId === sagaId).map((c) => c.name);
  /** Starts a saga whose agents follow `scenario` (registered before the first activity can run). */
  const start = (input: PipelineInput, scenario: PipelineScenario = {}) => {
    const workflowId = pipelineWorkflowId(input.symbol, randomUUID());
    scenarios.set(workflowId, scenario);
    return startPipeline(ctx.client, taskQueue, input, { workflowId });
  };

  beforeAll(async () => {
    ctx = await temporalTestContext();
    redis = redisClient();
    const agents = createTestPipelineActivities({
      redis,
      keyPrefix,
      scenarioFor: (sagaId) => scenarios.get(sagaId) ?? {},
    });
    calls = agents.calls;
    await ctx.startWorker({
      taskQueue,
      activities: agents.activities,
      sinks: recordingSinks(events),
      // Heartbeats reach the server quickly, so a cancel reaches a running step quickly.
      maxHeartbeatThrottleInterval: '200ms',
    });
  });
  afterAll(async () => {
    await ctx.closeAll();
    await deleteKeys(redis, keyPrefix);
    redis.disconnect();
  });

  it('completes: each step once, in order, and the state query shows it', async () => {
    const handle = await start({ idea: 'buy the dip in tech', symbol: 'AAPL' });
    const result = (await handle.result()) as PipelineResult;
    expect(callsOf(handle.workflowId)).toEqual(['reasoning', 'codegen', 'ml', 'backtest']);
    expect(result.sagaId).toBe(handle.workflowId);
    expect(result.plan.rationale).toContain('buy the dip in tech');
    expect(result.artifacts).toEqual({
      code: `test-artifact:${handle.workflowId}:codegen`,
      model: `test-artifact:${handle.workflowId}:ml`,
      report: `test-artifact:${handle.workflowId}:backtest`,
    });
    expect(result.metrics.sharpe).toBeCloseTo((10 + 'AAPL'.length) / 10);

    const state = await queryState(handle);
    expect(state).toMatchObject({
      sagaId: handle.workflowId,
      runId: handle.firstExecutionRunId,
      workflowType: RESEARCH_PIPELINE_WORKFLOW,
      state: 'completed',
      compensations: [],
      result,
    });
    expect(state.currentStep).toBeUndefined();
    expect(state.error).toBeUndefined();
    expect(state.steps.map((s) => [s.name, s.status, s.attempts])).toEqual(
      PIPELINE_STEPS.map((name) => [name, 'completed', 1]),
    );
    for (const step of state.steps) {
      expect(Date.parse(step.finishedAt!)).toBeGreaterThanOrEqual(Date.parse(step.startedAt));
    }

    const description = await handle.describe();
    expect(description.memo).toEqual({ idea: 'buy the dip in tech', symbol: 'AAPL' });
    expect(description.searchAttributes.SagaState).toEqual(['completed']);
    expect(description.searchAttributes.SagaStep).toEqual(['backtest']);

    const mine = events.filter((e) => e.sagaId === handle.workflowId);
    expect(mine.filter((e) => e.name === 'stateTransition').map((e) => e.event.to)).toEqual([
      ...PIPELINE_STEPS,
      'completed',
    ]);
    expect(mine.filter((e) => e.name === 'stepFinished').map((e) => e.event.outcome)).toEqual([
      'completed',
      'completed',
      'completed',
      'completed',
    ]);
    expect(mine.filter((e) => e.name === 'sagaEnded').map((e) => e.event.outcome)).toEqual(['completed']);
  });

  it.each(PIPELINE_STEPS.map((s, i) => [s, i] as const))(
    'rolls back when %s fails: compensations of exactly the finished steps, newest first',
    async (failedStep: PipelineStepName, index: number) => {
      const symbol = `F${index}`;
      const handle = await start({ idea: `fail at ${failedStep}`, symbol }, { failAt: failedStep });
      const failure = await failureOf(handle);
      expect(failure).toBeInstanceOf(WorkflowFailedError);
      expect(failure.cause?.type).toBe('SagaRolledBack');
      expect(failure.cause?.message).toContain(
        `step "${failedStep}" failed: injected failure in ${failedStep}`,
      );

      const finished = PIPELINE_STEPS.slice(0, index);
      const expectedCompensations = [...finished].reverse();
      expect(callsOf(handle.workflowId)).toEqual([
        ...finished,
        failedStep,
        ...expectedCompensations.map(compensationOf),
      ]);
      const state = await queryState(handle);
      expect(state.state).toBe('rolled_back');
      expect(state.error).toMatchObject({ reason: 'step_failed', step: failedStep });
      expect(state.compensations).toEqual(
        expectedCompensations.map((step) => ({ step, status: 'completed' })),
      );
      expect(state.steps.map((s) => s.status)).toEqual([...finished.map(() => 'completed'), 'failed']);
      const sa = (await handle.describe()).searchAttributes;
      expect(sa.SagaState).toEqual(['rolled_back']);
      expect(sa.SagaStep).toEqual([failedStep]);
    },
  );

  it('records a compensation that keeps failing, still runs the others and ends failed', async () => {
    const handle = await start(
      { idea: 'a compensation breaks', symbol: 'CF' },
      { failAt: 'backtest', failCompensationOf: 'codegen' },
    );
    const failure = await failureOf(handle);
    expect(failure.cause?.type).toBe('SagaCompensationFailed');
    expect(failure.cause?.message).toMatch(/compensation of "codegen" failed/);

    const state = await queryState(handle);
    expect(state.state).toBe('failed');
    expect(state.error).toMatchObject({ reason: 'step_failed', step: 'backtest' });
    expect(state.compensations).toEqual([
      { step: 'ml', status: 'completed' },
      { step: 'codegen', status: 'failed', error: 'injected compensation failure in codegen' },
      { step: 'reasoning', status: 'completed' },
    ]);
    // The failing compensation was retried up to its policy's limit before it was recorded.
    expect(callsOf(handle.workflowId).filter((c) => c === 'compensateCodegen')).toHaveLength(
      FAST_TUNING.compensationMaximumAttempts!,
    );
    expect(callsOf(handle.workflowId)).toContain('compensateReasoning');
    expect((await handle.describe()).searchAttributes.SagaState).toEqual(['failed']);
    const ended = events.filter((e) => e.sagaId === handle.workflowId && e.name === 'sagaEnded');
    expect(ended.map((e) => e.event.outcome)).toEqual(['failed']);
  });

  it('cancels a running step with the cancel update and rolls back with the reason', async () => {
    const handle = await start({ idea: 'cancel me during ml', symbol: 'CNL' }, { blockAt: 'ml' });
    await waitForState(handle, (s) => s.currentStep === 'ml');
    const accepted = await handle.executeUpdate(cancelUpdate, { args: ['user changed their mind'] });
    expect(accepted).toEqual({ accepted: true, state: 'ml' });

    const failure = await failureOf(handle);
    expect(failure.cause?.type).toBe('SagaRolledBack');
    expect(failure.cause?.message).toContain('saga cancelled during step "ml": user changed their mind');
    const state = await queryState(handle);
    expect(state.state).toBe('rolled_back');
    expect(state.error).toMatchObject({
      reason: 'cancelled',
      step: 'ml',
      cancelReason: 'user changed their mind',
    });
    expect(state.steps.find((s) => s.name === 'ml')?.status).toBe('cancelled');
    expect(state.compensations.map((c) => c.step)).toEqual(['codegen', 'reasoning']);
    expect(callsOf(handle.workflowId)).not.toContain('backtest');

    // The saga is over: a later cancel is refused by the server (SagaClient reports it as "already finished").
    await expect(handle.executeUpdate(cancelUpdate, { args: ['again'] })).rejects.toThrow(
      /already completed/,
    );
  });

  it('cancels with the cancel signal (for `temporal workflow signal --name cancel`)', async () => {
    const handle = await start({ idea: 'signal cancel', symbol: 'SIG' }, { blockAt: 'codegen' });
    await waitForState(handle, (s) => s.currentStep === 'codegen');
    await handle.signal('cancel', 'stop from the CLI');
    await failureOf(handle);
    const state = await queryState(handle);
    expect(state.state).toBe('rolled_back');
    expect(state.error).toMatchObject({ reason: 'cancelled', cancelReason: 'stop from the CLI' });
    expect(state.compensations).toEqual([{ step: 'reasoning', status: 'completed' }]);
  });

  it('compensates a step that finished although it was cancelled, and starts no further step', async () => {
    const handle = await start(
      { idea: 'codegen ignores the cancel', symbol: 'IGN' },
      { blockAt: 'codegen', ignoreCancel: true },
    );
    await waitForState(handle, (s) => s.currentStep === 'codegen');
    expect(await handle.executeUpdate(cancelUpdate, { args: ['too late for codegen'] })).toEqual({
      accepted: true,
      state: 'codegen',
    });
    // The rollback waits for codegen: it has not acknowledged the cancel.
    expect((await queryState(handle)).state).toBe('codegen');
    await releaseStep(redis, keyPrefix, handle.workflowId);
    await failureOf(handle);
    const state = await queryState(handle);
    expect(state.state).toBe('rolled_back');
    expect(state.error).toMatchObject({
      reason: 'cancelled',
      step: 'codegen',
      cancelReason: 'too late for codegen',
    });
    expect(state.steps.map((s) => `${s.name}:${s.status}`)).toEqual([
      'reasoning:completed',
      'codegen:completed',
    ]);
    expect(callsOf(handle.workflowId)).toEqual([
      'reasoning',
      'codegen',
      'compensateCodegen',
      'compensateReasoning',
    ]);
  });

  it('rolls back with reason timeout when the saga timer fires', async () => {
    const handle = await start(
      {
        idea: 'too slow',
        symbol: 'TMO',
        timeoutMs: 3_000,
      },
      { blockAt: 'backtest' },
    );
    const failure = await failureOf(handle);
    expect(failure.cause?.message).toContain('saga timed out after 3000 ms during step "backtest"');
    const state = await queryState(handle);
    expect(state.state).toBe('rolled_back');
    expect(state.error).toMatchObject({ reason: 'timeout', step: 'backtest' });
    expect(state.compensations.map((c) => c.step)).toEqual(['ml', 'codegen', 'reasoning']);
  });

  it('lets a blocked step finish once released (the fixture the cancel tests rely on)', async () => {
    const handle = await start({ idea: 'released', symbol: 'REL' }, { blockAt: 'reasoning' });
    await waitForState(handle, (s) => s.currentStep === 'reasoning');
    await releaseStep(redis, keyPrefix, handle.workflowId);
    await handle.result();
    expect((await queryState(handle)).state).toBe('completed');
  });

  it('starting twice with the same id returns the running saga (USE_EXISTING)', async () => {
    const first = await start({ idea: 'only once', symbol: 'DUP' }, { blockAt: 'reasoning' });
    const second = await ctx.client.workflow.start(RESEARCH_PIPELINE_WORKFLOW, {
      taskQueue,
      workflowId: first.workflowId,
      args: [{ idea: 'only once', symbol: 'DUP' }, FAST_TUNING],
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
    });
    expect(second.firstExecutionRunId).toBe(first.firstExecutionRunId);
    await releaseStep(redis, keyPrefix, first.workflowId);
    await second.result();
    expect(callsOf(first.workflowId)).toEqual(['reasoning', 'codegen', 'ml', 'backtest']);
  });

  it('refuses invalid input with a non-retryable failure that names the field', async () => {
    const handle = await ctx.client.workflow.start(RESEARCH_PIPELINE_WORKFLOW, {
      taskQueue,
      workflowId: `pipeline-invalid-${Date.now()}`,
      args: [{ idea: 'x', symbol: 'not a symbol!' }],
    });
    const failure = await failureOf(handle);
    expect(failure.cause?.type).toBe('InvalidPipelineInput');
    expect(failure.cause?.message).toMatch(/idea: .*symbol: /);
    expect(callsOf(handle.workflowId)).toEqual([]);
  });

  it('finds rolled-back sagas by the SagaState search attribute', async () => {
    const handle = await start({ idea: 'find me', symbol: 'VIS' }, { failAt: 'codegen' });
    await failureOf(handle);
    const query = `SagaState="rolled_back" AND SagaStep="codegen" AND WorkflowId="${handle.workflowId}"`;
    // Visibility is eventually consistent.
    const found = await waitFor(
      'the saga in the SagaState listing',
      async () => {
        const ids: string[] = [];
        for await (const wf of ctx.client.workflow.list({ query })) ids.push(wf.workflowId);
        return ids.length > 0 && ids;
      },
      15_000,
      200,
    );
    expect(found).toEqual([handle.workflowId]);
    const completedQuery = `SagaState="completed" AND WorkflowId="${handle.workflowId}"`;
    const notFound: string[] = [];
    for await (const wf of ctx.client.workflow.list({ query: completedQuery })) notFound.push(wf.workflowId);
    expect(notFound).toEqual([]);
  });
});
