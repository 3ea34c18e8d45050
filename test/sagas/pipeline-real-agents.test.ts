/** End to end: the researchPipeline with the real agents (src/activities) on a shipped sample data set. */
import Redis from 'ioredis';
import { createActivities, listArtifacts } from '../../src/activities/research';
import { createLogger } from '../../src/logger';
import { createLogSagaSinks } from '../../src/runtime/saga-worker';
import type { PipelineResult } from '../../src/workflows/research/pipeline-contract';
import { deleteKeys, keysUnder, redisUrl, uniquePrefix } from '../helpers/redis';
import { temporalTestContext, uniqueTaskQueue, type TemporalTestContext } from '../helpers/temporal';
import { failureOf, queryState, startPipeline } from './saga-test-kit';

describe('researchPipeline with the real agents', () => {
  let ctx: TemporalTestContext;
  let redis: Redis;
  const keyPrefix = uniquePrefix('saga-e2e');
  const taskQueue = uniqueTaskQueue('saga-e2e');

  beforeAll(async () => {
    ctx = await temporalTestContext();
    redis = new Redis(redisUrl());
    const activities = createActivities({
      redis,
      keyPrefix,
      llm: { model: 'unused', timeoutMs: 1_000 },
      planCacheTtlS: 600,
      logger: createLogger('silent'),
    });
    await ctx.startWorker({ taskQueue, activities, sinks: createLogSagaSinks(createLogger('silent')) });
  });
  afterAll(async () => {
    await ctx.closeAll();
    await deleteKeys(redis, keyPrefix);
    redis.disconnect();
  });

  it('turns an idea into a backtested strategy whose artifacts are stored', async () => {
    const handle = await startPipeline(ctx.client, taskQueue, {
      idea: 'trend following with moving averages',
      symbol: 'DEMO',
    });
    const result = (await handle.result()) as PipelineResult;
    expect(result.sagaId).toBe(handle.workflowId);
    expect(Object.keys(result.params).length).toBeGreaterThan(0);
    expect(Number.isFinite(result.metrics.sharpe)).toBe(true);
    expect(result.metrics.bars).toBeGreaterThan(0);
    const artifacts = await listArtifacts({ redis, keyPrefix }, handle.workflowId);
    expect(artifacts.map((a) => a.key).sort()).toEqual(
      [result.artifacts.code, result.artifacts.model, result.artifacts.report].sort(),
    );
    expect((await queryState(handle)).state).toBe('completed');
  });

  it('rolls back what the finished steps created when a later step fails (unknown data set)', async () => {
    const before = new Set(await keysUnder(redis, keyPrefix));
    const handle = await startPipeline(ctx.client, taskQueue, {
      idea: 'mean reversion on a data set that does not exist',
      symbol: 'DEMO',
      dataset: 'NO_SUCH_DATASET',
    });
    const failure = await failureOf(handle);
    expect(failure.cause?.message).toContain('step "ml" failed');
    const state = await queryState(handle);
    expect(state.state).toBe('rolled_back');
    expect(state.compensations).toEqual([
      { step: 'codegen', status: 'completed' },
      { step: 'reasoning', status: 'completed' },
    ]);
    expect(await listArtifacts({ redis, keyPrefix }, handle.workflowId)).toEqual([]);
    // Nothing the saga wrote is left behind (its plan cache entry and generated code are gone).
    const leftover = (await keysUnder(redis, keyPrefix)).filter((k) => !before.has(k));
    expect(leftover).toEqual([]);
  });
});
