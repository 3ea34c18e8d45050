/**
 * The generated strategies give exactly the positions of the code generated before they kept running sums and
 * sliding windows (src/activities/research/strategy-codegen-v1.ts): on the shipped data sets over each family's
 * default grid, and on random series built to be hard for running sums (flat stretches of decimal prices, whose
 * window deviation two-pass summing leaves at a few ulps or 0; a small wobble on a high level; integer prices, whose
 * closes fall exactly on the mean; jumps; and, bars no CSV could hold, NaN and infinite highs and lows). Both run in
 * the QuickJS sandbox, as in a saga.
 */
import path from 'node:path';
import fc from 'fast-check';
import type { StrategyFamily } from '../../src/activities/research/contracts';
import { loadMarketData, type Bar } from '../../src/activities/research/market-data';
import { generateStrategySource, type CodegenPlan } from '../../src/activities/research/strategy-codegen';
import {
  FAMILY_SPECS,
  parameterGrid,
  STRATEGY_FAMILIES,
} from '../../src/activities/research/strategy-families';
import { loadStrategy } from '../../src/activities/research/strategy-sandbox';
import { generateStrategySourceV1 as generateBefore } from '../../src/activities/research/strategy-codegen-v1';

const DATA_DIR = path.resolve(__dirname, '..', '..', 'data');

async function positions(source: string, bars: Bar[], params: Record<string, number>): Promise<number[]> {
  return (await loadStrategy(source, bars, { timeoutMs: 10_000 })).positions(params);
}

/** The positions of today's code and of the code before, for one plan, series and parameter set. */
async function bothWays(plan: CodegenPlan, bars: Bar[], params: Record<string, number>) {
  return {
    now: await positions(generateStrategySource(plan), bars, params),
    before: await positions(generateBefore(plan), bars, params),
  };
}

const PLAN_VARIANTS: Omit<CodegenPlan, 'family'>[] = [
  {},
  { direction: 'long_short' },
  { direction: 'long_short', risk: { stopLossPct: 3, takeProfitPct: 6 } },
  { direction: 'long_only', volatilityFilter: { lookback: 20, maxAnnualVolPct: 25 } },
];

