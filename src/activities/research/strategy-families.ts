/**
 * The strategy families sagalane knows: their parameters, default search ranges, the constraints between
 * parameters, the default trade direction, and how many bars of history a parameter set needs. The planners, the
 * plan schema, codegen and the parameter search all read this one table.
 */
import type { ParameterRange, StrategyFamily, TradeDirection } from './contracts';

export const STRATEGY_FAMILIES = [
  'ma_crossover',
  'ema_crossover',
  'momentum',
  'mean_reversion',
  'breakout',
  'rsi',
  'bollinger',
  'macd',
] as const satisfies readonly StrategyFamily[];

export interface ParameterSpec {
  /** Lookbacks are whole bars; thresholds are real numbers. */
  integer: boolean;
  /** Smallest sensible value (inclusive). */
  min: number;
  /** Largest value a search may try (keeps the grid and the warm-up bounded). */
  max: number;
  /** Step of a range centred on a value the idea names. @defaultValue a fifth of the value (at least 1) */
  searchStep?: number;
  description: string;
}

export interface FamilySpec {
  family: StrategyFamily;
  description: string;
  parameters: Record<string, ParameterSpec>;
  defaultRanges: Record<string, ParameterRange>;
  /** Direction when the idea does not say. */
  defaultDirection: TradeDirection;
  /** Returns a reason when a parameter set makes no sense for this family (e.g. fast ≥ slow). */
  violates(params: Record<string, number>): string | undefined;
  /** Bars of history the strategy needs before its first position. */
  warmupBars(params: Record<string, number>): number;
}

const lookback = (description: string): ParameterSpec => ({ integer: true, min: 1, max: 500, description });
const fastBelowSlow = (p: Record<string, number>) =>
  (p.fast ?? 0) >= (p.slow ?? 0) ? `fast (${p.fast}) must be below slow (${p.slow})` : undefined;
const crossoverRanges = { fast: { min: 5, max: 20, step: 5 }, slow: { min: 30, max: 90, step: 20 } };

