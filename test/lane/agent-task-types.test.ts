/** A real research agent (the built-in reasoning planner) run as an express-lane task, end to end. */
import type Redis from 'ioredis';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/logger';
import {
  agentTaskSchemas,
  createAgentTaskTypes,
  ExpressClient,
  ExpressWorker,
  InvalidPayloadError,
} from '../../src/lane';
import { deleteKeys, redisClient, redisUrl, uniquePrefix } from '../helpers/redis';

describe('agent task types on the express lane', () => {
  const prefix = uniquePrefix('lane-agents');
  let redis: Redis;
  let worker: ExpressWorker;
  let client: ExpressClient;

  beforeAll(async () => {
    redis = redisClient();
    const config = loadConfig({ REDIS_URL: redisUrl(), SAGALANE_KEY_PREFIX: prefix });
    const logger = createLogger('error');
    const types = createAgentTaskTypes({
      redis,
      keyPrefix: prefix,
      llm: config.llm,
      planCacheTtlS: 60,
      logger,
    });
    worker = new ExpressWorker({
      types,
      redisUrl: redisUrl(),
      keyPrefix: prefix,
      logger,
      autoscaleIntervalMs: 0,
    });
    await worker.start();
    // The producer has only the schemas.
    client = new ExpressClient({ types: agentTaskSchemas, redisUrl: redisUrl(), keyPrefix: prefix });
  });
  afterAll(async () => {
    await worker.stop();
    await client.close();
    await deleteKeys(redis, prefix);
    redis.disconnect();
  });

  it('plans a strategy with the reasoning agent through the lane', async () => {
    const { taskId } = await client.submit({
      type: 'reasoning',
      payload: { idea: 'buy when the short moving average crosses above the long one', symbol: 'BTC-USD' },
    });
    const done = await client.result(taskId, { waitMs: 20_000 });
    expect(done).toMatchObject({ status: 'succeeded', lane: 'express', attempts: 1 });
    const result = done.result as {
      plan: { family: string; provider: string };
      cacheKey: string;
      cached: boolean;
    };
    expect(result.plan.family).toBe('ma_crossover');
    expect(result.plan.provider).toBe('builtin');
    expect(await redis.exists(result.cacheKey)).toBe(1);
  });

  it('refuses an agent payload that fails its schema before enqueueing', async () => {
    await expect(client.submit({ type: 'backtest', payload: { symbol: 'BTC-USD' } })).rejects.toThrow(
      InvalidPayloadError,
    );
  });
});
