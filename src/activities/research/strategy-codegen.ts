/**
 * Writes JavaScript source for a plan's strategy. Every generated strategy implements one interface:
 *
 *   function positions(bars, params) -> number[]
 *
 * `bars` are `{ date, open, high, low, close, volume }` in date order, `params` the family's parameters. The result
 * has one entry per bar: 1 long, -1 short, 0 flat. The position at bar i may use bars 0..i only and is held from
 * bar i's close to bar i+1's close (so there is no look-ahead). The code is plain ES2022 with no imports: it runs
 * in the sandbox (./strategy-sandbox.ts).
 *
 * Each family's body is a `signal(bars, params, short)` giving its positions, a short written as `short` (-1, or 0
 * when the plan's direction is long-only); `positions` then applies the plan's volatility filter and stop-loss /
 * take-profit exits, whose values are written into the code as constants (they are fixed, not searched).
 *
 * The code gives exactly the positions of the code written before it kept running sums (./strategy-codegen-v1.ts;
 * test/agents/strategy-equivalence.test.ts), and does less work: the sandbox interprets it (docs/BENCHMARKS.md,
 * "Strategy sandbox").
 */
import type { StrategyFamily, StrategyPlan } from './contracts';
import type { Bar } from './market-data';
import { FAMILY_SPECS } from './strategy-families';

// Helpers a body may call, each written into the code of the families that use it (`FAMILY_HELPERS`). The
// bodies and helpers do the arithmetic of the textbook formulas in the same order (so the same numbers come out to
// the last bit), but in one pass over the bars where they can: the code runs interpreted in the sandbox, where every
// pass over 1,000 bars costs ~0.1 ms. Two work differently: `rollingStats` (running sums, exact near a level) and
// `priorExtreme` (a queue instead of a scan; a maximum has no rounding).
const HELPERS = {
  closesOf: `
function closesOf(bars) {
  const n = bars.length;
  const out = new Array(n);
  for (let i = 0; i < n; i++) out[i] = bars[i].close;
  return out;
}`,
  rollingStats: `
function windowStats(values, i, n) {
  // Mean and population standard deviation of the n values ending at i, each a sum in order over the window.
  let sum = 0;
  for (let j = i - n + 1; j <= i; j++) sum += values[j];
  const mean = sum / n;
  let squares = 0;
  for (let j = i - n + 1; j <= i; j++) squares += (values[j] - mean) ** 2;
  return { mean, sd: Math.sqrt(squares / n) };
}
function rollingStats(values, n, level) {
  // windowStats for every window ending at i >= n - 1, kept as running sums (one step a bar, not two passes over
  // the window; re-summed every RESUM bars). Running sums can differ from windowStats' in the last bits, so where
  // values[i] lies within a bound of that difference from the mean or from mean -/+ k deviations (the levels the
  // caller compares it with), or the window is nearly flat, the window is summed again with windowStats: values[i]
  // is then on the same side of each level as with windowStats' own figures. The bound is relTol times the largest
  // magnitude summed since the last re-sum (squared for the variance): over 50 times the worst rounding error of
  // either way of summing.
  const k = level < 0 ? -level : level;
  const len = values.length;
  const mean = new Array(len).fill(NaN);
  const sd = new Array(len).fill(NaN);
  const sqrt = Math.sqrt;
  const RESUM = 256;
  const relTol = Math.max(1e-9, 1024 * (n + RESUM + 2) * Number.EPSILON);
  let sum = 0;
  let sumSq = 0;
  let big = 0;
  for (let i = n - 1, sinceResum = RESUM; i < len; i++, sinceResum++) {
    const v = values[i];
    if (sinceResum === RESUM) {
      sinceResum = 0;
      sum = 0;
      sumSq = 0;
      big = 0;
      for (let j = i - n + 1; j <= i; j++) {
        const x = values[j];
        sum += x;
        sumSq += x * x;
        if (x > big) big = x;
        else if (-x > big) big = -x;
      }
    } else {
      const gone = values[i - n];
      sum += v - gone;
      sumSq += v * v - gone * gone;
      if (v > big) big = v;
      else if (-v > big) big = -v;
    }
    const m = sum / n;
    const s = sqrt(sumSq / n - m * m);
    const tolMean = relTol * big;
    const d = v < m ? m - v : v - m;
    const ks = k * s;
    // Bounds the difference of the mean (tolMean) and of k deviations (k tolVar / s, tolVar = tolMean big), and the
    // rounding of the comparisons themselves (a few ulps of big, under tolMean: s <= big). A flat window's tiny s
    // makes it huge; NaN (a negative variance, a NaN value or k) compares false: windowStats decides those too.
    const slack = tolMean * (2 + (2 * k * big) / s);
    if (d > slack && (d > ks ? d - ks : ks - d) > slack) {
      mean[i] = m;
      sd[i] = s;
      continue;
    }
    const exact = windowStats(values, i, n);
    mean[i] = exact.mean;
    sd[i] = exact.sd;
  }
  return { mean, sd };
}`,
  priorExtreme: `
function priorExtreme(values, n, sign) {
  // out[i] = Math.max (sign 1) or Math.min (sign -1) of values[i - n .. i - 1], what a scan of the window gives
  // (NaN if one of them is NaN), kept as a queue of candidates (indices, best first): one step a bar, not a scan.
  const len = values.length;
  const out = new Array(len).fill(NaN);
  const queue = new Array(len);
  const none = -sign * Infinity;
  let head = 0;
  let tail = 0;
  let lastNaN = -Infinity;
  for (let i = 0; i < len; i++) {
    if (i >= n) {
      // The window moves by one bar, so at most one candidate leaves it.
      if (head < tail && queue[head] < i - n) head++;
      out[i] = lastNaN >= i - n ? NaN : head < tail ? values[queue[head]] : none;
    }
    const v = values[i];
    if (v !== v) lastNaN = i;
    else if (sign > 0) {
      while (tail > head && values[queue[tail - 1]] <= v) tail--;
      queue[tail++] = i;
    } else {
      while (tail > head && values[queue[tail - 1]] >= v) tail--;
      queue[tail++] = i;
    }
  }
  return out;
}`,
};
type Helper = keyof typeof HELPERS;

