/**
 * The built-in planner against a table of plain-English ideas: several phrasings per family, numbers in and out of a
 * parameter's limits, "exactly", two families in one idea, modifiers (direction, stop-loss, take-profit,
 * volatility filter) and nonsense. Each row names the family, the ranges the search gets (`D` = the family's default
 * range) and phrases that must appear in `understood` and `assumed`. Every plan passes the one plan schema.
 */
import { UnmappableIdeaError } from '../../src/activities/research/errors';
import { FAMILY_SPECS } from '../../src/activities/research/strategy-families';
import {
  planFromIdea,
  proposedPlanSchema,
  strategyPlanSchema,
} from '../../src/activities/research/strategy-plan';
import type { StrategyFamily, StrategyPlan } from '../../src/activities/research/contracts';

const D = 'default' as const;
type Range = [min: number, max: number, step: number] | typeof D;
interface Row {
  family: StrategyFamily;
  ranges?: Record<string, Range>;
  direction?: StrategyPlan['direction'];
  /** Phrases (as written in the idea) the plan must list as understood. */
  understood?: string[];
  /** Patterns that must each match one `assumed` entry. */
  assumed?: RegExp[];
  familySource?: 'default';
  risk?: StrategyPlan['risk'];
  volatilityFilter?: StrategyPlan['volatilityFilter'];
}

