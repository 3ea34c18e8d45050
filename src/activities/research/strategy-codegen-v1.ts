/**
 * The strategy code generator before the generated code kept running sums and sliding windows
 * (src/activities/strategy-codegen.ts at 29aa574), kept word for word. Its code gives the same positions as today's
 * (test/agents/strategy-equivalence.test.ts holds the two to that) but is slower in the sandbox. It is here so a
 * codegen artifact written before the change (a saga that ran codegen before an upgrade, or on a worker not yet
 * upgraded) can still be checked against its plan when its signature cannot be (`storedStrategyCode`): nothing
 * generates new code with it.
 */
import type { StrategyFamily } from './contracts';
import { STRATEGY_INTERFACE, type CodegenPlan } from './strategy-codegen';
import { FAMILY_SPECS } from './strategy-families';

// Shared helpers a body may call: simple and exponential moving averages of closes (NaN before warm-up).
const HELPERS = `
function sma(values, n) {
  const out = new Array(values.length).fill(NaN);
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    sum += values[i];
    if (i >= n) sum -= values[i - n];
    if (i >= n - 1) out[i] = sum / n;
  }
  return out;
}
function ema(values, n) {
  // Seeded with the first value; alpha 2/(n+1), the usual convention.
  const out = new Array(values.length).fill(NaN);
  const alpha = 2 / (n + 1);
  for (let i = 0; i < values.length; i++) out[i] = i === 0 ? values[0] : alpha * values[i] + (1 - alpha) * out[i - 1];
  return out;
}`;

const BODIES: Record<StrategyFamily, string> = {
  ma_crossover: `
  const closes = bars.map((b) => b.close);
  const fast = sma(closes, params.fast);
  const slow = sma(closes, params.slow);
  const out = new Array(bars.length).fill(0);
  // Long above, short below; flat during the slow average's warm-up.
  for (let i = params.slow - 1; i < bars.length; i++) out[i] = fast[i] > slow[i] ? 1 : fast[i] < slow[i] ? -1 : 0;
  return out;`,
  ema_crossover: `
  const closes = bars.map((b) => b.close);
  const fast = ema(closes, params.fast);
  const slow = ema(closes, params.slow);
  const out = new Array(bars.length).fill(0);
  for (let i = params.slow - 1; i < bars.length; i++) out[i] = fast[i] > slow[i] ? 1 : fast[i] < slow[i] ? -1 : 0;
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
  // Long and short sides are separate channels: long above the entry channel's high until below the exit
  // channel's low; short below the entry channel's low until above the exit channel's high.
  let long = false;
  let short = false;
  const highest = (from, to) => { let h = -Infinity; for (let j = from; j < to; j++) h = Math.max(h, bars[j].high); return h; };
  const lowest = (from, to) => { let l = Infinity; for (let j = from; j < to; j++) l = Math.min(l, bars[j].low); return l; };
  for (let i = Math.max(lookback, exitLookback); i < bars.length; i++) {
    const close = bars[i].close;
    if (!long && close > highest(i - lookback, i)) long = true;
    else if (long && close < lowest(i - exitLookback, i)) long = false;
    if (!short && close < lowest(i - lookback, i)) short = true;
    else if (short && close > highest(i - exitLookback, i)) short = false;
    out[i] = long ? 1 : short ? -1 : 0;
  }
  return out;`,
  rsi: `
  // Wilder's RSI: the first average gain/loss is the simple mean of \`period\` changes, then smoothed by 1/period.
  const period = params.period;
  const out = new Array(bars.length).fill(0);
  let avgGain = 0;
  let avgLoss = 0;
  let position = 0;
  for (let i = 1; i < bars.length; i++) {
    const change = bars[i].close - bars[i - 1].close;
    const gain = Math.max(change, 0);
    const loss = Math.max(-change, 0);
    if (i <= period) {
      avgGain += gain / period;
      avgLoss += loss / period;
      if (i < period) continue;
    } else {
      avgGain = (avgGain * (period - 1) + gain) / period;
      avgLoss = (avgLoss * (period - 1) + loss) / period;
    }
    const rsi = avgLoss === 0 ? (avgGain === 0 ? 50 : 100) : 100 - 100 / (1 + avgGain / avgLoss);
    if (position !== 1 && rsi <= params.lower) position = 1;
    else if (position !== -1 && rsi >= params.upper) position = -1;
    out[i] = position;
  }
  return out;`,
  bollinger: `
  const n = params.length;
  const width = params.width;
  const out = new Array(bars.length).fill(0);
  const band = (i) => {
    let sum = 0;
    for (let j = i - n + 1; j <= i; j++) sum += bars[j].close;
    const mean = sum / n;
    let squares = 0;
    for (let j = i - n + 1; j <= i; j++) squares += (bars[j].close - mean) ** 2;
    const sd = Math.sqrt(squares / n);
    return { mean, lower: mean - width * sd, upper: mean + width * sd };
  };
  let position = 0;
  let previous = null;
  for (let i = n - 1; i < bars.length; i++) {
    const b = band(i);
    const close = bars[i].close;
    if (previous) {
      const prevClose = bars[i - 1].close;
      if (position === 0 && prevClose < previous.lower && close >= b.lower) position = 1;
      else if (position === 0 && prevClose > previous.upper && close <= b.upper) position = -1;
      else if ((position === 1 && close >= b.mean) || (position === -1 && close <= b.mean)) position = 0;
    }
    previous = b;
    out[i] = position;
  }
  return out;`,
  macd: `
  const closes = bars.map((b) => b.close);
  const fast = ema(closes, params.fast);
  const slow = ema(closes, params.slow);
  const line = closes.map((_, i) => fast[i] - slow[i]);
  const signalLine = ema(line, params.signal);
  const out = new Array(bars.length).fill(0);
  for (let i = params.slow + params.signal - 1; i < bars.length; i++) {
    out[i] = line[i] > signalLine[i] ? 1 : line[i] < signalLine[i] ? -1 : 0;
  }
  return out;`,
};

