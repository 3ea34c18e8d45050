/**
 * The strategy families sagalane knows: their parameters, default search ranges, the constraints between
 * parameters, and how many bars of history a parameter set needs. The planner, the plan schema, codegen and the
 * parameter search all read this one table.
 */
import type { ParameterRange, StrategyFamily } from './contracts';

export const STRATEGY_FAMILIES = [
  'ma_crossover',
  'momentum',
  'mean_reversion',
  'breakout',
] as const satisfies readonly StrategyFamily[];

export interface ParameterSpec {
  /** Lookbacks are whole bars; thresholds are real numbers. */
  integer: boolean;
  /** Smallest sensible value (inclusive). */
  min: number;
  /** Largest value a search may try (keeps the grid and the warm-up bounded). */
  max: number;
  description: string;
}

export interface FamilySpec {
  family: StrategyFamily;
  description: string;
  parameters: Record<string, ParameterSpec>;
  defaultRanges: Record<string, ParameterRange>;
  /** Returns a reason when a parameter set makes no sense for this family (e.g. fast ≥ slow). */
  violates(params: Record<string, number>): string | undefined;
  /** Bars of history the strategy needs before its first position. */
  warmupBars(params: Record<string, number>): number;
}

const lookback = (description: string): ParameterSpec => ({ integer: true, min: 1, max: 500, description });

export const FAMILY_SPECS: Record<StrategyFamily, FamilySpec> = {
  ma_crossover: {
    family: 'ma_crossover',
    description: 'Long while the fast simple moving average of closes is above the slow one, flat otherwise.',
    parameters: {
      fast: lookback('fast moving-average length in bars'),
      slow: lookback('slow moving-average length in bars'),
    },
    defaultRanges: { fast: { min: 5, max: 20, step: 5 }, slow: { min: 30, max: 90, step: 20 } },
    violates: (p) =>
      (p.fast ?? 0) >= (p.slow ?? 0) ? `fast (${p.fast}) must be below slow (${p.slow})` : undefined,
    warmupBars: (p) => p.slow ?? 0,
  },
  momentum: {
    family: 'momentum',
    description:
      'Long when the close is above the close `lookback` bars ago, short when below (time-series momentum).',
    parameters: { lookback: lookback('bars over which the return is measured') },
    defaultRanges: { lookback: { min: 10, max: 60, step: 10 } },
    violates: () => undefined,
    warmupBars: (p) => (p.lookback ?? 0) + 1,
  },
  mean_reversion: {
    family: 'mean_reversion',
    description:
      'Z-score of the close against its `lookback` mean and deviation (Bollinger): long below -entryZ, short above ' +
      '+entryZ, out when the z-score crosses zero.',
    parameters: {
      lookback: lookback('bars of the rolling mean and standard deviation'),
      entryZ: { integer: false, min: 0.1, max: 5, description: 'z-score distance that opens a position' },
    },
    defaultRanges: { lookback: { min: 10, max: 40, step: 10 }, entryZ: { min: 1, max: 2, step: 0.5 } },
    violates: (p) =>
      (p.lookback ?? 0) < 2 ? 'lookback must be at least 2 bars for a standard deviation' : undefined,
    warmupBars: (p) => p.lookback ?? 0,
  },
  breakout: {
    family: 'breakout',
    description:
      'Donchian breakout: long when the close exceeds the highest high of the previous `lookback` bars, out when it ' +
      'falls below the lowest low of the previous `exitLookback` bars.',
    parameters: {
      lookback: lookback('bars of the entry channel'),
      exitLookback: lookback('bars of the exit channel'),
    },
    defaultRanges: { lookback: { min: 10, max: 60, step: 10 }, exitLookback: { min: 5, max: 20, step: 5 } },
    violates: () => undefined,
    warmupBars: (p) => Math.max(p.lookback ?? 0, p.exitLookback ?? 0) + 1,
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
