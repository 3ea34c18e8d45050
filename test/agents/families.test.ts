/**
 * Known answers for the families added with the planner vocabulary (EMA crossover, RSI, Bollinger, MACD, the short
 * side of the Donchian breakout) and for the modifiers every family shares (long-only, take-profit, stop-loss,
 * volatility filter), on small hand-made series worked out by hand in the comments. Also the extended backtest
 * metrics (CAGR, Sortino, profit factor, average trade, turnover, buy and hold) on a hand-computed series.
 */
import { backtestMetrics } from '../../src/activities/research/backtest-engine';
import type { StrategyPlan } from '../../src/activities/research/contracts';
import type { Bar } from '../../src/activities/research/market-data';
import { generateStrategySource, type CodegenPlan } from '../../src/activities/research/strategy-codegen';
import { loadStrategy } from '../../src/activities/research/strategy-sandbox';

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

const run = async (plan: CodegenPlan, closes: number[], params: Record<string, number>) =>
  (await loadStrategy(generateStrategySource(plan), barsFromCloses(closes))).positions(params);
const both = async (family: StrategyPlan['family'], closes: number[], params: Record<string, number>) => ({
  longOnly: await run({ family, direction: 'long_only' }, closes, params),
  longShort: await run({ family, direction: 'long_short' }, closes, params),
});

describe('family known answers', () => {
  it('EMA 2/3 crossover: fast 10, 10, 11.33, 11.78, 9.93, 9.31 vs slow 10, 10, 11, 11.5, 10.25, 9.63', async () => {
    expect(await both('ema_crossover', [10, 10, 12, 12, 9, 9], { fast: 2, slow: 3 })).toEqual({
      longOnly: [0, 0, 1, 1, 0, 0],
      longShort: [0, 0, 1, 1, -1, -1],
    });
  });

  it('RSI(2) (Wilder): 100, 50, 25, 12.5, 56.25, 85.4 from bar 2; long at <= 30, out/short at >= 70', async () => {
    expect(await both('rsi', [10, 11, 12, 11, 10, 9, 10, 12], { period: 2, lower: 30, upper: 70 })).toEqual({
      longOnly: [0, 0, 0, 0, 1, 1, 1, 0],
      longShort: [0, 0, -1, -1, 1, 1, 1, -1],
    });
  });

  it('Bollinger(3, 1): back above the lower band at bar 4 (long), out at the middle band at bar 5', async () => {
    // Bar 3: mean 9, sd 1.414, lower 7.59; bar 4 closes 8 above its lower band 7.09 after 7 closed below 7.59.
    // Bar 6 closes 10 back under its upper band 10.28 after bar 5's 10 closed above 9.58: short until bar 9's 10
    // is at or below the middle band 11.67.
    expect(await both('bollinger', [10, 10, 10, 7, 8, 10, 10, 13, 12, 10], { length: 3, width: 1 })).toEqual({
      longOnly: [0, 0, 0, 0, 1, 0, 0, 0, 0, 0],
      longShort: [0, 0, 0, 0, 1, 0, -1, -1, -1, 0],
    });
  });

  it('MACD(2, 3, 2): line -0.32, -0.32, 0.12, 0.49 vs signal -0.13, -0.25, -0.00, 0.33 from bar 4', async () => {
    expect(await both('macd', [10, 10, 12, 12, 9, 9, 11, 13], { fast: 2, slow: 3, signal: 2 })).toEqual({
      longOnly: [0, 0, 0, 0, 0, 0, 1, 1],
      longShort: [0, 0, 0, 0, -1, -1, 1, 1],
    });
  });

  it('Donchian long/short: short below the 2-bar low at bar 3, covered and long above the 2-bar high at bar 6', async () => {
    expect(await both('breakout', [10, 10, 10, 7, 6, 6, 9, 10], { lookback: 2, exitLookback: 2 })).toEqual({
      longOnly: [0, 0, 0, 0, 0, 0, 1, 1],
      longShort: [0, 0, 0, -1, -1, -1, 1, 1],
    });
  });
});