const FAMILY_HELPERS: Record<StrategyFamily, Helper[]> = {
  ma_crossover: ['closesOf'],
  ema_crossover: ['closesOf'],
  momentum: ['closesOf'],
  mean_reversion: ['closesOf', 'rollingStats'],
  breakout: ['priorExtreme'],
  rsi: ['closesOf'],
  bollinger: ['closesOf', 'rollingStats'],
  macd: ['closesOf'],
};

const BODIES: Record<StrategyFamily, string> = {
  ma_crossover: `
  // Simple moving averages of closes as running sums (NaN before warm-up); long above, short below; flat during
  // the slow average's warm-up.
  const fast = params.fast;
  const slow = params.slow;
  const closes = closesOf(bars);
  const len = closes.length;
  const out = new Array(len).fill(0);
  let fastSum = 0;
  let slowSum = 0;
  for (let i = 0; i < len; i++) {
    const v = closes[i];
    fastSum += v;
    if (i >= fast) fastSum -= closes[i - fast];
    slowSum += v;
    if (i >= slow) slowSum -= closes[i - slow];
    if (i >= slow - 1) {
      const f = i >= fast - 1 ? fastSum / fast : NaN;
      const s = slowSum / slow;
      out[i] = f > s ? 1 : f < s ? short : 0;
    }
  }
  return out;`,
  ema_crossover: `
  // Exponential moving averages seeded with the first close; alpha 2/(n+1), the usual convention.
  const closes = closesOf(bars);
  const len = closes.length;
  const from = params.slow - 1;
  const fastAlpha = 2 / (params.fast + 1);
  const fastBeta = 1 - fastAlpha;
  const slowAlpha = 2 / (params.slow + 1);
  const slowBeta = 1 - slowAlpha;
  const out = new Array(len).fill(0);
  let fast = NaN;
  let slow = NaN;
  for (let i = 0; i < len; i++) {
    const v = closes[i];
    fast = i === 0 ? v : fastAlpha * v + fastBeta * fast;
    slow = i === 0 ? v : slowAlpha * v + slowBeta * slow;
    if (i >= from) out[i] = fast > slow ? 1 : fast < slow ? short : 0;
  }
  return out;`,
  momentum: `
  const lookback = params.lookback;
  const closes = closesOf(bars);
  const len = closes.length;
  const out = new Array(len).fill(0);
  for (let i = lookback; i < len; i++) {
    const change = closes[i] - closes[i - lookback];
    out[i] = change > 0 ? 1 : change < 0 ? short : 0;
  }
  return out;`,
  mean_reversion: `
  const lookback = params.lookback;
  const entryZ = params.entryZ;
  const closes = closesOf(bars);
  const len = closes.length;
  // Mean and deviation of the last \`lookback\` closes, exact wherever the z-score is near -entryZ, 0 or entryZ.
  const { mean, sd } = rollingStats(closes, lookback, entryZ);
  const out = new Array(len).fill(0);
  let position = 0;
  for (let i = lookback - 1; i < len; i++) {
    const z = sd[i] > 0 ? (closes[i] - mean[i]) / sd[i] : 0;
    if (position === 0 && z <= -entryZ) position = 1;
    else if (position === 0 && z >= entryZ) position = -1;
    else if ((position === 1 && z >= 0) || (position === -1 && z <= 0)) position = 0;
    out[i] = position === -1 ? short : position;
  }
  return out;`,
  breakout: `
  const lookback = params.lookback;
  const exitLookback = params.exitLookback;
  const len = bars.length;
  const closes = new Array(len);
  const highs = new Array(len);
  const lows = new Array(len);
  for (let i = 0; i < len; i++) {
    const bar = bars[i];
    closes[i] = bar.close;
    highs[i] = bar.high;
    lows[i] = bar.low;
  }
  // Highest high and lowest low of the bars before each bar, over the entry and the exit channel.
  const entryHigh = priorExtreme(highs, lookback, 1);
  const entryLow = priorExtreme(lows, lookback, -1);
  const exitHigh = exitLookback === lookback ? entryHigh : priorExtreme(highs, exitLookback, 1);
  const exitLow = exitLookback === lookback ? entryLow : priorExtreme(lows, exitLookback, -1);
  const out = new Array(len).fill(0);
  // Long and short sides are separate channels: long above the entry channel's high until below the exit
  // channel's low; short below the entry channel's low until above the exit channel's high.
  let long = false;
  let isShort = false;
  for (let i = Math.max(lookback, exitLookback); i < len; i++) {
    const close = closes[i];
    if (!long && close > entryHigh[i]) long = true;
    else if (long && close < exitLow[i]) long = false;
    if (!isShort && close < entryLow[i]) isShort = true;
    else if (isShort && close > exitHigh[i]) isShort = false;
    out[i] = long ? 1 : isShort ? short : 0;
  }
  return out;`,
  rsi: `
  // Wilder's RSI: the first average gain/loss is the simple mean of \`period\` changes, then smoothed by 1/period.
  const period = params.period;
  const lower = params.lower;
  const upper = params.upper;
  const closes = closesOf(bars);
  const len = closes.length;
  const out = new Array(len).fill(0);
  let avgGain = 0;
  let avgLoss = 0;
  let position = 0;
  for (let i = 1; i < len; i++) {
    const change = closes[i] - closes[i - 1];
    // Math.max(change, 0) and Math.max(-change, 0) (NaN stays NaN, -0 gives 0), without two calls a bar.
    const gain = change > 0 ? change : change === change ? 0 : change;
    const loss = change < 0 ? -change : change === change ? 0 : change;
    if (i <= period) {
      avgGain += gain / period;
      avgLoss += loss / period;
      if (i < period) continue;
    } else {
      avgGain = (avgGain * (period - 1) + gain) / period;
      avgLoss = (avgLoss * (period - 1) + loss) / period;
    }
    const rsi = avgLoss === 0 ? (avgGain === 0 ? 50 : 100) : 100 - 100 / (1 + avgGain / avgLoss);
    if (position !== 1 && rsi <= lower) position = 1;
    else if (position !== -1 && rsi >= upper) position = -1;
    out[i] = position === -1 ? short : position;
  }
  return out;`,
  bollinger: `
  const n = params.length;
  const width = params.width;
  const closes = closesOf(bars);
  const len = closes.length;
  // Middle band and deviation of the last n closes, exact wherever the close is near a band.
  const { mean, sd } = rollingStats(closes, n, width);
  const out = new Array(len).fill(0);
  let position = 0;
  let previousLower = NaN;
  let previousUpper = NaN;
  for (let i = n - 1; i < len; i++) {
    const middle = mean[i];
    const lower = middle - width * sd[i];
    const upper = middle + width * sd[i];
    const close = closes[i];
    if (i > n - 1) {
      const prevClose = closes[i - 1];
      if (position === 0 && prevClose < previousLower && close >= lower) position = 1;
      else if (position === 0 && prevClose > previousUpper && close <= upper) position = -1;
      else if ((position === 1 && close >= middle) || (position === -1 && close <= middle)) position = 0;
    }
    previousLower = lower;
    previousUpper = upper;
    out[i] = position === -1 ? short : position;
  }
  return out;`,
  macd: `
  // EMAs seeded with the first value (alpha 2/(n+1)); the line is EMA(fast) - EMA(slow), the signal its EMA.
  const closes = closesOf(bars);
  const len = closes.length;
  const from = params.slow + params.signal - 1;
  const fastAlpha = 2 / (params.fast + 1);
  const fastBeta = 1 - fastAlpha;
  const slowAlpha = 2 / (params.slow + 1);
  const slowBeta = 1 - slowAlpha;
  const signalAlpha = 2 / (params.signal + 1);
  const signalBeta = 1 - signalAlpha;
  const out = new Array(len).fill(0);
  let fast = NaN;
  let slow = NaN;
  let signalLine = NaN;
  for (let i = 0; i < len; i++) {
    const v = closes[i];
    fast = i === 0 ? v : fastAlpha * v + fastBeta * fast;
    slow = i === 0 ? v : slowAlpha * v + slowBeta * slow;
    const line = fast - slow;
    signalLine = i === 0 ? line : signalAlpha * line + signalBeta * signalLine;
    if (i >= from) out[i] = line > signalLine ? 1 : line < signalLine ? short : 0;
  }
  return out;`,
};