const NO_FAMILY = /names a strategy family sagalane knows.*default ma_crossover/;
const TABLE: [idea: string, expected: Row][] = [
  // RSI
  [
    'buy when RSI below 30, sell above 70',
    {
      family: 'rsi',
      ranges: { period: D, lower: [20, 40, 5], upper: [60, 80, 5] },
      understood: ['RSI', 'below 30', 'above 70'],
      assumed: [/^period: the default/, /^long-only/],
    },
  ],
  ['RSI oversold bounce', { family: 'rsi', ranges: { period: D, lower: D, upper: D }, understood: ['RSI'] }],
  [
    'relative strength index under 20 then exit over 80, 10 period',
    {
      family: 'rsi',
      ranges: { period: [6, 14, 2], lower: [10, 30, 5], upper: [70, 90, 5] },
      understood: ['relative strength index', 'under 20', 'over 80', '10 period'],
    },
  ],
  [
    'RSI(14) < 30 long/short',
    {
      family: 'rsi',
      direction: 'long_short',
      ranges: { period: [8, 20, 3], lower: [20, 40, 5], upper: [60, 80, 5] },
      understood: ['long/short', '< 30'],
      assumed: [/upper ≈ 70 \(mirrors lower 30/],
    },
  ],
  [
    'go long on oversold RSI readings with a 3% stop loss',
    { family: 'rsi', risk: { stopLossPct: 3 }, understood: ['3% stop loss'] },
  ],
  [
    'exactly 14-day RSI below exactly 30',
    { family: 'rsi', ranges: { period: [14, 14, 1], lower: [30, 30, 1], upper: [70, 70, 1] } },
  ],
  [
    'RSI below 2',
    {
      family: 'rsi',
      ranges: { lower: [5, 15, 5], upper: [85, 95, 5] },
      assumed: [/lower 2 is outside \[5, 50\], so the search is centred on 5/],
    },
  ],
  [
    'RSI with period 500',
    { family: 'rsi', ranges: { period: [60, 100, 20] }, assumed: [/period 500 is outside \[2, 100\]/] },
  ],
  // SMA crossover
  [
    'golden cross',
    {
      family: 'ma_crossover',
      ranges: { fast: [30, 70, 10], slow: [120, 280, 40] },
      assumed: [/golden\/death cross: the usual 50 and 200/],
    },
  ],
  [
    'death cross, shorting allowed',
    { family: 'ma_crossover', direction: 'long_short', understood: ['death cross', 'shorting'] },
  ],
  [
    '10/50 day SMA crossover',
    { family: 'ma_crossover', ranges: { fast: [6, 14, 2], slow: [30, 70, 10] }, understood: ['SMA'] },
  ],
  [
    'fast 12 slow 26 simple moving average',
    {
      family: 'ma_crossover',
      ranges: { fast: [8, 16, 2], slow: [16, 36, 5] },
      understood: ['fast 12', 'slow 26'],
    },
  ],
  [
    'the 200-day moving average',
    {
      family: 'ma_crossover',
      ranges: { fast: [30, 70, 10], slow: [120, 280, 40] },
      assumed: [/fast ≈ 50 \(a quarter of the slow length/],
    },
  ],
  [
    '20-day SMA crosses the 100-day SMA',
    { family: 'ma_crossover', ranges: { fast: [12, 28, 4], slow: [60, 140, 20] } },
  ],
  ['follow the trend', { family: 'ma_crossover', ranges: { fast: D, slow: D }, understood: ['trend'] }],
  // EMA crossover
  ['20 EMA crosses 50 EMA', { family: 'ema_crossover', ranges: { fast: [12, 28, 4], slow: [30, 70, 10] } }],
  [
    'exponential moving average crossover 9 and 21',
    {
      family: 'ema_crossover',
      ranges: { fast: [5, 13, 2], slow: [13, 29, 4] },
      understood: ['exponential moving average'],
    },
  ],
  [
    'EMA crossover of exactly 5 and exactly 20 days',
    { family: 'ema_crossover', ranges: { fast: [5, 5, 1], slow: [20, 20, 1] } },
  ],
  [
    '10-day EMA crossing a 2000-day EMA',
    {
      family: 'ema_crossover',
      ranges: { fast: [6, 14, 2], slow: [300, 500, 100] },
      assumed: [/slow 2000 is outside \[1, 500\]/],
    },
  ],
  // MACD
  ['MACD(12,26,9)', { family: 'macd', ranges: { fast: [8, 16, 2], slow: [16, 36, 5], signal: [5, 13, 2] } }],
  ['MACD signal line cross', { family: 'macd', ranges: { fast: D, slow: D, signal: D } }],
  [
    'MACD 8/17/9 long and short',
    {
      family: 'macd',
      direction: 'long_short',
      ranges: { fast: [4, 12, 2], slow: [11, 23, 3], signal: [5, 13, 2] },
    },
  ],
  [
    'MACD with fast 8 slow 21 signal 5',
    {
      family: 'macd',
      ranges: { fast: [4, 12, 2], slow: [13, 29, 4], signal: [3, 7, 1] },
      understood: ['fast 8', 'slow 21', 'signal 5'],
    },
  ],
  // Bollinger
  [
    'Bollinger bands 20 days 2 standard deviations',
    {
      family: 'bollinger',
      ranges: { length: [12, 28, 4], width: [1, 3, 0.5] },
      understood: ['2 standard deviations', '20 days'],
    },
  ],
  ['buy at the lower Bollinger band', { family: 'bollinger', ranges: { length: D, width: D } }],
  [
    'Bollinger band reversal with width 2.5 and 10-day length',
    { family: 'bollinger', ranges: { length: [6, 14, 2], width: [1.5, 3.5, 0.5] } },
  ],
  ['mean reversion with Bollinger bands', { family: 'bollinger', understood: ['Bollinger'] }],
  // Donchian / breakout
  [
    '55-day breakout, exit on a 20-day low',
    { family: 'breakout', ranges: { lookback: [33, 77, 11], exitLookback: [12, 28, 4] } },
  ],
  [
    'Donchian channel breakout',
    { family: 'breakout', ranges: { lookback: D, exitLookback: D }, understood: ['Donchian'] },
  ],
  ['buy 20-day highs', { family: 'breakout', ranges: { lookback: [12, 28, 4], exitLookback: D } }],
  [
    'breakout above the 55-day high (Donchian)',
    { family: 'breakout', ranges: { lookback: [33, 77, 11], exitLookback: D } },
  ],
  [
    'turtle breakout with a 10% take profit',
    { family: 'breakout', risk: { takeProfitPct: 10 }, understood: ['10% take profit', 'turtle'] },
  ],
  // Momentum
  [
    '12-month time-series momentum',
    {
      family: 'momentum',
      direction: 'long_short',
      ranges: { lookback: [152, 352, 50] },
      understood: ['12-month'],
    },
  ],
  [
    'momentum over 90 days, long only',
    {
      family: 'momentum',
      direction: 'long_only',
      ranges: { lookback: [54, 126, 18] },
      understood: ['long only', '90 days'],
    },
  ],
  ['rate of change 20 bars', { family: 'momentum', ranges: { lookback: [12, 28, 4] } }],
  ['trend-following momentum over 3 months', { family: 'momentum', ranges: { lookback: [37, 89, 13] } }],
  // z-score mean reversion
  [
    'z-score above 2 over 30 days',
    { family: 'mean_reversion', ranges: { lookback: [18, 42, 6], entryZ: [1, 3, 0.5] } },
  ],
  [
    'mean reversion: buy when the z-score is below -1.5',
    { family: 'mean_reversion', ranges: { lookback: D, entryZ: [0.5, 2.5, 0.5] } },
  ],
  [
    'revert to the mean over 20 days',
    { family: 'mean_reversion', ranges: { lookback: [12, 28, 4], entryZ: D } },
  ],
  [
    'mean reversion on z-scores',
    { family: 'mean_reversion', direction: 'long_short', ranges: { lookback: D, entryZ: D } },
  ],
  // Volatility filters and exits
  [
    'momentum only when volatility is below 20%',
    {
      family: 'momentum',
      volatilityFilter: { lookback: 20, maxAnnualVolPct: 20 },
      assumed: [/volatility measured over 20 bars/],
    },
  ],
  [
    'SMA crossover with a 20-day volatility filter under 25%',
    {
      family: 'ma_crossover',
      volatilityFilter: { lookback: 20, maxAnnualVolPct: 25 },
      understood: ['20-day volatility filter under 25%'],
    },
  ],
  [
    'trend following with a 5% stop loss and 10% take profit',
    { family: 'ma_crossover', risk: { stopLossPct: 5, takeProfitPct: 10 } },
  ],
  [
    'EMA crossover with a stop loss',
    {
      family: 'ema_crossover',
      risk: { stopLossPct: 5 },
      assumed: [/stop-loss at 5 % \(the idea names no percentage\)/],
    },
  ],
  // Two families in one idea
  [
    'RSI below 30 with MACD confirmation',
    {
      family: 'rsi',
      ranges: { lower: [20, 40, 5] },
      assumed: [/also names macd; a plan has one family, so rsi/],
    },
  ],
  [
    'Bollinger bands and a 50/200 moving average filter',
    {
      family: 'bollinger',
      ranges: { length: D, width: D },
      assumed: [/also names ma_crossover/, /ignored "50": it belongs to the ma_crossover part/],
    },
  ],
  [
    'MACD crossover with a 200-day SMA',
    { family: 'macd', ranges: { fast: D, slow: D, signal: D }, assumed: [/ignored "200-day"/] },
  ],
  // Nonsense
  [
    'make me rich',
    { family: 'ma_crossover', familySource: 'default', ranges: { fast: D, slow: D }, assumed: [NO_FAMILY] },
  ],
  ['asdf qwerty', { family: 'ma_crossover', familySource: 'default', assumed: [NO_FAMILY] }],
  ['buy low sell high', { family: 'ma_crossover', familySource: 'default', assumed: [NO_FAMILY] }],
  [
    'buy 500 shares of the thing on tuesdays',
    { family: 'ma_crossover', familySource: 'default', assumed: [NO_FAMILY, /ignored "500"/] },
  ],
];

describe('built-in planner: the idea table', () => {
  it('has at least 40 ideas and covers every family', () => {
    expect(TABLE.length).toBeGreaterThanOrEqual(40);
    expect(new Set(TABLE.map(([, row]) => row.family))).toEqual(new Set(Object.keys(FAMILY_SPECS)));
  });

  it.each(TABLE)('%s', (idea, row) => {
    const plan = planFromIdea(idea, 'DEMO');
    expect(strategyPlanSchema.safeParse(plan).success).toBe(true);
    expect(plan.family).toBe(row.family);
    expect(plan.provider).toBe('builtin');
    expect(plan.familySource).toBe(row.familySource ?? 'idea');
    const spec = FAMILY_SPECS[row.family];
    for (const [name, range] of Object.entries(row.ranges ?? {})) {
      const want = range === D ? spec.defaultRanges[name] : { min: range[0], max: range[1], step: range[2] };
      expect([name, plan.parameterRanges[name]]).toEqual([name, want]);
    }
    expect(plan.direction).toBe(row.direction ?? plan.direction);
    if (!row.direction) expect(plan.direction).toBe(spec.defaultDirection);
    expect(plan.risk).toEqual(row.risk);
    expect(plan.volatilityFilter).toEqual(row.volatilityFilter);
    const phrases = plan.understood!.map((u) => u.phrase.toLowerCase());
    for (const phrase of row.understood ?? []) expect(phrases).toContain(phrase.toLowerCase());
    for (const pattern of row.assumed ?? []) expect(plan.assumed!.some((a) => pattern.test(a))).toBe(true);
    // Every understood phrase is words of the idea, so a reader can find it.
    for (const u of plan.understood!) expect(idea.toLowerCase()).toContain(u.phrase.toLowerCase());
  });

  it('is deterministic', () => {
    expect(planFromIdea('momentum 20 days', 'X')).toEqual(planFromIdea('momentum 20 days', 'X'));
  });
});

describe('strict planning', () => {
  it('refuses an idea that names no family, non-retryably, saying what to do', () => {
    const refuse = () => planFromIdea('make me rich', 'DEMO', { strict: true });
    expect(refuse).toThrow(UnmappableIdeaError);
    expect(refuse).toThrow(/names no strategy family sagalane knows.*Name a family from docs\/AGENTS.md/);
    try {
      refuse();
    } catch (err) {
      expect((err as UnmappableIdeaError).nonRetryable).toBe(true);
      expect((err as UnmappableIdeaError).type).toBe('UnmappableIdea');
    }
  });

  it('refuses numbers outside their limits instead of clamping them', () => {
    expect(() => planFromIdea('RSI with period 500', 'DEMO', { strict: true })).toThrow(
      /period 500 is outside \[2, 100\]/,
    );
  });

  it('plans a mappable idea as without strict', () => {
    expect(planFromIdea('buy when RSI below 30', 'DEMO', { strict: true })).toEqual(
      planFromIdea('buy when RSI below 30', 'DEMO'),
    );
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
