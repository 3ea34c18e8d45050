/** The built-in planner maps ideas to families and lookbacks; every plan passes the one plan schema. */
import {
  planFromIdea,
  lookbacksMentioned,
  proposedPlanSchema,
  strategyPlanSchema,
} from '../../src/activities/strategy-plan';
import { parameterGrid } from '../../src/activities/strategy-families';

describe('built-in planner', () => {
  it.each([
    ['golden cross: 50-day SMA crossing the 200-day', 'ma_crossover'],
    ['follow the trend', 'ma_crossover'],
    ['trend-following momentum over 3 months', 'momentum'],
    ['time series momentum', 'momentum'],
    ['mean reversion: buy when 2 sigma below the 20 day mean', 'mean_reversion'],
    ['fade overbought moves with Bollinger bands', 'mean_reversion'],
    ['z-score of price', 'mean_reversion'],
    ['breakout above the 55-day high (Donchian)', 'breakout'],
    ['buy new highs, a channel break out', 'breakout'],
    ['something vague about tech stocks', 'ma_crossover'],
  ])('%s -> %s', (idea, family) => {
    const plan = planFromIdea(idea, 'DEMO');
    expect(plan.family).toBe(family);
    expect(plan.provider).toBe('builtin');
    expect(plan.rationale).toContain('DEMO');
    expect(strategyPlanSchema.safeParse(plan).success).toBe(true);
  });

  it('is deterministic', () => {
    expect(planFromIdea('momentum 20 days', 'X')).toEqual(planFromIdea('momentum 20 days', 'X'));
  });

  it('centres the search on the lookbacks an idea names', () => {
    expect(lookbacksMentioned('10/50-day crossover, exit after 5 bars')).toEqual([10, 50, 5]);
    expect(lookbacksMentioned('fast 12 slow 26')).toEqual([12, 26]);
    expect(lookbacksMentioned('buy 5 shares')).toEqual([]);

    const crossover = planFromIdea('moving average crossover of the 10 and 50 day averages', 'DEMO');
    const fast = parameterGrid({ fast: crossover.parameterRanges.fast! }).map((p) => p.fast!);
    const slow = parameterGrid({ slow: crossover.parameterRanges.slow! }).map((p) => p.slow!);
    expect(fast).toContain(10);
    expect(slow).toContain(50);
    expect(Math.max(...fast)).toBeLessThan(Math.min(...slow));

    const breakout = planFromIdea('20-day breakout, exit on a 10 day low', 'DEMO');
    expect(parameterGrid({ l: breakout.parameterRanges.lookback! }).map((p) => p.l)).toContain(20);
    expect(parameterGrid({ e: breakout.parameterRanges.exitLookback! }).map((p) => p.e)).toContain(10);
    expect(breakout.rationale).toMatch(/lookback ≈ 20/);
  });
});

describe('plan schema', () => {
  const ok = {
    family: 'momentum',
    parameterRanges: { lookback: { min: 10, max: 30, step: 10 } },
    rationale: 'because',
  };
  const problems = (plan: unknown) => {
    const r = proposedPlanSchema.safeParse(plan);
    return r.success ? [] : r.error.issues.map((i) => i.message);
  };

  it('accepts a well-formed plan', () => {
    expect(problems(ok)).toEqual([]);
  });

  it.each([
    ['an unknown family', { ...ok, family: 'astrology' }, /expected one of/i],
    [
      'parameters of another family',
      { ...ok, parameterRanges: { fast: { min: 1, max: 2, step: 1 } } },
      /takes parameters \[lookback\]/,
    ],
    [
      'min above max',
      { ...ok, parameterRanges: { lookback: { min: 30, max: 10, step: 1 } } },
      /min must not exceed max/,
    ],
    [
      'fractional bars',
      { ...ok, parameterRanges: { lookback: { min: 10.5, max: 20, step: 1 } } },
      /whole bars/,
    ],
    [
      'a zero step',
      { ...ok, parameterRanges: { lookback: { min: 10, max: 20, step: 0 } } },
      /too small|positive|>0/i,
    ],
    [
      'a huge grid',
      {
        family: 'breakout',
        parameterRanges: {
          lookback: { min: 2, max: 300, step: 1 },
          exitLookback: { min: 2, max: 200, step: 1 },
        },
        rationale: 'x',
      },
      /combinations|at most/,
    ],
    ['an empty rationale', { ...ok, rationale: '  ' }, /rationale must not be empty/],
  ])('rejects %s', (_name, plan, message) => {
    const found = problems(plan);
    expect(found.length).toBeGreaterThan(0);
    expect(found.join(' | ')).toMatch(message);
  });
});
