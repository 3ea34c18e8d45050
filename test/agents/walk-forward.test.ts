/**
 * Walk-forward validation on a series built so the in-sample best fails out of sample: the first segment of the
 * training split rises steeply, everything after it (the rest of training and the held-out split) drifts down. A
 * plain fit on the whole training split picks "always long" (the early rise dominates its Sharpe); walk-forward
 * scores each candidate only on segments its fold never fitted on and picks "always short", which is what the
 * held-out bars reward.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type Redis from 'ioredis';
import { createAgents, type AgentDeps } from '../../src/activities/research/agents';
import { ArtifactStore } from '../../src/activities/research/artifact-store';
import type { StrategyPlan } from '../../src/activities/research/contracts';
import type { Bar } from '../../src/activities/research/market-data';
import { searchParameters, walkForwardSegments } from '../../src/activities/research/parameter-search';
import { createLogger } from '../../src/logger';
import { deleteKeys, redisClient, uniquePrefix } from '../helpers/redis';

// "lookback" 1 = always long, 2 = always short: two candidates whose fate depends only on the drift.
const LONG_OR_SHORT =
  'function positions(bars, params) { return bars.map(() => (params.lookback === 1 ? 1 : -1)); }';
const LONG = { lookback: 1 };
const SHORT = { lookback: 2 };

/** 500 bars: +2 %/bar for bars 1-72, then -0.3 %/bar; ±0.5 % alternating noise so Sharpe ratios are finite. */
function regimeChange(): Bar[] {
  let close = 100;
  return Array.from({ length: 500 }, (_, i) => {
    if (i > 0) close *= 1 + (i <= 72 ? 0.02 : -0.003) + (i % 2 ? 0.005 : -0.005);
    return {
      date: new Date(Date.UTC(2020, 0, 1 + i)).toISOString().slice(0, 10),
      open: close,
      high: close * 1.001,
      low: close * 0.999,
      close,
      volume: 1000,
    };
  });
}

describe('walk-forward validation', () => {
  const bars = regimeChange();
  const train = bars.slice(0, 350);

  it('cuts the training bars after the warm-up into folds + 1 equal segments, never shorter than 30 bars', () => {
    expect(walkForwardSegments(350, 3, 4)).toEqual([
      [3, 72],
      [72, 141],
      [141, 210],
      [210, 279],
      [279, 350],
    ]);
    // 90 usable bars hold only 3 segments of 30: 2 folds instead of 4; 40 bars hold no fold at all.
    expect(walkForwardSegments(100, 10, 4)).toEqual([
      [10, 40],
      [40, 70],
      [70, 100],
    ]);
    expect(walkForwardSegments(50, 10, 4)).toEqual([]);
  });

  it('picks the out-of-sample winner where a whole-training fit picks the in-sample one', async () => {
    const result = await searchParameters({
      source: LONG_OR_SHORT,
      bars: train,
      candidates: [LONG, SHORT],
      costPerUnit: 0,
      sandboxTimeoutMs: 1000,
      folds: 4,
      warmupBars: 3,
    });
    expect(result.inSampleBest.params).toEqual(LONG);
    expect(result.inSampleBest.sharpe).toBeGreaterThan(0);
    expect(result.ranked[0]!.params).toEqual(SHORT);
    expect(result.ranked[0]!.foldSharpes).toHaveLength(4);
    expect(result.ranked[0]!.foldSharpes.every((s) => s > 0)).toBe(true);
    expect(result.ranked[0]!.validationSharpe).toBeGreaterThan(result.ranked[1]!.validationSharpe);
    // Fold 1 fits on the rise alone: its in-sample pick is long, which then loses on its out-of-sample segment.
    expect(result.folds[0]).toMatchObject({ from: 72, to: 141, inSampleBest: LONG });
    expect(result.folds[0]!.outOfSampleSharpe).toBeLessThan(0);
  });

  describe('through the ml and backtest agents (real Redis)', () => {
    let redis: Redis;
    let tmp: string;
    const keyPrefix = uniquePrefix('walk-forward');
    let deps: AgentDeps;
    const plan: StrategyPlan = {
      family: 'momentum',
      parameterRanges: { lookback: { min: 1, max: 2, step: 1 } },
      rationale: 'two candidates',
      provider: 'test',
    };

    beforeAll(() => {
      redis = redisClient();
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sagalane-wf-'));
      const csv = ['date,open,high,low,close,volume', ...bars.map((b) => Object.values(b).join(','))];
      fs.writeFileSync(path.join(tmp, 'REGIME.csv'), `${csv.join('\n')}\n`);
      deps = {
        redis,
        keyPrefix,
        dataDir: tmp,
        llm: { model: 'unused', timeoutMs: 1000 },
        planCacheTtlS: 60,
        logger: createLogger('silent'),
        costPerTradeBps: 0,
      };
    });
    afterAll(async () => {
      await deleteKeys(redis, keyPrefix);
      redis.disconnect();
      fs.rmSync(tmp, { recursive: true, force: true });
    });

    it('ml chooses by walk-forward score, records the in-sample pick, and the held-out bars agree', async () => {
      const agents = createAgents(deps);
      const store = new ArtifactStore(redis, keyPrefix);
      await store.put('wf', 'codegen', LONG_OR_SHORT, 'application/javascript', { family: 'momentum' });
      const ml = await agents.ml({ sagaId: 'wf', symbol: 'REGIME', plan });
      expect(ml.params).toEqual(SHORT);
      expect(ml.folds).toBe(4);
      const model = JSON.parse((await store.get('wf', 'ml'))!.body);
      expect(model.method).toBe('walk-forward');
      expect(model.walkForward.inSampleBest.params).toEqual(LONG);
      expect(model.walkForward.folds).toHaveLength(4);

      const chosen = await agents.backtest({ sagaId: 'wf', symbol: 'REGIME', params: ml.params });
      const inSample = await agents.backtest({ sagaId: 'wf', symbol: 'REGIME', params: LONG });
      expect(chosen.metrics.totalReturn).toBeGreaterThan(0);
      expect(inSample.metrics.totalReturn).toBeLessThan(0);
    });
  });
});
