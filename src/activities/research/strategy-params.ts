/**
 * Checks on the parameters and data a fit or backtest uses: fixed parameters against their family, and the split of
 * a data set into training and held-out bars.
 */
import type { StrategyFamily } from './contracts';
import { InvalidAgentInputError, MarketDataError } from './errors';
import type { MarketData } from './market-data';
import { FAMILY_SPECS } from './strategy-families';

/** Fewest bars a parameter set is judged on after its warm-up. */
export const MIN_EVALUATION_BARS = 30;

/** Checks fixed parameters against the family: exact names, whole bars where needed, limits and constraints. */
export function validateParams(
  family: StrategyFamily,
  params: Record<string, number>,
): Record<string, number> {
  const spec = FAMILY_SPECS[family];
  const expected = Object.keys(spec.parameters).sort();
  const got = Object.keys(params).sort();
  if (expected.join(',') !== got.join(',')) {
    throw new InvalidAgentInputError(
      `${family} takes parameters [${expected.join(', ')}], got [${got.join(', ')}]`,
    );
  }
  for (const [name, p] of Object.entries(spec.parameters)) {
    const v = params[name]!;
    if ((p.integer && !Number.isInteger(v)) || v < p.min || v > p.max) {
      throw new InvalidAgentInputError(
        `${name} = ${v} is invalid: expected ${p.integer ? 'a whole number' : 'a number'} in [${p.min}, ${p.max}]`,
      );
    }
  }
  const violation = spec.violates(params);
  if (violation) throw new InvalidAgentInputError(`invalid ${family} parameters: ${violation}`);
  return params;
}

/** Index of the first held-out bar; throws `MarketDataError` when either side is too short for the strategy. */
export function trainSplitIndex(
  data: MarketData,
  trainFraction: number,
  warmup: number,
  family: string,
): number {
  const at = Math.floor(data.bars.length * trainFraction);
  const needed = warmup + MIN_EVALUATION_BARS;
  if (at < needed || data.bars.length - at < MIN_EVALUATION_BARS) {
    throw new MarketDataError(
      `data set ${data.name} has ${data.bars.length} rows (${at} for training, ${data.bars.length - at} held out); ` +
        `${family} needs at least ${needed} training rows (warm-up ${warmup} + ${MIN_EVALUATION_BARS}) and ` +
        `${MIN_EVALUATION_BARS} held-out rows`,
      { file: data.file, rows: data.bars.length, needed },
    );
  }
  return at;
}