const WRAPPER = `
function positions(bars, params) {
  // The family's signal writes a short as \`short\`: flat when long-only.
  const raw = signal(bars, params, DIRECTION === 'long_only' ? 0 : -1);
  if (!VOLATILITY_FILTER && STOP_LOSS === null && TAKE_PROFIT === null) return raw;
  const len = bars.length;
  const vol = VOLATILITY_FILTER ? annualisedVolatility(bars, VOLATILITY_FILTER.lookback) : null;
  const maxVol = VOLATILITY_FILTER ? VOLATILITY_FILTER.maxAnnualVolPct / 100 : NaN;
  const stopLoss = STOP_LOSS;
  const takeProfit = TAKE_PROFIT;
  const exits = stopLoss !== null || takeProfit !== null;
  const out = new Array(len).fill(0);
  let position = 0;
  let entry = 0;
  // After a stop-loss or take-profit exit, stay out until the family's signal changes.
  let blocked = null;
  for (let i = 0; i < len; i++) {
    let want = raw[i];
    if (vol && !(vol[i] <= maxVol)) want = 0;
    if (blocked !== null) {
      if (want === blocked) want = 0;
      else blocked = null;
    }
    if (want !== position) {
      position = want;
      if (exits) entry = bars[i].close;
    } else if (position !== 0 && exits) {
      const move = position * (bars[i].close / entry - 1);
      if ((stopLoss !== null && move <= -stopLoss) || (takeProfit !== null && move >= takeProfit)) {
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
  const r = new Array(bars.length).fill(NaN);
  for (let j = 1; j < bars.length; j++) r[j] = Math.log(bars[j].close / bars[j - 1].close);
  for (let i = n; i < bars.length; i++) {
    let sum = 0;
    for (let j = i - n + 1; j <= i; j++) sum += r[j];
    const mean = sum / n;
    let squares = 0;
    for (let j = i - n + 1; j <= i; j++) squares += (r[j] - mean) ** 2;
    out[i] = Math.sqrt(squares / Math.max(1, n - 1)) * Math.sqrt(252);
  }
  return out;
}`;

/** The interface every generated strategy implements, for docs and error messages. */
export const STRATEGY_INTERFACE = 'function positions(bars, params) -> number[] (one of -1, 0, 1 per bar)';

export type CodegenPlan = Pick<StrategyPlan, 'family'> &
  Partial<Pick<StrategyPlan, 'direction' | 'risk' | 'volatilityFilter'>>;

/** Bars the plan's extras (the volatility filter) need before the first position, beyond the family's own. */
export function extraWarmupBars(plan: Pick<StrategyPlan, 'volatilityFilter'>): number {
  return plan.volatilityFilter ? plan.volatilityFilter.lookback + 1 : 0;
}

/** Source code of the plan's strategy. Only the family, its parameter names and validated numbers reach the code. */
export function generateStrategySource(plan: CodegenPlan): string {
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
${FAMILY_HELPERS[spec.family].map((h) => HELPERS[h]).join('\n')}
function signal(bars, params, short) {${BODIES[spec.family]}
}
${WRAPPER}
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
