/** Known answers of the backtest engine and of generated strategies run in the sandbox. */
import path from 'node:path';
import {
  backtestMetrics,
  maxDrawdown,
  sharpeRatio,
  simulate,
} from '../../src/activities/research/backtest-engine';
import { loadMarketData, type Bar } from '../../src/activities/research/market-data';
import { generateStrategySource } from '../../src/activities/research/strategy-codegen';
import { loadStrategy } from '../../src/activities/research/strategy-sandbox';

const DATA_DIR = path.resolve(__dirname, '..', '..', 'data');

function barsFromCloses(closes: number[]): Bar[] {
  return closes.map((close, i) => ({
    date: new Date(Date.UTC(2021, 0, 1 + i)).toISOString().slice(0, 10),
    open: close,
    high: close + 1,
    low: close - 1,
    close,
    volume: 100,
  }));
}

describe('backtest engine known answers', () => {
  it("buy and hold's total return is last close / first close - 1 (DEMO data, no costs)", async () => {
    const { bars } = await loadMarketData(path.join(DATA_DIR, 'DEMO.csv'));
    const closes = bars.map((b) => b.close);
    const m = backtestMetrics(
      closes,
      closes.map(() => 1),
      0,
    );
    const expected = closes[closes.length - 1]! / closes[0]! - 1;
    expect(m.totalReturn).toBeCloseTo(expected, 10);
    expect(m.buyAndHoldReturn).toBeCloseTo(expected, 12);
    expect(m.trades).toBe(1);
    expect(m.exposure).toBe(1);
    expect(m.bars).toBe(bars.length);
  });

  it('max drawdown of a hand-computed curve: peak 1.2 to trough 0.6 is 50 %', () => {
    expect(maxDrawdown([1, 1.2, 0.9, 1.1, 0.6, 0.8])).toBeCloseTo(0.5, 12);
    expect(maxDrawdown([1, 1.1, 1.2])).toBe(0);
    // The same curve as prices held long: the engine's drawdown matches.
    const m = backtestMetrics([100, 120, 90, 110, 60, 80], [1, 1, 1, 1, 1, 1], 0);
    expect(m.maxDrawdown).toBeCloseTo(0.5, 12);
    expect(m.totalReturn).toBeCloseTo(-0.2, 12);
  });

  it('Sharpe of a hand-computed series: mean 0.005, sample sd sqrt(5e-4/3), x sqrt(252) = 6.14817', () => {
    expect(sharpeRatio([0.01, -0.01, 0.02, 0])).toBeCloseTo(6.14817, 4);
    expect(sharpeRatio([0.01, 0.01, 0.01])).toBe(0); // no variance: not infinite
    expect(sharpeRatio([0.01])).toBe(0);
  });

  it('charges costs per unit of position change and books them on trades', () => {
    const closes = [100, 110, 121, 110];
    const sim = simulate(closes, [1, 1, -1, -1], 0.001);
    // Enter long at 100 (cost 0.001), flip to short at 121 (cost 0.002), marked to market at 110.
    expect(sim.returns[0]).toBeCloseTo(0.1 - 0.001, 12);
    expect(sim.returns[1]).toBeCloseTo(0.1, 12);
    expect(sim.returns[2]).toBeCloseTo(-(110 / 121 - 1) - 0.002, 12);
    expect(sim.trades.map((t) => [t.direction, t.entryIndex, t.exitIndex, t.open])).toEqual([
      [1, 0, 2, false],
      [-1, 2, 3, true],
    ]);
    expect(sim.trades[0]!.return).toBeCloseTo(0.21 - 0.002, 12);
    expect(sim.trades[1]!.return).toBeCloseTo(1 - 110 / 121 - 0.001, 12);
  });
});

describe('generated strategies in the sandbox', () => {
  // Hand-worked SMA(2) vs SMA(3): long from bar 4 to bar 8 (11 -> 11) and from bar 12 to the end (10 -> 12).
  const closes = [10, 10, 10, 10, 11, 12, 13, 12, 11, 10, 9, 9, 10, 11, 12];
  const expectedPositions = [0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1];

  it('a 2/3 moving-average crossover on a crafted series makes exactly the expected trades', async () => {
    const runner = await loadStrategy(
      generateStrategySource({ family: 'ma_crossover' }),
      barsFromCloses(closes),
    );
    const positions = runner.positions({ fast: 2, slow: 3 });
    expect(positions).toEqual(expectedPositions);
    const m = backtestMetrics(closes, positions, 0);
    expect(m.tradeList.map((t) => [t.entryIndex, t.exitIndex, t.open])).toEqual([
      [4, 8, false],
      [12, 14, true],
    ]);
    expect(m.trades).toBe(2);
    expect(m.tradeList[0]!.return).toBeCloseTo(0, 12);
    expect(m.tradeList[1]!.return).toBeCloseTo(0.2, 12);
    expect(m.winRate).toBe(0.5); // a flat trade is not a win
    expect(m.exposure).toBeCloseTo(6 / 14, 12);
    expect(m.totalReturn).toBeCloseTo(0.2, 12);
    expect(m.buyAndHoldReturn).toBeCloseTo(0.2, 12);
  });

  it('momentum is long after rises and short after falls; breakout enters above the channel', async () => {
    const bars = barsFromCloses([10, 11, 12, 11, 10, 9, 10, 11, 15, 16]);
    const momentum = await loadStrategy(generateStrategySource({ family: 'momentum' }), bars);
    expect(momentum.positions({ lookback: 2 })).toEqual([0, 0, 1, 0, -1, -1, 0, 1, 1, 1]);
    const breakout = await loadStrategy(generateStrategySource({ family: 'breakout' }), bars);
    // Highs are close + 1: the first close above the previous 3 highs is 15 at bar 8 (highs 11, 12, 12).
    expect(breakout.positions({ lookback: 3, exitLookback: 2 })).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 1, 1]);
  });

  it('mean reversion buys a drop below -entryZ and exits when the z-score is back at zero', async () => {
    const bars = barsFromCloses([10, 10, 10, 10, 8, 10, 11, 10, 12, 9]);
    const runner = await loadStrategy(generateStrategySource({ family: 'mean_reversion' }), bars);
    // Bar 4: mean 9.5, sd 0.866 -> z -1.73 (long); bar 5: mean 9.5, z +0.58 (exit); bar 8: z +1.6 (short) ...
    expect(runner.positions({ lookback: 4, entryZ: 1.5 })).toEqual([0, 0, 0, 0, 1, 0, 0, 0, -1, 0]);
  });
});