describe('generated strategies keep the positions of the code before', () => {
  it.each(['DEMO', 'TREND', 'MEANREV'])(
    'on %s: every family, its default grid, each direction, exits and the volatility filter',
    async (set) => {
      const { bars } = await loadMarketData(path.join(DATA_DIR, `${set}.csv`));
      let compared = 0;
      for (const family of STRATEGY_FAMILIES) {
        const grid = parameterGrid(FAMILY_SPECS[family].defaultRanges);
        for (const variant of PLAN_VARIANTS) {
          const plan = { family, ...variant };
          const now = await loadStrategy(generateStrategySource(plan), bars);
          const before = await loadStrategy(generateBefore(plan), bars);
          for (const params of grid) {
            expect({ family, variant, params, positions: now.positions(params) }).toEqual({
              family,
              variant,
              params,
              positions: before.positions(params),
            });
            compared++;
          }
        }
      }
      expect(compared).toBe(4 * 137);
    },
    120_000,
  );

  it('sums a window again only near a level: under 1% of the windows of the shipped series', async () => {
    // The generated code is plain JavaScript: run here with windowStats counted.
    for (const set of ['DEMO', 'TREND', 'MEANREV']) {
      const { bars } = await loadMarketData(path.join(DATA_DIR, `${set}.csv`));
      for (const family of ['mean_reversion', 'bollinger'] as const) {
        const source = generateStrategySource({ family }).replace(
          'function windowStats(values, i, n) {',
          'function windowStats(values, i, n) {\n  counter.exact++;',
        );
        const run = new Function('counter', 'bars', 'params', `${source}\nreturn positions(bars, params);`);
        for (const params of parameterGrid(FAMILY_SPECS[family].defaultRanges)) {
          const counter = { exact: 0 };
          run(counter, bars, params);
          const few = counter.exact < bars.length / 100;
          expect({ set, family, params, few, exact: counter.exact }).toEqual({
            set,
            family,
            params,
            few: true,
            exact: counter.exact,
          });
        }
      }
    }
  });

  /** Closes in segments: a decimal random walk, a flat run, a wobble on a high level, integers, a jump. */
  const closesArb = fc
    .array(
      fc.record({
        kind: fc.constantFrom('walk', 'flat', 'wobble', 'integers', 'jump'),
        length: fc.integer({ min: 1, max: 40 }),
        seed: fc.integer({ min: 1, max: 2 ** 30 }),
        decimals: fc.integer({ min: 0, max: 4 }),
      }),
      { minLength: 1, maxLength: 12 },
    )
    .map((segments) => {
      const closes: number[] = [];
      let level = 50;
      for (const { kind, length, seed, decimals } of segments) {
        let state = seed;
        const random = () => {
          state = (state * 1103515245 + 12345) % 2 ** 31;
          return state / 2 ** 31;
        };
        const round = (x: number) => Math.max(0.01, Number(x.toFixed(decimals)));
        for (let i = 0; i < length; i++) {
          if (kind === 'walk') level = round(level + 2 * (random() - 0.5));
          else if (kind === 'wobble') level = 1e6 + Number((1e-3 * (random() - 0.5)).toFixed(6));
          else if (kind === 'integers') level = Math.max(1, Math.round(level + 4 * (random() - 0.5)));
          else if (kind === 'jump' && i === 0) level = round(level * (0.2 + 5 * random()));
          closes.push(level);
        }
        if (kind === 'wobble') level = 50;
      }
      return closes;
    });

  /**
   * A family's parameters, in its spec's bounds, windows no longer than the series mostly is and often short, and
   * thresholds often 1 or 2: a close then often lies exactly on a level (with 2 bars the z-score is +-1 exactly).
   */
  const paramsArb = (family: StrategyFamily) =>
    fc.record(
      Object.fromEntries(
        Object.entries(FAMILY_SPECS[family].parameters).map(([name, p]) => [
          name,
          p.integer
            ? fc.oneof(
                fc.integer({ min: p.min, max: Math.min(p.max, Math.max(p.min, 5)) }),
                fc.integer({ min: p.min, max: Math.min(p.max, Math.max(p.min, 60)) }),
              )
            : fc.oneof(
                fc.constantFrom(1, 2),
                fc.integer({ min: Math.ceil(p.min * 10), max: p.max * 10 }).map((x) => x / 10),
              ),
        ]),
      ),
    );

  const caseArb = fc.constantFrom(...STRATEGY_FAMILIES).chain((family) =>
    fc.record({
      family: fc.constant(family),
      params: paramsArb(family),
      variant: fc.constantFrom(...PLAN_VARIANTS),
      closes: closesArb,
      oddBar: fc.option(
        fc.record({
          at: fc.nat(),
          field: fc.constantFrom('high' as const, 'low' as const, 'close' as const),
          value: fc.constantFrom(NaN, Infinity, -Infinity),
        }),
        { freq: 4 },
      ),
    }),
  );

  it('on random series built to be hard for running sums (fast-check)', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, async ({ family, params, variant, closes, oddBar }) => {
        const bars: Bar[] = closes.map((close, i) => ({
          date: new Date(Date.UTC(2020, 0, 1 + i)).toISOString().slice(0, 10),
          open: close,
          high: close * 1.01,
          low: close * 0.99,
          close,
          volume: 100,
        }));
        if (oddBar) bars[oddBar.at % bars.length]![oddBar.field] = oddBar.value;
        const { now, before } = await bothWays({ family, ...variant }, bars, params);
        expect(now).toEqual(before);
      }),
      { numRuns: 1500 },
    );
  }, 300_000);
});
