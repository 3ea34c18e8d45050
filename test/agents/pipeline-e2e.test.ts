/**
 * End to end on the real dev server: researchPipeline with a real worker running the real agents
 * (createActivities) against real Redis and the sample data.
 */
import type Redis from 'ioredis';
import { listArtifacts, planCacheKey, type AgentDeps } from '../../src/activities/research/agents';
import { createActivities } from '../../src/activities/research/index';
import type { PipelineResult } from '../../src/workflows/research/pipeline-contract';
import { createLogger } from '../../src/logger';
import { createLogSagaSinks } from '../../src/runtime/saga-worker';
import { deleteKeys, keysUnder, redisClient, uniquePrefix } from '../helpers/redis';
import { temporalTestContext, uniqueTaskQueue, type TemporalTestContext } from '../helpers/temporal';
import { failureOf, queryState, startPipeline } from '../sagas/saga-test-kit';

describe('research pipeline end to end (real server, worker, agents, Redis)', () => {
  let ctx: TemporalTestContext;
  let redis: Redis;
  const keyPrefix = uniquePrefix('pipeline-e2e');
  const taskQueue = uniqueTaskQueue('pipeline-e2e');
  let deps: AgentDeps;

  beforeAll(async () => {
    ctx = await temporalTestContext();
    redis = redisClient();
    deps = {
      redis,
      keyPrefix,
      llm: { model: 'unused', timeoutMs: 1000 },
      planCacheTtlS: 600,
      logger: createLogger('silent'),
    };
    // The saga workflow reports lifecycle events to sinks; the worker must register them.
    await ctx.startWorker({
      taskQueue,
      activities: createActivities(deps),
      sinks: createLogSagaSinks(createLogger('silent')),
    });
  });
  afterAll(async () => {
    await ctx.closeAll();
    await deleteKeys(redis, keyPrefix);
    redis.disconnect();
  });

  it('a pipeline on a sample set completes with backtest metrics and its artifacts', async () => {
    const handle = await startPipeline(ctx.client, taskQueue, {
      idea: 'mean reversion on z-scores',
      symbol: 'MEANREV',
    });
    const result = (await handle.result()) as PipelineResult;
    expect(result.plan.family).toBe('mean_reversion');
    // The saga's result says what the planner understood and assumed.
    expect(result.plan.understood).toContainEqual({ phrase: 'z-scores', meaning: 'family mean_reversion' });
    expect(result.plan.assumed).toContain('lookback: the default search range (the idea does not name it)');
    expect(result.params).toEqual({ lookback: expect.any(Number), entryZ: expect.any(Number) });
    const m = result.metrics;
    expect(m.bars).toBe(300); // the held-out 30 % of 1000 bars
    expect(m.trades).toBeGreaterThan(0);
    for (const v of [m.totalReturn, m.sharpe, m.maxDrawdown, m.winRate, m.exposure, m.buyAndHoldReturn]) {
      expect(Number.isFinite(v)).toBe(true);
    }
    expect(result.artifacts).toEqual({
      code: `${keyPrefix}:artifact:{${handle.workflowId}}:codegen`,
      model: `${keyPrefix}:artifact:{${handle.workflowId}}:ml`,
      report: `${keyPrefix}:artifact:{${handle.workflowId}}:backtest`,
    });
    const report = JSON.parse((await redis.hget(result.artifacts.report, 'body'))!);
    expect(report.metrics).toEqual(m);
    expect((await listArtifacts(deps, handle.workflowId)).map((a) => a.step)).toEqual([
      'codegen',
      'ml',
      'backtest',
    ]);
    expect((await queryState(handle)).state).toBe('completed');
  });

  it('a pipeline whose data set does not exist fails at ml and rolls back codegen then reasoning, leaving nothing', async () => {
    const idea = `trend crossover on a missing data set ${uniqueSuffix()}`;
    const handle = await startPipeline(ctx.client, taskQueue, {
      idea,
      symbol: 'DEMO',
      dataset: 'NO_SUCH_DATA',
    });
    const failure = await failureOf(handle);
    expect(failure.cause?.message).toMatch(/step "ml" failed: unknown data set 'NO_SUCH_DATA'.*rolled back/);
    const state = await queryState(handle);
    expect(state.state).toBe('rolled_back');
    expect(state.error).toMatchObject({ reason: 'step_failed', step: 'ml' });
    expect(state.error?.message).toMatch(/unknown data set 'NO_SUCH_DATA'/);
    // Non-retryable: one attempt only.
    expect(state.steps.find((s) => s.name === 'ml')).toMatchObject({ status: 'failed', attempts: 1 });
    expect(state.compensations).toEqual([
      { step: 'codegen', status: 'completed' },
      { step: 'reasoning', status: 'completed' },
    ]);
    expect(await listArtifacts(deps, handle.workflowId)).toEqual([]);
    expect(await keysUnder(redis, `${keyPrefix}:artifact:{${handle.workflowId}}`)).toEqual([]);
    expect(await redis.exists(planCacheKey(keyPrefix, idea, 'DEMO', 'builtin'))).toBe(0);
    // Nothing else of this saga is left under the prefix (the completed saga above keeps its own).
    const left = await keysUnder(redis, keyPrefix);
    expect(left.filter((k) => k.includes(handle.workflowId))).toEqual([]);
  });
});

describe('strict planning through the saga', () => {
  // Shares nothing with the suite above but the server.
  let ctx: TemporalTestContext;
  let redis: Redis;
  const keyPrefix = uniquePrefix('pipeline-strict');
  const taskQueue = uniqueTaskQueue('pipeline-strict');

  beforeAll(async () => {
    ctx = await temporalTestContext();
    redis = redisClient();
    await ctx.startWorker({
      taskQueue,
      activities: createActivities({
        redis,
        keyPrefix,
        llm: { model: 'unused', timeoutMs: 1000 },
        planCacheTtlS: 600,
        logger: createLogger('silent'),
      }),
      sinks: createLogSagaSinks(createLogger('silent')),
    });
  });
  afterAll(async () => {
    await ctx.closeAll();
    await deleteKeys(redis, keyPrefix);
    redis.disconnect();
  });

  it('strict: true refuses an unmappable idea at reasoning, non-retryably, with the reason in the state', async () => {
    const handle = await startPipeline(ctx.client, taskQueue, {
      idea: `make me rich ${uniqueSuffix()}`,
      symbol: 'DEMO',
      strict: true,
    });
    await failureOf(handle);
    const state = await queryState(handle);
    expect(state.error).toMatchObject({ reason: 'step_failed', step: 'reasoning' });
    expect(state.error?.message).toMatch(/strict planning refused the idea .*names no strategy family/);
    expect(state.steps.find((s) => s.name === 'reasoning')).toMatchObject({ status: 'failed', attempts: 1 });
  });

  it('without strict the same kind of idea completes, and the result says the family was a default', async () => {
    const handle = await startPipeline(ctx.client, taskQueue, {
      idea: `make me rich ${uniqueSuffix()}`,
      symbol: 'DEMO',
    });
    const result = (await handle.result()) as PipelineResult;
    expect(result.plan.familySource).toBe('default');
    expect(result.plan.assumed![0]).toMatch(/names a strategy family sagalane knows/);
  });
});

function uniqueSuffix(): string {
  return Math.random().toString(36).slice(2, 8);
}
