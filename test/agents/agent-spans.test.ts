/**
 * The agents' phase spans (src/activities/research/agent-spans.ts), with the OpenTelemetry SDK's in-memory exporter,
 * on real Redis: the real agents run under a parent span (standing in for the lane's `lane.run` or Temporal's
 * `RunActivity`); each phase is a child of it with its `agent.*` attributes and no payload; a pooled CPU task's span
 * is made in the calling thread; a failing phase ends in ERROR with the error recorded.
 */
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type Redis from 'ioredis';
import { createAgents, type AgentDeps } from '../../src/activities/research/agents';
import { createPooledCpuTaskRunner } from '../../src/activities/research/pooled-cpu-tasks';
import { HandlerPools } from '../../src/lane/handler-pool';
import { createLogger } from '../../src/logger';
import { flushTracing, inSpan, shutdownTracing, startTracing } from '../../src/observability/tracing';
import { deleteKeys, redisClient, uniquePrefix } from '../helpers/redis';

const IDEA = 'trend following with moving averages';
const ERROR = 2; // SpanStatusCode.ERROR

describe('agent phase spans', () => {
  const exporter = new InMemorySpanExporter();
  const keyPrefix = uniquePrefix('agent-spans');
  let redis: Redis;
  let deps: AgentDeps;

  beforeAll(() => {
    expect(startTracing({ env: {}, spanProcessors: [new SimpleSpanProcessor(exporter)] })).toBe(true);
    redis = redisClient();
    deps = {
      redis,
      keyPrefix,
      llm: { model: 'unused', timeoutMs: 1000 },
      planCacheTtlS: 600,
      logger: createLogger('silent'),
      sandboxTimeoutMs: 1000,
    };
  });
  afterAll(async () => {
    await deleteKeys(redis, keyPrefix);
    redis.disconnect();
    await shutdownTracing();
  });
  beforeEach(() => exporter.reset());

  /** Runs `fn` under a parent span and returns the parent and the spans made under it. */
  async function underParent(
    fn: () => Promise<unknown>,
  ): Promise<{ parent: ReadableSpan; all: ReadableSpan[] }> {
    await inSpan('test.parent', {}, fn).catch(() => undefined);
    await flushTracing();
    const all = exporter.getFinishedSpans();
    return { parent: all.find((s) => s.name === 'test.parent')!, all };
  }
  const named = (all: ReadableSpan[], name: string) => all.filter((s) => s.name === name);
  const idOf = (s: ReadableSpan) => s.spanContext().spanId;

  async function fourSteps(agents: ReturnType<typeof createAgents>, sagaId: string) {
    const { plan } = await agents.reasoning({ sagaId, idea: IDEA, symbol: 'TREND' });
    await agents.codegen({ sagaId, plan });
    const ml = await agents.ml({ sagaId, symbol: 'TREND', plan });
    await agents.backtest({ sagaId, symbol: 'TREND', params: ml.params });
  }

  it('each phase of the four steps is a child of the active span, with its agent.* attributes', async () => {
    const agents = createAgents(deps);
    const { parent, all } = await underParent(() => fourSteps(agents, 'saga-spans-1'));
    expect(parent.status.code).not.toBe(ERROR);

    const [plan] = named(all, 'agent.plan');
    expect(plan!.parentSpanId).toBe(idOf(parent));
    expect(plan!.attributes).toMatchObject({
      'agent.planner': 'builtin',
      'agent.cache_hit': false,
      'agent.family': 'ma_crossover',
      'agent.strict': false,
    });

    const [codegen] = named(all, 'agent.codegen');
    expect(codegen!.parentSpanId).toBe(idOf(parent));
    expect(codegen!.attributes).toMatchObject({ 'agent.family': 'ma_crossover' });
    expect(codegen!.attributes['agent.code_bytes']).toBeGreaterThan(0);
    const [smoke] = named(all, 'agent.smoke_run');
    expect(smoke!.parentSpanId).toBe(idOf(codegen!));
    expect(smoke!.attributes['agent.bars']).toBeGreaterThanOrEqual(120);

    const [ml] = named(all, 'agent.ml');
    expect(ml!.parentSpanId).toBe(idOf(parent));
    expect(ml!.attributes).toMatchObject({
      'agent.family': 'ma_crossover',
      'agent.dataset': 'TREND',
      'agent.method': 'walk-forward',
    });
    const [search] = named(all, 'agent.parameter_search');
    expect(search!.parentSpanId).toBe(idOf(ml!));
    expect(search!.attributes['agent.candidates']).toBeGreaterThan(1);
    expect(search!.attributes['agent.candidates_evaluated']).toBe(search!.attributes['agent.candidates']);
    expect(search!.attributes['agent.folds']).toBe(4);
    expect(search!.attributes['agent.folds_run']).toBeGreaterThanOrEqual(1);
    expect(search!.attributes['agent.train_bars']).toBeGreaterThan(0);

    const [backtest] = named(all, 'agent.backtest');
    expect(backtest!.parentSpanId).toBe(idOf(parent));
    expect(backtest!.attributes).toMatchObject({ 'agent.family': 'ma_crossover', 'agent.dataset': 'TREND' });
    expect(backtest!.attributes['agent.held_out_bars']).toBeGreaterThan(0);
    expect(typeof backtest!.attributes['agent.trades']).toBe('number');

    // One span per phase, never per candidate or bar; and names and counts only: no idea text, no code.
    expect(
      all
        .filter((s) => s.name.startsWith('agent.'))
        .map((s) => s.name)
        .sort(),
    ).toEqual(
      [
        'agent.backtest',
        'agent.codegen',
        'agent.ml',
        'agent.parameter_search',
        'agent.plan',
        'agent.smoke_run',
      ].sort(),
    );
    for (const span of all) {
      expect(Object.keys(span.attributes).every((k) => k.startsWith('agent.') || span === parent)).toBe(true);
      for (const value of Object.values(span.attributes)) {
        expect(String(value)).not.toContain(IDEA);
        expect(String(value)).not.toContain('function');
      }
    }
  }, 60_000);

  it('a second saga with the same idea: agent.plan says it was a cache hit', async () => {
    const agents = createAgents(deps);
    await agents.reasoning({ sagaId: 'saga-spans-first', idea: 'breakout on volume', symbol: 'TREND' });
    exporter.reset();
    const { all } = await underParent(() =>
      agents.reasoning({ sagaId: 'saga-spans-second', idea: 'breakout on volume', symbol: 'TREND' }),
    );
    expect(named(all, 'agent.plan')[0]!.attributes).toMatchObject({ 'agent.cache_hit': true });
  });

  it('CPU parts on worker-thread pools: the phase spans are made in this thread, under the same parent', async () => {
    const pools = new HandlerPools({ threads: { express: 1, standard: 1 } });
    try {
      const agents = createAgents({ ...deps, runCpuTask: createPooledCpuTaskRunner(pools) });
      const { parent, all } = await underParent(() => fourSteps(agents, 'saga-spans-pooled'));
      expect(parent.status.code).not.toBe(ERROR);
      const [codegen] = named(all, 'agent.codegen');
      const [ml] = named(all, 'agent.ml');
      expect(named(all, 'agent.smoke_run')[0]!.parentSpanId).toBe(idOf(codegen!));
      expect(named(all, 'agent.parameter_search')[0]!.parentSpanId).toBe(idOf(ml!));
      expect(named(all, 'agent.backtest')[0]!.parentSpanId).toBe(idOf(parent));
    } finally {
      await pools.close();
    }
  }, 120_000);

  it('a failing phase (an unknown data set) ends in ERROR with the error recorded', async () => {
    const agents = createAgents(deps);
    const sagaId = 'saga-spans-fail';
    const { plan } = await agents.reasoning({ sagaId, idea: IDEA, symbol: 'TREND' });
    await agents.codegen({ sagaId, plan });
    exporter.reset();
    let thrown: unknown;
    const { parent, all } = await underParent(() =>
      agents.ml({ sagaId, symbol: 'TREND', plan, dataset: 'NO_SUCH_DATASET' }).catch((err: unknown) => {
        thrown = err;
        throw err;
      }),
    );
    expect(thrown).toBeInstanceOf(Error);
    const [ml] = named(all, 'agent.ml');
    expect(ml!.parentSpanId).toBe(idOf(parent));
    expect(ml!.status.code).toBe(ERROR);
    expect(ml!.status.message).toBe((thrown as Error).message);
    const exception = ml!.events.find((e) => e.name === 'exception');
    expect(exception?.attributes?.['exception.type']).toBe((thrown as Error).name);
    // It failed before the search: no search span.
    expect(named(all, 'agent.parameter_search')).toHaveLength(0);

    exporter.reset();
    const failed = await underParent(() =>
      agents.backtest({ sagaId, symbol: 'TREND', params: { fast: 5, slow: 20 }, dataset: 'NO_SUCH_DATASET' }),
    );
    expect(named(failed.all, 'agent.backtest')[0]!.status.code).toBe(ERROR);
  });
});
