/**
 * The agents against real Redis: what each step stores, what each compensation removes (exactly that, idempotently),
 * that ml and backtest run the code codegen stored, and the documented errors for bad input.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type Redis from 'ioredis';
import {
  createAgents,
  DEFAULT_DATA_DIR,
  listArtifacts,
  planCacheKey,
  type AgentDeps,
} from '../../src/activities/research/agents';
import { ArtifactStore } from '../../src/activities/research/artifact-store';
import { readBacktestReport, renderEquityCurveSvg } from '../../src/activities/research/equity-plot';
import { backtestMetrics, sharpeRatio, simulate } from '../../src/activities/research/backtest-engine';
import type { StrategyPlan } from '../../src/activities/research/contracts';
import {
  ArtifactMissingError,
  DatasetNotFoundError,
  GeneratedCodeError,
  InvalidAgentInputError,
  MarketDataError,
} from '../../src/activities/research/errors';
import { loadMarketData } from '../../src/activities/research/market-data';
import { planFromIdea } from '../../src/activities/research/strategy-plan';
import { createLogger } from '../../src/logger';
import { deleteKeys, keysUnder, redisClient, uniquePrefix } from '../helpers/redis';

describe('agents on real Redis', () => {
  let redis: Redis;
  let tmp: string;
  const keyPrefix = uniquePrefix('agents');
  let deps: AgentDeps;
  let agents: ReturnType<typeof createAgents>;
  let store: ArtifactStore;
  const crossover: StrategyPlan = planFromIdea('moving average crossover', 'DEMO');

  beforeAll(() => {
    redis = redisClient();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sagalane-agents-'));
    deps = {
      redis,
      keyPrefix,
      allowedDataDirs: [tmp],
      llm: { model: 'unused', timeoutMs: 1000 },
      planCacheTtlS: 600,
      logger: createLogger('silent'),
      sandboxTimeoutMs: 500,
    };
    agents = createAgents(deps);
    store = new ArtifactStore(redis, keyPrefix);
  });
  afterAll(async () => {
    await deleteKeys(redis, keyPrefix);
    redis.disconnect();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const keysOf = (sagaId: string) => keysUnder(redis, `${keyPrefix}:artifact:{${sagaId}}`);

  /** The four steps of a saga of its own on the TREND sample set, so a test does not lean on another's leftovers. */
  async function runFourSteps(sagaId: string): Promise<void> {
    const { plan } = await agents.reasoning({ sagaId, idea: 'trend following', symbol: 'TREND' });
    await agents.codegen({ sagaId, plan });
    const ml = await agents.ml({ sagaId, symbol: 'TREND', plan });
    await agents.backtest({ sagaId, symbol: 'TREND', params: ml.params });
  }

  it('runs the four steps on a sample set and stores code, model and report under the saga', async () => {
    const sagaId = 'saga-full';
    const progress: number[] = [];
    const { plan, cacheKey, cached } = await agents.reasoning({
      sagaId,
      idea: 'trend following',
      symbol: 'TREND',
    });
    expect(plan.family).toBe('ma_crossover');
    expect(cached).toBe(false);
    expect(cacheKey).toBe(planCacheKey(keyPrefix, 'trend following', 'TREND', 'builtin'));
    expect(await redis.ttl(cacheKey)).toBeGreaterThan(500);

    const code = await agents.codegen({ sagaId, plan });
    expect(code.artifact.key).toBe(`${keyPrefix}:artifact:{${sagaId}}:codegen`);
    expect((await store.get(sagaId, 'codegen'))!.body).toContain('function positions(bars, params)');

    const ml = await agents.ml(
      { sagaId, symbol: 'TREND', plan },
      { onProgress: (p) => progress.push(p.done) },
    );
    expect(ml.candidatesEvaluated).toBeGreaterThan(1);
    expect(progress).toEqual(Array.from({ length: ml.candidatesEvaluated }, (_, i) => i + 1));
    expect(ml.params.fast).toBeLessThan(ml.params.slow!);

    const bt = await agents.backtest({ sagaId, symbol: 'TREND', params: ml.params });
    const { bars } = await loadMarketData(path.join(DEFAULT_DATA_DIR, 'TREND.csv'));
    const heldOut = bars.slice(Math.floor(bars.length * 0.7));
    expect(bt.metrics.bars).toBe(heldOut.length);
    expect(bt.metrics.buyAndHoldReturn).toBeCloseTo(
      heldOut[heldOut.length - 1]!.close / heldOut[0]!.close - 1,
      12,
    );
    expect(bt.metrics.trades).toBeGreaterThan(0);
    expect(bt.metrics.exposure).toBeGreaterThan(0);
    const report = JSON.parse((await store.get(sagaId, 'backtest'))!.body);
    expect(report.metrics).toEqual(bt.metrics);
    expect(report.period.from).toBe(heldOut[0]!.date);

    expect((await listArtifacts(deps, sagaId)).map((a) => a.step)).toEqual(['codegen', 'ml', 'backtest']);
  });

  it('the report carries the equity curve as data and says the sample data is synthetic; it plots as SVG', async () => {
    await runFourSteps('saga-report');
    const report = await readBacktestReport(deps, 'saga-report');
    const { bars } = await loadMarketData(path.join(DEFAULT_DATA_DIR, 'TREND.csv'));
    const heldOut = bars.slice(Math.floor(bars.length * 0.7));
    expect(report.equityCurve.map((p) => p.date)).toEqual(heldOut.map((b) => b.date));
    expect(report.equityCurve[0]).toMatchObject({ equity: 1, buyAndHold: 1 });
    const last = report.equityCurve[report.equityCurve.length - 1]!;
    expect(last.equity).toBeCloseTo(1 + report.metrics.totalReturn, 12);
    expect(last.buyAndHold).toBeCloseTo(heldOut[heldOut.length - 1]!.close / heldOut[0]!.close, 12);
    expect(report.dataNote).toMatch(/^synthetic sample data/);
    expect((report.metrics.buyAndHold as { totalReturn: number }).totalReturn).toBeCloseTo(
      report.metrics.buyAndHoldReturn,
      12,
    );
    expect(report.metrics).toMatchObject({
      cagr: expect.any(Number),
      sortino: expect.any(Number),
      turnover: expect.any(Number),
      averageTrade: expect.any(Number),
      costPerTradeBps: 5,
      slippageBps: 0,
    });

    const svg = renderEquityCurveSvg(report);
    expect(svg).toMatch(/^<\?xml[^]*<svg [^]*<\/svg>\n$/);
    const series = (name: string) =>
      new RegExp(`data-series="${name}"[^>]*points="([^"]+)"`)
        .exec(svg)![1]!
        .split(' ')
        .map((p) => p.split(',').map(Number));
    const equity = series('equity');
    const hold = series('buyAndHold');
    expect(equity).toHaveLength(heldOut.length);
    expect(hold).toHaveLength(heldOut.length);
    // Both start at 1 (same pixel); the higher final value is drawn higher (smaller y).
    expect(equity[0]).toEqual(hold[0]);
    expect(Math.sign(hold.at(-1)![1]! - equity.at(-1)![1]!)).toBe(Math.sign(last.equity - last.buyAndHold));
    expect(svg).toContain('(synthetic data)');
    await expect(readBacktestReport(deps, 'no-such-saga')).rejects.toThrow(ArtifactMissingError);
  });

  it('ml and backtest run the code codegen stored, not a built-in copy', async () => {
    const sagaId = 'saga-swapped-code';
    await agents.codegen({ sagaId, plan: crossover });
    // Replace the stored strategy with "always long": ml's Sharpe must then be buy-and-hold's on the training split.
    await store.put(
      sagaId,
      'codegen',
      'function positions(bars) { return bars.map(() => 1); }',
      'application/javascript',
      {
        family: 'ma_crossover',
      },
    );
    const ml = await agents.ml({ sagaId, symbol: 'DEMO', plan: crossover });
    const { bars } = await loadMarketData(path.join(DEFAULT_DATA_DIR, 'DEMO.csv'));
    const train = bars.slice(0, Math.floor(bars.length * 0.7)).map((b) => b.close);
    expect(ml.trainSharpe).toBeCloseTo(
      sharpeRatio(
        simulate(
          train,
          train.map(() => 1),
          0.0005,
        ).returns,
      ),
      10,
    );
    const bt = await agents.backtest({ sagaId, symbol: 'DEMO', params: ml.params });
    const held = bars.slice(Math.floor(bars.length * 0.7)).map((b) => b.close);
    expect(bt.metrics).toEqual(
      (({ tradeList: _t, equity: _e, buyAndHoldEquity: _b, ...m }) => ({
        ...m,
        costPerTradeBps: 5,
        slippageBps: 0,
      }))(
        backtestMetrics(
          held,
          held.map(() => 1),
          0.0005,
        ),
      ),
    );

    await store.put(
      sagaId,
      'codegen',
      'function positions() { throw new Error("bad strategy"); }',
      'application/javascript',
      {
        family: 'ma_crossover',
      },
    );
    await expect(agents.ml({ sagaId, symbol: 'DEMO', plan: crossover })).rejects.toThrow(GeneratedCodeError);
    await store.put(sagaId, 'codegen', 'function positions() { for (;;) {} }', 'application/javascript', {
      family: 'ma_crossover',
    });
    await expect(agents.backtest({ sagaId, symbol: 'DEMO', params: { fast: 5, slow: 30 } })).rejects.toThrow(
      /ran longer than 500 ms/,
    );
  });

  describe('compensations remove exactly what their step created, and a second call is a no-op', () => {
    it('codegen, ml and backtest each delete only their own artifact of their own saga', async () => {
      const [a, b] = ['saga-comp-a', 'saga-comp-b'];
      for (const sagaId of [a, b]) {
        await agents.codegen({ sagaId, plan: crossover });
        const ml = await agents.ml({
          sagaId,
          symbol: 'DEMO',
          plan: crossover,
          params: { fast: 10, slow: 50 },
        });
        expect(ml.candidatesEvaluated).toBe(1);
        await agents.backtest({ sagaId, symbol: 'DEMO', params: ml.params });
      }
      const bKeys = await keysOf(b);
      expect(bKeys).toHaveLength(3);

      await agents.compensateBacktest({ sagaId: a });
      expect((await listArtifacts(deps, a)).map((x) => x.step)).toEqual(['codegen', 'ml']);
      await agents.compensateBacktest({ sagaId: a });
      await agents.compensateMl({ sagaId: a });
      expect((await listArtifacts(deps, a)).map((x) => x.step)).toEqual(['codegen']);
      await agents.compensateMl({ sagaId: a });
      await agents.compensateCodegen({ sagaId: a });
      await agents.compensateCodegen({ sagaId: a });
      expect(await keysOf(a)).toEqual([]);
      expect(await keysOf(b)).toEqual(bKeys);
    });

    it('reasoning deletes the cache entry only if its saga created it', async () => {
      const idea = `momentum ${Date.now()}`;
      const first = await agents.reasoning({ sagaId: 'saga-r1', idea, symbol: 'DEMO' });
      const second = await agents.reasoning({ sagaId: 'saga-r2', idea, symbol: 'demo' });
      expect(first.cached).toBe(false);
      expect(second).toEqual({ ...first, cached: true });
      // A retry of the creating saga's own step is not a cache hit from someone else.
      expect((await agents.reasoning({ sagaId: 'saga-r1', idea, symbol: 'DEMO' })).cached).toBe(false);
      const other = await agents.reasoning({ sagaId: 'saga-r3', idea: `${idea} other`, symbol: 'DEMO' });

      await agents.compensateReasoning({ sagaId: 'saga-r2', cacheKey: second.cacheKey });
      expect(await redis.exists(first.cacheKey)).toBe(1); // r2 only used r1's plan
      await agents.compensateReasoning({ sagaId: 'saga-r1', cacheKey: first.cacheKey });
      expect(await redis.exists(first.cacheKey)).toBe(0);
      await agents.compensateReasoning({ sagaId: 'saga-r1', cacheKey: first.cacheKey });
      expect(await redis.exists(other.cacheKey)).toBe(1);
    });

    it('a compensation refuses a key outside its plan cache', async () => {
      await redis.set(`${keyPrefix}:precious`, '1');
      await expect(
        agents.compensateReasoning({ sagaId: 'x', cacheKey: `${keyPrefix}:precious` }),
      ).rejects.toThrow(InvalidAgentInputError);
      expect(await redis.exists(`${keyPrefix}:precious`)).toBe(1);
    });
  });

  describe('bad inputs give the documented errors', () => {
    it('an unknown data set is DatasetNotFound naming it', async () => {
      await agents.codegen({ sagaId: 'saga-nodata', plan: crossover });
      const err = await agents
        .ml({ sagaId: 'saga-nodata', symbol: 'DEMO', dataset: 'NO_SUCH_SET', plan: crossover })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DatasetNotFoundError);
      expect((err as Error).message).toMatch(/unknown data set 'NO_SUCH_SET'/);
      await expect(agents.ml({ sagaId: 'saga-nodata', symbol: 'ZZZ', plan: crossover })).rejects.toThrow(
        /'ZZZ'/,
      );
    });

    it('a data set shorter than the strategy needs is BadMarketData naming the rows needed', async () => {
      const lines = ['date,open,high,low,close,volume'];
      for (let i = 0; i < 80; i++)
        lines.push(`${new Date(Date.UTC(2024, 0, 1 + i)).toISOString().slice(0, 10)},10,11,9,10,1`);
      fs.writeFileSync(path.join(tmp, 'SHORT.csv'), lines.join('\n'));
      await agents.codegen({ sagaId: 'saga-short', plan: crossover });
      await expect(
        agents.ml({
          sagaId: 'saga-short',
          symbol: 'DEMO',
          dataset: path.join(tmp, 'SHORT.csv'),
          plan: crossover,
        }),
      ).rejects.toThrow(
        /SHORT has 80 rows \(56 for training, 24 held out\); ma_crossover needs at least 120/,
      );
      await expect(
        agents.ml({
          sagaId: 'saga-short',
          symbol: 'DEMO',
          dataset: path.join(tmp, 'SHORT.csv'),
          plan: crossover,
        }),
      ).rejects.toThrow(MarketDataError);
    });

    it('ml or backtest without generated code is ArtifactMissing', async () => {
      await expect(agents.ml({ sagaId: 'saga-never', symbol: 'DEMO', plan: crossover })).rejects.toThrow(
        ArtifactMissingError,
      );
      await expect(
        agents.backtest({ sagaId: 'saga-never', symbol: 'DEMO', params: { fast: 5, slow: 30 } }),
      ).rejects.toThrow(/run codegen first/);
    });

    it('malformed inputs and parameters are InvalidInput', async () => {
      await expect(agents.reasoning({ sagaId: '', idea: 'trend', symbol: 'DEMO' })).rejects.toThrow(
        /sagaId must not be empty/,
      );
      await expect(agents.reasoning({ sagaId: 's', idea: 'trend', symbol: '../etc' })).rejects.toThrow(
        InvalidAgentInputError,
      );
      await expect(
        agents.codegen({ sagaId: 's', plan: { ...crossover, family: 'astrology' as never } }),
      ).rejects.toThrow(/invalid codegen input: plan.family/);
      await agents.codegen({ sagaId: 'saga-params', plan: crossover });
      await expect(
        agents.ml({ sagaId: 'saga-params', symbol: 'DEMO', plan: crossover, params: { fast: 50, slow: 10 } }),
      ).rejects.toThrow(/fast \(50\) must be below slow \(10\)/);
      await expect(
        agents.backtest({ sagaId: 'saga-params', symbol: 'DEMO', params: { lookback: 10 } }),
      ).rejects.toThrow(/ma_crossover takes parameters \[fast, slow\], got \[lookback\]/);
      await expect(
        agents.ml({ sagaId: 'saga-params', symbol: 'DEMO', plan: planFromIdea('momentum', 'DEMO') }),
      ).rejects.toThrow(/the plan is momentum but the generated code is ma_crossover/);
    });
  });

  it('ml stops between candidates when its signal is aborted', async () => {
    await agents.codegen({ sagaId: 'saga-abort', plan: crossover });
    const controller = new AbortController();
    let seen = 0;
    const run = agents.ml(
      { sagaId: 'saga-abort', symbol: 'DEMO', plan: crossover },
      {
        signal: controller.signal,
        onProgress: (p) => {
          seen = p.done;
          if (p.done === 2) controller.abort(new Error('cancelled by test'));
        },
      },
    );
    await expect(run).rejects.toThrow('cancelled by test');
    expect(seen).toBe(2);
    expect((await listArtifacts(deps, 'saga-abort')).map((a) => a.step)).toEqual(['codegen']);
  });
});
