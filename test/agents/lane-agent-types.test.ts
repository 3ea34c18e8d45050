/**
 * The agents as single express-lane tasks (real Redis, a real ExpressWorker): ml and backtest run from the plan in
 * their payload without a saga's artifacts, a task's artifacts are its own (one naming a saga's id cannot touch that
 * saga's), `research` is refused with directions to the saga, and the errors that retrying cannot fix carry
 * `nonRetryable: true` for the lane to dead-letter them at once.
 */
import { createAgents } from '../../src/activities/research/agents';
import { ArtifactStore } from '../../src/activities/research/artifact-store';
import { LlmProviderError, MarketDataError, type AgentError } from '../../src/activities/research/errors';
import { createLogger } from '../../src/logger';
import { planFromIdea } from '../../src/activities/research/strategy-plan';
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
    ).rejects.toThrow(/plan: a lane backtest needs the plan/);
  });

  it("a codegen, ml or backtest task naming another saga's id cannot change that saga's artifacts", async () => {
    const victim = 'victim-saga';
    const agents = createAgents({
      redis,
      keyPrefix: prefix,
      llm: { model: 'unused', timeoutMs: 1000 },
      planCacheTtlS: 600,
      logger: createLogger('silent'),
    });
    const store = new ArtifactStore(redis, prefix);
    await agents.codegen({ sagaId: victim, plan: breakout });
    const fit = await agents.ml({ sagaId: victim, symbol: 'TREND', plan: breakout });
    await agents.backtest({ sagaId: victim, symbol: 'TREND', params: fit.params });
    const victimKeys = ['codegen', 'ml', 'backtest'].map((step) => `${prefix}:artifact:{${victim}}:${step}`);
    const snapshot = async () => Promise.all(victimKeys.map((k) => redis.hgetall(k)));
    const before = await snapshot();
    expect(before.every((h) => h.body !== undefined)).toBe(true);

    const momentum = planFromIdea('momentum over 20 days', 'TREND');
    const attacks = [
      { type: 'codegen', payload: { sagaId: victim, plan: momentum } },
      { type: 'ml', payload: { sagaId: victim, symbol: 'TREND', plan: momentum, params: { lookback: 20 } } },
      {
        type: 'backtest',
        payload: { sagaId: victim, symbol: 'TREND', plan: momentum, params: { lookback: 20 } },
      },
    ];
    // At submit (MCP submit_task, the CLI, ExpressClient): refused, saying why.
    for (const attack of attacks) {
      await expect(client.submit(attack)).rejects.toThrow(/takes no sagaId/);
    }
    // A task that got past the schema (a producer without it) still writes only under its own task id.
    for (const [i, attack] of attacks.entries()) {
      const type = types.find((t) => t.name === attack.type)!;
      const ctx: TaskContext = { signal: new AbortController().signal, taskId: `attack-${i}`, attempt: 1 };
      const out = (await type.handler!(attack.payload, ctx)) as { artifact: { key: string } };
      expect(out.artifact.key).toBe(`${prefix}:artifact:{lane-attack-${i}}:${attack.type}`);
    }
    expect(await snapshot()).toEqual(before);
    expect((await store.get(victim, 'codegen'))!.integrity).toBe('verified');
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
