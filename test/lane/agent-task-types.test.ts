/** A real research agent (the built-in reasoning planner) run as an express-lane task, end to end. */
import { InvalidPayloadError } from '../../src/lane';
import { startAgentLane, type AgentLane } from '../fixtures/agent-lane';
import { uniquePrefix } from '../helpers/redis';

describe('agent task types on the express lane', () => {
  const prefix = uniquePrefix('lane-agents');
  let lane: AgentLane;
  let redis: AgentLane['redis'];
  // The producer has only the schemas.
  let client: AgentLane['client'];

  beforeAll(async () => {
    lane = await startAgentLane(prefix);
    ({ redis, client } = lane);
  });
  afterAll(async () => {
    await lane?.close();
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
