/**
 * Every number of an idea ends up in exactly one place of the plan (issue 30): `understood` with the parameter it
 * set, or quoted in `assumed` with the reason it was not used as written. A property test over ideas assembled from
 * the pieces traders write (family words, digits, number words, periods, groups, role words, percentages) checks it
 * both from the reader's own record and from the plan's words alone (the check an LLM's plan must pass too); the
 * examples after it pin the reasons given for numbers the planner sets aside.
 */
import fc from 'fast-check';
import { accountingIssues, accountNumbers } from '../../src/activities/research/idea-accounting';
import { readNumbers } from '../../src/activities/research/idea-numbers';
import { readIdea } from '../../src/activities/research/idea-reader';
import { planFromIdea, planSchemaForIdea } from '../../src/activities/research/strategy-plan';

const FAMILY_WORDS = [
  'RSI',
  'MACD',
  'SMA crossover',
  'EMA cross',
  'Bollinger bands',
  'Donchian breakout',
  'time-series momentum',
  'z-score mean reversion',
  'golden cross',
  'trend following',
  'buy the dip',
];
const NUMBERS = [
  fc.integer({ min: 1, max: 400 }).map(String),
  fc.integer({ min: 1, max: 40 }).map((n) => `${n / 10}`),
  fc.constantFrom('three', 'twelve', 'a dozen', 'two and a half', 'fifty', 'twenty-one', 'nine'),
  fc.constantFrom(
    'a month',
    'six weeks',
    'a fortnight',
    'the quarter',
    'half a year',
    'a year',
    'two months',
  ),
  fc.integer({ min: 1, max: 250 }).map((n) => `${n}-day`),
  fc.integer({ min: 1, max: 60 }).map((n) => `${n} bars`),
];
const number = fc.oneof(...NUMBERS);
const group = fc
  .tuple(
    fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 2, maxLength: 4 }),
    fc.constantFrom('/', ', ', '-'),
  )
  .map(([ns, sep]) => (sep === ', ' ? `(${ns.join(sep)})` : ns.join(sep)));
const fragment = fc.oneof(
  fc.constantFrom(...FAMILY_WORDS),
  number,
  group,
  number.map((n) => `with a ${n} signal line`),
  number.map((n) => `exit on a ${n} low`),
  number.map((n) => `fast ${n}`),
  number.map((n) => `slow of ${n}`),
  number.map((n) => `below ${n}`),
  number.map((n) => `above ${n}`),
  number.map((n) => `${n} standard deviations`),
  number.map((n) => `band width ${n}`),
  number.map((n) => `lookback ${n}`),
  fc.integer({ min: 1, max: 120 }).map((n) => `a ${n}% stop`),
  fc.integer({ min: 1, max: 50 }).map((n) => `take profit at ${n}%`),
  fc.integer({ min: 5, max: 60 }).map((n) => `only when 20-day volatility is under ${n}%`),
  fc.constantFrom(
    'long only',
    'long/short',
    'exactly',
    'S&P 500',
    'on tuesdays',
    '10-day trailing stop',
    'a 3x ATR stop',
    'hold for 5 days',
  ),
);
const idea = fc
  .tuple(
    fc.array(fragment, { minLength: 1, maxLength: 7 }),
    fc.constantFrom(' ', ', ', ' with ', ' and ', '; '),
  )
  .map(([parts, joiner]) => parts.join(joiner));

