/**
 * The agents as single express-lane tasks (real Redis, a real ExpressWorker): ml and backtest run from the plan in
 * their payload without a saga's artifacts, `research` is refused with directions to the saga, and the errors that
 * retrying cannot fix carry `nonRetryable: true` for the lane to dead-letter them at once.
 */
import { LlmProviderError, MarketDataError, type AgentError } from '../../src/activities/errors';
import { planFromIdea } from '../../src/activities/strategy-plan';
import { InvalidPayloadError } from '../../src/lane';
import type { TaskContext } from '../../src/lane/task-types';
import { startAgentLane, type AgentLane } from '../fixtures/agent-lane';
import { keysUnder, uniquePrefix } from '../helpers/redis';

describe('agent lane task types', () => {
  const prefix = uniquePrefix('agent-lane');
  let lane: AgentLane;
  let redis: AgentLane['redis'];
  let client: AgentLane['client'];
  let types: AgentLane['types'];
  const breakout = planFromIdea('20-day breakout, exit on a 10 day low', 'TREND');

  beforeAll(async () => {
    lane = await startAgentLane(prefix);
    ({ redis, client, types } = lane);
  });
  afterAll(async () => {
    await lane?.close();
  });

  it('ml fits the plan in its payload without a saga (no ArtifactMissing), then backtest runs the fit', async () => {
    const ml = await client.submit({ type: 'ml', payload: { symbol: 'TREND', plan: breakout } });
    const fitted = await client.result(ml.taskId, { waitMs: 60_000 });
    expect(fitted).toMatchObject({ status: 'succeeded', attempts: 1 });
    const { params, artifact } = fitted.result as {
      params: Record<string, number>;
      artifact: { key: string };
    };
    expect(Object.keys(params).sort()).toEqual(['exitLookback', 'lookback']);
    expect(artifact.key).toBe(`${prefix}:artifact:{lane-${ml.taskId}}:ml`);

    const bt = await client.submit({
      type: 'backtest',
      payload: { symbol: 'TREND', plan: breakout, params },
    });
    const report = await client.result(bt.taskId, { waitMs: 60_000 });
    expect(report).toMatchObject({ status: 'succeeded', attempts: 1 });
    expect((report.result as { metrics: { bars: number } }).metrics.bars).toBe(300);
    // Neither task needed (or made) a codegen artifact.
    expect(await keysUnder(redis, `${prefix}:artifact:{lane-${bt.taskId}}:codegen`)).toEqual([]);
  });

  it('a backtest without a saga or a plan is refused at submit, naming what is missing', async () => {
    await expect(
      client.submit({ type: 'backtest', payload: { symbol: 'TREND', params: { lookback: 20 } } }),
    ).rejects.toThrow(/plan: without a sagaId the task needs the plan/);
  });

  it('research is refused at submit, pointing at start_pipeline and sagalane pipeline start', async () => {
    const refused = client.submit({ type: 'research', payload: { idea: 'momentum', symbol: 'TREND' } });
    await expect(refused).rejects.toThrow(InvalidPayloadError);
    await expect(refused).rejects.toThrow(/start_pipeline.*sagalane pipeline start/);
  });

  it('agent errors that retrying cannot fix carry nonRetryable: true; transient ones do not', async () => {
    const ml = types.find((t) => t.name === 'ml')!;
    const ctx: TaskContext = { signal: new AbortController().signal, taskId: 'nr-1', attempt: 1 };
    const failure = (await ml.handler!(
      { symbol: 'TREND', dataset: 'NO_SUCH_DATA', plan: breakout },
      ctx,
    ).catch((e: unknown) => e)) as AgentError;
    expect(failure.constructor.name).toBe('DatasetNotFoundError');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toMatch(/unknown data set 'NO_SUCH_DATA'/);
    const research = types.find((t) => t.name === 'research')!;
    await expect(research.handler!({}, ctx)).rejects.toMatchObject({ nonRetryable: true });
    expect(new MarketDataError('row 3: bad').nonRetryable).toBe(true);
    expect(new LlmProviderError('late').nonRetryable).toBe(false);
    expect(new LlmProviderError('401', {}, false).nonRetryable).toBe(true);
  });
});