const WRAPPER = `
function positions(bars, params) {
  const raw = signal(bars, params);
  const vol = VOLATILITY_FILTER ? annualisedVolatility(bars, VOLATILITY_FILTER.lookback) : null;
  const out = new Array(bars.length).fill(0);
  let position = 0;
  let entry = 0;
  // After a stop-loss or take-profit exit, stay out until the family's signal changes.
  let blocked = null;
  for (let i = 0; i < bars.length; i++) {
    let want = raw[i];
    if (DIRECTION === 'long_only' && want < 0) want = 0;
    if (vol && !(vol[i] <= VOLATILITY_FILTER.maxAnnualVolPct / 100)) want = 0;
    if (blocked !== null) {
      if (want === blocked) want = 0;
      else blocked = null;
    }
    if (want !== position) {
      position = want;
      entry = bars[i].close;
    } else if (position !== 0) {
      const move = position * (bars[i].close / entry - 1);
      if ((STOP_LOSS !== null && move <= -STOP_LOSS) || (TAKE_PROFIT !== null && move >= TAKE_PROFIT)) {
        blocked = position;
        position = 0;
      }
    }
    out[i] = position;
  }
  return out;
}
function annualisedVolatility(bars, n) {
  // Sample standard deviation of the last n log returns, times sqrt(252); NaN before n returns exist.
  const out = new Array(bars.length).fill(NaN);
  for (let i = n; i < bars.length; i++) {
    let sum = 0;
    const r = [];
    for (let j = i - n + 1; j <= i; j++) { const x = Math.log(bars[j].close / bars[j - 1].close); r.push(x); sum += x; }
    const mean = sum / n;
    let squares = 0;
    for (const x of r) squares += (x - mean) ** 2;
    out[i] = Math.sqrt(squares / Math.max(1, n - 1)) * Math.sqrt(252);
  }
  return out;
}`;

/** What `generateStrategySource` wrote for the plan before its code kept running sums (the text, to the byte). */
export function generateStrategySourceV1(plan: CodegenPlan): string {
  const spec = FAMILY_SPECS[plan.family];
  const direction = plan.direction ?? spec.defaultDirection;
  const paramDocs = Object.entries(spec.parameters)
    .map(([name, p]) => ` *   params.${name}: ${p.description}`)
    .join('\n');
  const fraction = (pct: number | undefined) => (pct === undefined ? 'null' : String(pct / 100));
  const filter = plan.volatilityFilter
    ? JSON.stringify({
        lookback: plan.volatilityFilter.lookback,
        maxAnnualVolPct: plan.volatilityFilter.maxAnnualVolPct,
      })
    : 'null';
  return `'use strict';
/**
 * sagalane strategy: ${spec.family} (${direction})
 * ${spec.description.replace(/\*\//g, '* /')}
 *
 * ${STRATEGY_INTERFACE}
${paramDocs}
 */
const DIRECTION = ${JSON.stringify(direction)};
const STOP_LOSS = ${fraction(plan.risk?.stopLossPct)};
const TAKE_PROFIT = ${fraction(plan.risk?.takeProfitPct)};
const VOLATILITY_FILTER = ${filter};
${HELPERS}
function signal(bars, params) {${BODIES[spec.family]}
}
${WRAPPER}
`;
}