describe('every number of an idea is in exactly one place', () => {
  it('property: the reader places each number once, and the plan never lists one in understood and assumed', () => {
    fc.assert(
      fc.property(idea, (text) => {
        // The reader's own record: one place per number the idea holds.
        const reading = readIdea(text);
        const tokens = readNumbers(text.toLowerCase());
        expect(reading.numbers.map((n) => n.index)).toEqual(tokens.map((t) => t.index));
        // The plan's words, read as a user (or the LLM check) reads them.
        const plan = planFromIdea(text, 'DEMO');
        for (const a of accountNumbers(text, { understood: plan.understood!, assumed: plan.assumed! })) {
          const where = [a.understoodBy.length > 0, a.assumedBy.length > 0];
          expect([text.slice(a.token.index, a.token.end), where]).not.toEqual([
            text.slice(a.token.index, a.token.end),
            [true, true],
          ]);
        }
        expect(
          accountingIssues(text, { ...plan, understood: plan.understood!, assumed: plan.assumed! }),
        ).toEqual([]);
        expect(planSchemaForIdea(text).safeParse(plan).error?.issues ?? []).toEqual([]);
      }),
      { numRuns: 600, seed: 30 },
    );
  });

  it('a parameter centred on a number of the idea lists that number as understood, not as assumed', () => {
    // The case the issue reported: "exit above 80" was "ignored" while the upper level was centred on 80.
    const plan = planFromIdea('Buy when RSI drops under 25, exit above 80', 'DEMO');
    expect(plan.parameterRanges.upper).toEqual({ min: 70, max: 90, step: 5 });
    expect(plan.understood).toContainEqual({ phrase: 'above 80', meaning: 'upper ≈ 80' });
    expect(plan.assumed!.join('\n')).not.toContain('80');
  });
});

describe('numbers the planner sets aside say why', () => {
  it.each([
    [
      'MACD 12/26/9/5',
      'ignored "5": macd reads a group of numbers as fast/slow/signal, and this one is beyond them',
    ],
    [
      'buy 500 shares of the thing on tuesdays',
      'ignored "500": the idea names no family, so no parameter to set',
    ],
    ['S&P 500 momentum over 3 months', 'ignored "500": part of the name of an index, not a parameter'],
    [
      'Bollinger bands and a 50/200 moving average filter',
      'ignored "50": it belongs to the ma_crossover part',
    ],
    [
      'momentum over 20 days with a 150% stop',
      'ignored "150%": a stop-loss must be more than 0 and at most 90 %',
    ],
    [
      'RSI with period 500',
      'not used as written "500": period 500 is outside [2, 100], so the search is centred on 100',
    ],
    ['Momentum over 20 days, 10% of capital', 'ignored "10%": a percentage that is not a stop-loss'],
    [
      // Order is a guess: a plain number far outside a parameter's limits is not taken for it.
      'buy when RSI below 30, sell above 70 (1765432101234)',
      'ignored "1765432101234": nothing names it period, and it is outside period\'s limits [2, 100]',
    ],
    [
      'RSI(14) below 30 above 70 and 50',
      'ignored "50": every parameter of rsi (period, lower, upper) is already set',
    ],
  ])('%s', (text, line) => {
    const plan = planFromIdea(text, 'DEMO');
    expect(plan.assumed!.some((a) => a.startsWith(line))).toBe(true);
    expect(accountingIssues(text, { ...plan, understood: plan.understood!, assumed: plan.assumed! })).toEqual(
      [],
    );
  });
});

describe('the account check itself (what an LLM plan is held to)', () => {
  const ranges = { lookback: { min: 12, max: 28, step: 4 } };
  const base = { family: 'momentum' as const, parameterRanges: ranges };

  it('finds a number both understood and ignored, a number in neither, and a meaning outside its range', () => {
    const idea = 'momentum over 20 days, not 30';
    expect(
      accountingIssues(idea, {
        ...base,
        understood: [{ phrase: '20 days', meaning: 'lookback ≈ 20' }],
        assumed: ['ignored "20": too short'],
      }),
    ).toEqual([
      '"20 days" is both understood ("20 days" → lookback ≈ 20) and in assumed (ignored "20": too short)',
      '"30" is neither in an understood phrase nor quoted in assumed with a reason',
    ]);
    expect(
      accountingIssues(idea, {
        ...base,
        understood: [{ phrase: 'over 20 days', meaning: 'lookback ≈ 40' }],
        assumed: ['ignored "30": a second lookback'],
      }),
    ).toEqual([
      'understood "over 20 days" → lookback ≈ 40, but the lookback range is 12..28 (it must contain the value)',
    ]);
  });

  it('reads a number written twice at its two places', () => {
    const idea = 'momentum over 20 days, 20 times a year';
    const plan = {
      ...base,
      understood: [{ phrase: '20 days', meaning: 'lookback ≈ 20' }],
      assumed: ['ignored "20": not a parameter', 'ignored "a year": not a parameter'],
    };
    expect(accountingIssues(idea, plan)).toEqual([]);
  });
});