describe('modifiers shared by every family', () => {
  const momentum = { family: 'momentum', direction: 'long_only' } as const;

  it('take-profit 8 %: out at bar 5 (12 / 11 = +9 %), and stays out until the signal changes', async () => {
    const closes = [10, 10, 10, 10, 11, 12, 11.5, 11.2, 11.1, 13];
    expect(await run(momentum, closes, { lookback: 3 })).toEqual([0, 0, 0, 0, 1, 1, 1, 1, 0, 1]);
    expect(await run({ ...momentum, risk: { takeProfitPct: 8 } }, closes, { lookback: 3 })).toEqual([
      0, 0, 0, 0, 1, 0, 0, 0, 0, 1,
    ]);
  });

  it('stop-loss 3 %: out at bar 5 (10.6 / 11 = -3.6 %), back in when the signal turns and returns', async () => {
    const closes = [10, 10, 10, 10, 11, 10.6, 10.8, 11.5, 9, 12];
    expect(await run(momentum, closes, { lookback: 3 })).toEqual([0, 0, 0, 0, 1, 1, 1, 1, 0, 1]);
    expect(await run({ ...momentum, risk: { stopLossPct: 3 } }, closes, { lookback: 3 })).toEqual([
      0, 0, 0, 0, 1, 0, 0, 0, 0, 1,
    ]);
  });

  it('volatility filter (2 bars, 50 %): flat through the jumps of bars 4-7 (over 100 % annualised)', async () => {
    const closes = [10, 10.1, 10.2, 10.3, 11.5, 10.2, 11.6, 11.7, 11.8];
    const filtered = { ...momentum, volatilityFilter: { lookback: 2, maxAnnualVolPct: 50 } };
    expect(await run(momentum, closes, { lookback: 1 })).toEqual([0, 1, 1, 1, 1, 0, 1, 1, 1]);
    expect(await run(filtered, closes, { lookback: 1 })).toEqual([0, 0, 1, 1, 0, 0, 0, 0, 1]);
  });

  it('writes the fixed values into the code as constants, nothing else from the plan', () => {
    const source = generateStrategySource({
      family: 'rsi',
      direction: 'long_short',
      risk: { stopLossPct: 4, takeProfitPct: 12 },
      volatilityFilter: { lookback: 20, maxAnnualVolPct: 35 },
    });
    expect(source).toContain('const DIRECTION = "long_short";');
    expect(source).toContain('const STOP_LOSS = 0.04;');
    expect(source).toContain('const TAKE_PROFIT = 0.12;');
    expect(source).toContain('const VOLATILITY_FILTER = {"lookback":20,"maxAnnualVolPct":35};');
  });
});

describe('extended backtest metrics, hand-computed', () => {
  // Closes 100, 110, 99, 108.9; positions long, flat, short: returns +10 %, 0, -10 %; equity 1, 1.1, 1.1, 0.99.
  const m = backtestMetrics([100, 110, 99, 108.9], [1, 0, -1, 0], 0);

  it('CAGR, Sortino, profit factor, average trade, turnover', () => {
    expect(m.totalReturn).toBeCloseTo(-0.01, 12);
    expect(m.cagr).toBeCloseTo(0.99 ** 84 - 1, 12); // 3 bars = 3/252 years
    expect(m.sortino).toBe(0); // mean return 0
    expect(m.trades).toBe(2);
    expect(m.profitFactor).toBeCloseTo(1, 12); // +10 % long, -10 % short
    expect(m.averageTrade).toBeCloseTo(0, 12);
    expect(m.turnover).toBeCloseTo((3 / 3) * 252, 12); // changes 1 + 1 + 1 over 3 bars
    expect(m.maxDrawdown).toBeCloseTo(0.1, 12);
  });

  it('buy and hold over the same bars: +8.9 %, Sharpe 4.5826, drawdown 10 %', () => {
    expect(m.buyAndHold.totalReturn).toBeCloseTo(0.089, 12);
    expect(m.buyAndHold.sharpe).toBeCloseTo(4.5826, 4);
    expect(m.buyAndHold.maxDrawdown).toBeCloseTo(0.1, 12);
    expect(m.buyAndHoldEquity.map((e) => Math.round(e * 1e6) / 1e6)).toEqual([1, 1.1, 0.99, 1.089]);
    expect(m.equity.map((e) => Math.round(e * 1e6) / 1e6)).toEqual([1, 1.1, 1.1, 0.99]);
  });

  it('Sortino: mean 0.0333 over downside deviation 0.0577, times sqrt(252) = 9.1652', () => {
    const s = backtestMetrics([100, 110, 99, 108.9], [1, 1, 1, 0], 0);
    expect(s.sortino).toBeCloseTo(9.1652, 4);
    expect(s.profitFactor).toBeNull(); // no losing trade
  });
});
