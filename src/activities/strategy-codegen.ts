/**
 * Writes JavaScript source for a plan's strategy family. Every generated strategy implements one interface:
 *
 *   function positions(bars, params) -> number[]
 *
 * `bars` are `{ date, open, high, low, close, volume }` in date order, `params` the family's parameters. The result
 * has one entry per bar: 1 long, -1 short, 0 flat. The position at bar i may use bars 0..i only and is held from
 * bar i's close to bar i+1's close (so there is no look-ahead). The code is plain ES2022 with no imports: it runs
 * in the sandbox (./strategy-sandbox.ts).
 */
import type { StrategyFamily, StrategyPlan } from './contracts';
import type { Bar } from './market-data';
import { FAMILY_SPECS } from './strategy-families';

const BODIES: Record<StrategyFamily, string> = {
  ma_crossover: `
  const fast = params.fast;
  const slow = params.slow;
  const out = new Array(bars.length).fill(0);
  let sumFast = 0;
  let sumSlow = 0;
  for (let i = 0; i < bars.length; i++) {
    sumFast += bars[i].close;
    sumSlow += bars[i].close;
    if (i >= fast) sumFast -= bars[i - fast].close;
    if (i >= slow) sumSlow -= bars[i - slow].close;
    // Long while the fast average is above the slow one; flat during the slow average's warm-up.
    if (i >= slow - 1) out[i] = sumFast / fast > sumSlow / slow ? 1 : 0;
  }
  return out;`,
  momentum: `
  const lookback = params.lookback;
  const out = new Array(bars.length).fill(0);
  for (let i = lookback; i < bars.length; i++) {
    const change = bars[i].close - bars[i - lookback].close;
    out[i] = change > 0 ? 1 : change < 0 ? -1 : 0;
  }
  return out;`,
  mean_reversion: `
  const lookback = params.lookback;
  const entryZ = params.entryZ;
  const out = new Array(bars.length).fill(0);
  let position = 0;
  for (let i = lookback - 1; i < bars.length; i++) {
    let sum = 0;
    for (let j = i - lookback + 1; j <= i; j++) sum += bars[j].close;
    const mean = sum / lookback;
    let squares = 0;
    for (let j = i - lookback + 1; j <= i; j++) squares += (bars[j].close - mean) ** 2;
    const sd = Math.sqrt(squares / lookback);
    const z = sd > 0 ? (bars[i].close - mean) / sd : 0;
    if (position === 0 && z <= -entryZ) position = 1;
    else if (position === 0 && z >= entryZ) position = -1;
    else if ((position === 1 && z >= 0) || (position === -1 && z <= 0)) position = 0;
    out[i] = position;
  }
  return out;`,
  breakout: `
  const lookback = params.lookback;
  const exitLookback = params.exitLookback;
  const out = new Array(bars.length).fill(0);
  let position = 0;
  for (let i = Math.max(lookback, exitLookback); i < bars.length; i++) {
    let highest = -Infinity;
    for (let j = i - lookback; j < i; j++) highest = Math.max(highest, bars[j].high);
    let lowest = Infinity;
    for (let j = i - exitLookback; j < i; j++) lowest = Math.min(lowest, bars[j].low);
    if (position === 0 && bars[i].close > highest) position = 1;
    else if (position === 1 && bars[i].close < lowest) position = 0;
    out[i] = position;
  }
  return out;`,
};

/** The interface every generated strategy implements, for docs and error messages. */
export const STRATEGY_INTERFACE = 'function positions(bars, params) -> number[] (one of -1, 0, 1 per bar)';

/** Source code of the plan's strategy. Only the family and its fixed parameter names reach the code. */
export function generateStrategySource(plan: Pick<StrategyPlan, 'family'>): string {
  const spec = FAMILY_SPECS[plan.family];
  const paramDocs = Object.entries(spec.parameters)
    .map(([name, p]) => ` *   params.${name}: ${p.description}`)
    .join('\n');
  return `'use strict';
/**
 * sagalane strategy: ${spec.family}
 * ${spec.description.replace(/\*\//g, '* /')}
 *
 * ${STRATEGY_INTERFACE}
${paramDocs}
 */
function positions(bars, params) {${BODIES[spec.family]}
}
`;
}

/** A deterministic series for smoke runs: a trend, a cycle and a wobble, so every family changes position. */
export function smokeSampleBars(count: number): Bar[] {
  const start = Date.UTC(2020, 0, 1);
  return Array.from({ length: count }, (_, i) => {
    const close = 100 + 0.05 * i + 8 * Math.sin(i / 9) + 1.5 * Math.sin(i * 1.7);
    const open = close - 0.3 * Math.sin(i * 2.3);
    return {
      date: new Date(start + i * 86_400_000).toISOString().slice(0, 10),
      open,
      high: Math.max(open, close) + 0.5,
      low: Math.min(open, close) - 0.5,
      close,
      volume: 1000 + i,
    };
  });
}
