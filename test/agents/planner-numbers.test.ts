/**
 * The built-in planner reads numbers as traders write them (issue 30): slash groups mapped by the family's parameter
 * order, numbers and periods in words, and role words ("signal line", "exit", "standard deviations") that decide a
 * number's parameter before order does. Each row is an idea as a trader would type it, the family it names and the
 * centre of the search for every parameter the idea names (a centre `c` means the plan searches `rangeAround(c)`).
 *
 * Periods in words or units are in bars of the data set's frequency. The sample data (data/*.csv) has one bar per
 * business day, so these rows assume DAILY bars: a week is 5 bars, a fortnight 10, a month 21, a quarter 63 and a
 * year 252 (the 252 trading days a year that annualising uses). The last block checks that assumption against the
 * sample data itself and shows what the same words mean in weekly bars.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { StrategyFamily } from '../../src/activities/research/contracts';
import { parseOhlcvCsv } from '../../src/activities/research/market-data';
import { FAMILY_SPECS } from '../../src/activities/research/strategy-families';
import { barFrequencyOf } from '../../src/activities/research/idea-numbers';
import { planFromIdea, planSchemaForIdea, rangeAround } from '../../src/activities/research/strategy-plan';

type Centres = Record<string, number>;
const TABLE: [idea: string, family: StrategyFamily, centres: Centres][] = [
  // MACD: slash and comma triples, a signal named by its role, numbers in words.
  [
    'MACD 6/19/9 on the daily, long when the histogram turns positive',
    'macd',
    { fast: 6, slow: 19, signal: 9 },
  ],
  ['Fast MACD (5,35,5) crossover', 'macd', { fast: 5, slow: 35, signal: 5 }],
  ['MACD with a 7-bar signal line, otherwise the standard settings', 'macd', { signal: 7 }],
  ['12/26 MACD but with a five-day signal', 'macd', { fast: 12, slow: 26, signal: 5 }],
  ['MACD line crossing its signal line, signal of nine', 'macd', { signal: 9 }],
  ['MACD 3-10-16 like Raschke', 'macd', { fast: 3, slow: 10, signal: 16 }],
  ['MACD, signal line 4, fast 8, slow 17', 'macd', { fast: 8, slow: 17, signal: 4 }],
  // Moving-average crossovers.
  ['Classic 10/30 crossover on simple moving averages', 'ma_crossover', { fast: 10, slow: 30 }],
  ['50/200 SMA golden cross, long only', 'ma_crossover', { fast: 50, slow: 200 }],
  ['Go long when the 9 EMA crosses above the 21 EMA', 'ema_crossover', { fast: 9, slow: 21 }],
  ['EMA cross, a week against a month', 'ema_crossover', { fast: 5, slow: 21 }],
  ['Buy when the 2-week EMA crosses above the 3-month EMA', 'ema_crossover', { fast: 10, slow: 63 }],
  ['SMA crossover: a fortnight against a quarter', 'ma_crossover', { fast: 10, slow: 63 }],
  [
    'Moving average crossover, fast of twelve days and slow of a dozen weeks',
    'ma_crossover',
    { fast: 12, slow: 60 },
  ],
  ['SMA crossover, slow leg 100 days, fast leg 20', 'ma_crossover', { fast: 20, slow: 100 }],
  ['Buy when the ten-day SMA crosses the fifty-day SMA', 'ma_crossover', { fast: 10, slow: 50 }],
  ['EMA 12/26 crossover with a 2% stop', 'ema_crossover', { fast: 12, slow: 26 }],
  ['200/50 SMA cross', 'ma_crossover', { fast: 50, slow: 200 }],
  // RSI: period by its words, levels by which side of 50 they are on.
  ['Connors RSI(2): buy under 10, sell over 90', 'rsi', { period: 2, lower: 10, upper: 90 }],
  ['14-period RSI with 30/70 levels', 'rsi', { period: 14, lower: 30, upper: 70 }],
  ['Buy when RSI drops under 25, exit above 80', 'rsi', { lower: 25, upper: 80 }],
  [
    'RSI with a one-week lookback, oversold at 20 and overbought at 80',
    'rsi',
    { period: 5, lower: 20, upper: 80 },
  ],
  ['RSI over a fortnight, buy when oversold below 35', 'rsi', { period: 10, lower: 35 }],
  ['RSI 14/30/70', 'rsi', { period: 14, lower: 30, upper: 70 }],
  [
    'Buy when the 21-day RSI crosses back above 30 and sell when it hits 75',
    'rsi',
    { period: 21, lower: 30, upper: 75 },
  ],
  ['RSI on a dozen bars, long under twenty, flat over eighty', 'rsi', { period: 12, lower: 20, upper: 80 }],
  // Bollinger bands: width by "standard deviations"/"sigma"/"band width", length by order or its unit.
  ['Bollinger 20/2', 'bollinger', { length: 20, width: 2 }],
  [
    'Fade closes outside three standard deviations of a 20-day Bollinger band',
    'bollinger',
    { length: 20, width: 3 },
  ],
  ['Bollinger bands with a band width of 2.5 over a month', 'bollinger', { length: 21, width: 2.5 }],
  ['BB(20, 2) mean reversion', 'bollinger', { length: 20, width: 2 }],
  [
    'Buy tags of the lower Bollinger band, two and a half sigma, 50 bars',
    'bollinger',
    { length: 50, width: 2.5 },
  ],
  [
    'Bollinger band of 10 days, one and a half standard deviations wide',
    'bollinger',
    { length: 10, width: 1.5 },
  ],
  // Breakouts: entry and exit channels by "exit"/"stop"/"low" or by order.
  ['Turtle system: buy 55-day highs, exit on a 20-day low', 'breakout', { lookback: 55, exitLookback: 20 }],
  ['Donchian 20/10', 'breakout', { lookback: 20, exitLookback: 10 }],
  ['Buy a break of the quarter high, exit on a two-week low', 'breakout', { lookback: 63, exitLookback: 10 }],
  [
    'Channel breakout on a one-month high with a one-week exit',
    'breakout',
    { lookback: 21, exitLookback: 5 },
  ],
  ['Donchian breakout, entry 40 days, exit 15 days', 'breakout', { lookback: 40, exitLookback: 15 }],
  ['Buy the 52-week high breakout', 'breakout', { lookback: 252 }],
  ['20-day Donchian breakout with a 10-day trailing stop', 'breakout', { lookback: 20, exitLookback: 10 }],
  // Momentum: lookbacks in words and periods.
  ['Twelve-month momentum, skipping the most recent month', 'momentum', { lookback: 252 }],
  ['Time-series momentum over six months', 'momentum', { lookback: 126 }],
  ['Buy if the trailing return over a quarter is positive', 'momentum', { lookback: 63 }],
  ['Rate of change over half a year', 'momentum', { lookback: 126 }],
  ['3-month momentum, long only', 'momentum', { lookback: 63 }],
  ['Momentum with a one-year lookback, only when volatility is under 30%', 'momentum', { lookback: 252 }],
  // z-score mean reversion: entry by "standard deviations"/"sigma"/a small number, lookback by its unit.
  ['Fade 2 sigma moves away from the 20-day mean', 'mean_reversion', { lookback: 20, entryZ: 2 }],
  [
    'Z-score mean reversion, lookback a month, enter beyond 1.5',
    'mean_reversion',
    { lookback: 21, entryZ: 1.5 },
  ],
  [
    'Mean-revert when price is two standard deviations below its 50-day average',
    'mean_reversion',
    { lookback: 50, entryZ: 2 },
  ],
  ['Z-score of the close over 30 bars, trade at ±2.5', 'mean_reversion', { lookback: 30, entryZ: 2.5 }],
  ['mean reversion, z-score 20/1.5', 'mean_reversion', { lookback: 20, entryZ: 1.5 }],
  [
    'use a fortnight lookback for the z-score and enter at 2 sigma',
    'mean_reversion',
    { lookback: 10, entryZ: 2 },
  ],
  // Chat-style, lower case, terse.
  ['rsi-2 strategy: buy below 5, sell above 70', 'rsi', { period: 2, lower: 5, upper: 70 }],
  ['buy when the 3-day RSI is under fifteen', 'rsi', { period: 3, lower: 15 }],
  ['buy when price closes below the lower band (20 period, 2 std)', 'bollinger', { length: 20, width: 2 }],
  ['SMA 50 crossing SMA 200', 'ma_crossover', { fast: 50, slow: 200 }],
  ['two hundred day moving average', 'ma_crossover', { slow: 200 }],
  ['buy the 20 day high, sell the ten day low', 'breakout', { lookback: 20, exitLookback: 10 }],
];

describe('built-in planner: numbers as traders write them (daily bars)', () => {
  it('has at least 40 ideas covering every family', () => {
    expect(TABLE.length).toBeGreaterThanOrEqual(40);
    expect(new Set(TABLE.map(([, family]) => family))).toEqual(new Set(Object.keys(FAMILY_SPECS)));
  });

  it.each(TABLE)('%s', (idea, family, centres) => {
    const plan = planFromIdea(idea, 'DEMO');
    // The schema an LLM's plan must pass too: every number understood with its parameter or set aside, not both.
    expect(planSchemaForIdea(idea).safeParse(plan).error?.issues ?? []).toEqual([]);
    expect(plan.family).toBe(family);
    const spec = FAMILY_SPECS[family];
    for (const [name, centre] of Object.entries(centres)) {
      expect([name, plan.parameterRanges[name]]).toEqual([name, rangeAround(centre, spec.parameters[name]!)]);
      // A parameter centred on a number of the idea lists it as understood.
      expect(plan.understood!.map((u) => u.meaning)).toContainEqual(`${name} ≈ ${centre}`);
    }
    // Each idea names one family and only numbers of its own: none is set aside, no second family is reported
    // ("RSI crosses back above 30" crosses nothing of a crossover's).
    expect(plan.assumed!.filter((a) => /^ignored|^not used|also names/.test(a))).toEqual([]);
  });
});

describe('periods are bars of the data set frequency', () => {
  it.each(['DEMO', 'TREND', 'MEANREV'])(
    'the sample data %s has one bar per business day, so a month is 21 bars there (the default)',
    (name) => {
      const csv = fs.readFileSync(path.join(__dirname, `../../data/${name}.csv`), 'utf8');
      const dates = parseOhlcvCsv(csv, `${name}.csv`).map((b) => b.date);
      const gaps = dates.slice(1).map((d, i) => (Date.parse(d) - Date.parse(dates[i]!)) / 86_400_000);
      // Monday to Friday: one day apart, three over a weekend; never a week or a month.
      expect(new Set(gaps)).toEqual(new Set([1, 3]));
      expect(barFrequencyOf(dates)).toBe('daily');
      const plan = planFromIdea('momentum over a month', name, { barFrequency: barFrequencyOf(dates) });
      expect(plan.parameterRanges.lookback).toEqual(
        rangeAround(21, FAMILY_SPECS.momentum.parameters.lookback!),
      );
      expect(planFromIdea('momentum over a month', name)).toEqual(plan);
    },
  );

  it('reads a frequency from dates by the median gap (holidays and a missing bar do not change it)', () => {
    const every = (days: number, n: number, skip: number[] = []) =>
      Array.from({ length: n }, (_, i) => new Date(Date.UTC(2024, 0, 1) + i * days * 86_400_000))
        .filter((_, i) => !skip.includes(i))
        .map((d) => d.toISOString().slice(0, 10));
    expect(barFrequencyOf(every(7, 30, [4, 11]))).toBe('weekly');
    expect(barFrequencyOf(every(30, 24, [5]))).toBe('monthly');
    expect(barFrequencyOf(every(1, 40, [6, 7, 13, 14]))).toBe('daily');
  });

  it.each([
    ['daily', 'a month', 21],
    ['daily', 'a quarter', 63],
    ['daily', 'a fortnight', 10],
    ['daily', 'half a year', 126],
    ['weekly', 'a month', 4],
    ['weekly', 'a quarter', 13],
    ['weekly', 'a year', 52],
    ['weekly', '20 days', 4],
    ['monthly', 'a year', 12],
    ['monthly', 'six months', 6],
  ] as const)('%s bars: momentum over %s is %d bars', (barFrequency, period, bars) => {
    const plan = planFromIdea(`momentum over ${period}`, 'DEMO', { barFrequency });
    expect(plan.parameterRanges.lookback).toEqual(
      rangeAround(bars, FAMILY_SPECS.momentum.parameters.lookback!),
    );
    expect(plan.understood).toContainEqual({ phrase: period, meaning: `lookback ≈ ${bars}` });
    expect(plan.assumed!.join('\n')).toContain(`${barFrequency} bars`);
  });
});