export const FAMILY_SPECS: Record<StrategyFamily, FamilySpec> = {
  ma_crossover: {
    family: 'ma_crossover',
    description:
      'Long while the fast simple moving average of closes is above the slow one (short below it when long/short).',
    parameters: {
      fast: lookback('fast moving-average length in bars'),
      slow: lookback('slow moving-average length in bars'),
    },
    defaultRanges: crossoverRanges,
    defaultDirection: 'long_only',
    violates: fastBelowSlow,
    warmupBars: (p) => p.slow ?? 0,
  },
  ema_crossover: {
    family: 'ema_crossover',
    description:
      'Long while the fast exponential moving average (alpha 2/(n+1)) is above the slow one (short below it when ' +
      'long/short).',
    parameters: {
      fast: lookback('fast EMA length in bars'),
      slow: lookback('slow EMA length in bars'),
    },
    defaultRanges: crossoverRanges,
    defaultDirection: 'long_only',
    violates: fastBelowSlow,
    warmupBars: (p) => p.slow ?? 0,
  },
  momentum: {
    family: 'momentum',
    description:
      'Long when the close is above the close `lookback` bars ago, short when below (time-series momentum).',
    parameters: { lookback: lookback('bars over which the return is measured') },
    defaultRanges: { lookback: { min: 10, max: 60, step: 10 } },
    defaultDirection: 'long_short',
    violates: () => undefined,
    warmupBars: (p) => (p.lookback ?? 0) + 1,
  },
  mean_reversion: {
    family: 'mean_reversion',
    description:
      'Z-score of the close against its `lookback` mean and deviation: long below -entryZ, short above +entryZ, out ' +
      'when the z-score crosses zero.',
    parameters: {
      lookback: lookback('bars of the rolling mean and standard deviation'),
      entryZ: {
        integer: false,
        min: 0.1,
        max: 5,
        searchStep: 0.5,
        description: 'z-score distance that opens a position',
      },
    },
    defaultRanges: { lookback: { min: 10, max: 40, step: 10 }, entryZ: { min: 1, max: 2, step: 0.5 } },
    defaultDirection: 'long_short',
    violates: (p) =>
      (p.lookback ?? 0) < 2 ? 'lookback must be at least 2 bars for a standard deviation' : undefined,
    warmupBars: (p) => p.lookback ?? 0,
  },
  breakout: {
    family: 'breakout',
    description:
      'Donchian breakout: long when the close exceeds the highest high of the previous `lookback` bars, out when it ' +
      'falls below the lowest low of the previous `exitLookback` bars (the mirror image for shorts when long/short).',
    parameters: {
      lookback: lookback('bars of the entry channel'),
      exitLookback: lookback('bars of the exit channel'),
    },
    defaultRanges: { lookback: { min: 10, max: 60, step: 10 }, exitLookback: { min: 5, max: 20, step: 5 } },
    defaultDirection: 'long_only',
    violates: () => undefined,
    warmupBars: (p) => Math.max(p.lookback ?? 0, p.exitLookback ?? 0) + 1,
  },
  rsi: {
    family: 'rsi',
    description:
      "Wilder's RSI over `period` bars: long when it falls to `lower` or below, out when it reaches `upper` (short " +
      'at `upper`, covered at `lower`, when long/short).',
    parameters: {
      period: { integer: true, min: 2, max: 100, description: 'RSI period in bars' },
      lower: {
        integer: true,
        min: 5,
        max: 50,
        searchStep: 5,
        description: 'oversold level that opens a long',
      },
      upper: {
        integer: true,
        min: 50,
        max: 95,
        searchStep: 5,
        description: 'overbought level that closes it',
      },
    },
    defaultRanges: {
      period: { min: 7, max: 21, step: 7 },
      lower: { min: 25, max: 35, step: 5 },
      upper: { min: 65, max: 75, step: 5 },
    },
    defaultDirection: 'long_only',
    violates: (p) =>
      (p.lower ?? 0) >= (p.upper ?? 0) ? `lower (${p.lower}) must be below upper (${p.upper})` : undefined,
    warmupBars: (p) => (p.period ?? 0) + 1,
  },
  bollinger: {
    family: 'bollinger',
    description:
      'Bollinger band reversal: long when the close comes back above the lower band (mean of `length` closes minus ' +
      '`width` standard deviations) after closing below it, out at the middle band (the mirror image at the upper ' +
      'band for shorts when long/short).',
    parameters: {
      length: { integer: true, min: 2, max: 250, description: 'bars of the middle band and deviation' },
      width: {
        integer: false,
        min: 0.5,
        max: 4,
        searchStep: 0.5,
        description: 'band width in standard deviations',
      },
    },
    defaultRanges: { length: { min: 10, max: 30, step: 10 }, width: { min: 1.5, max: 2.5, step: 0.5 } },
    defaultDirection: 'long_only',
    violates: () => undefined,
    warmupBars: (p) => (p.length ?? 0) + 1,
  },
  macd: {
    family: 'macd',
    description:
      'MACD: long while EMA(fast) − EMA(slow) is above its `signal`-bar EMA (short below it when long/short).',
    parameters: {
      fast: { integer: true, min: 2, max: 100, description: 'fast EMA length in bars' },
      slow: { integer: true, min: 3, max: 250, description: 'slow EMA length in bars' },
      signal: { integer: true, min: 2, max: 100, description: 'signal-line EMA length in bars' },
    },
    defaultRanges: {
      fast: { min: 8, max: 16, step: 4 },
      slow: { min: 21, max: 31, step: 5 },
      signal: { min: 6, max: 12, step: 3 },
    },
    defaultDirection: 'long_only',
    violates: fastBelowSlow,
    warmupBars: (p) => (p.slow ?? 0) + (p.signal ?? 0),
  },
};

/** The values an inclusive range yields, rounded to tame float steps (0.1 + 0.2). */
export function rangeValues(range: ParameterRange): number[] {
  const values: number[] = [];
  for (let i = 0; ; i++) {
    const v = Math.round((range.min + i * range.step) * 1e9) / 1e9;
    if (v > range.max + 1e-9) break;
    values.push(v);
  }
  return values;
}

/** Every combination of the ranges' values (cartesian product), in a stable order. */
export function parameterGrid(ranges: Record<string, ParameterRange>): Record<string, number>[] {
  let grid: Record<string, number>[] = [{}];
  for (const name of Object.keys(ranges).sort()) {
    const values = rangeValues(ranges[name]!);
    grid = grid.flatMap((partial) => values.map((v) => ({ ...partial, [name]: v })));
  }
  return grid;
}

/** Product of the ranges' sizes without materialising the grid. */
export function gridSize(ranges: Record<string, ParameterRange>): number {
  return Object.values(ranges).reduce((n, r) => n * rangeValues(r).length, 1);
}
