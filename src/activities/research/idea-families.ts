/**
 * Which strategy family an idea names: keywords in three tiers (an indicator's name, a style, a weak hint), most
 * specific first. The plan takes the first of the best tier (`chooseFamily`); the others that disagree with it are
 * reported, and the numbers joined to their words set aside (`numbersOfOtherFamily`).
 */
import type { StrategyFamily } from './contracts';
import type { NumberToken } from './idea-numbers';

/** A family keyword: tier 1 names an indicator, tier 2 a style, tier 3 is a weak hint ("trend"). */
interface FamilyKeyword {
  family: StrategyFamily;
  tier: 1 | 2 | 3;
  pattern: RegExp;
  /** Families this (style) keyword agrees with, so naming both is not a conflict. */
  agreesWith?: StrategyFamily[];
}

const MEAN_REVERTING: StrategyFamily[] = ['rsi', 'bollinger', 'mean_reversion'];
const TREND: StrategyFamily[] = ['ma_crossover', 'ema_crossover', 'macd', 'momentum', 'breakout'];

// Most specific first: a span one keyword matched is not matched again by a later one ("exponential moving average"
// is not also a "moving average").
const FAMILY_KEYWORDS: FamilyKeyword[] = [
  { family: 'macd', tier: 1, pattern: /\bmacd\b|moving average convergence/g },
  { family: 'bollinger', tier: 1, pattern: /bollinger|\bbb\b/g },
  { family: 'rsi', tier: 1, pattern: /\brsi\b|relative strength index/g },
  { family: 'mean_reversion', tier: 1, pattern: /z[\s-]?scores?\b|\bz\s*(?=[<>]|above|below)/g },
  {
    family: 'breakout',
    tier: 1,
    pattern:
      /donchian|\d+[\s-]*(?:day|week|month|bar)s?[\s-]+(?:high|highs)\b|(?:fortnight|week|month|quarter|year)(?:'s|’s|ly)?[\s-]+highs?\b|turtle/g,
  },
  {
    family: 'ema_crossover',
    tier: 1,
    pattern: /\bemas?\b|exponential(?:ly weighted)? moving averages?/g,
  },
  {
    family: 'ma_crossover',
    tier: 1,
    pattern: /\bsmas?\b|simple moving averages?|golden cross|death cross|moving[\s-]averages?[\s-]*cross/g,
  },
  {
    family: 'momentum',
    tier: 1,
    pattern: /time[\s-]series momentum|rate of change|\broc\b|trailing return|\d+[\s-]*months? returns?/g,
  },
  {
    family: 'mean_reversion',
    tier: 2,
    pattern:
      /mean[\s-]*rever\w*|\brevert\w*|reversion|fade\b|standard deviations? (?:from|away from|below|above) the mean/g,
    agreesWith: MEAN_REVERTING,
  },
  {
    // "the lower band" without a name: Bollinger's are the bands sagalane knows.
    family: 'bollinger',
    tier: 2,
    pattern: /\b(?:lower|upper|outer) bands?\b/g,
    agreesWith: MEAN_REVERTING,
  },
  {
    family: 'rsi',
    tier: 2,
    pattern: /oversold|overbought/g,
    agreesWith: MEAN_REVERTING,
  },
  {
    family: 'breakout',
    tier: 2,
    pattern: /break[\s-]?outs?|breaks? (?:out|above)|channel|new highs?|range high/g,
    agreesWith: TREND,
  },
  {
    family: 'momentum',
    tier: 2,
    pattern: /momentum|relative strength(?! index)/g,
    agreesWith: TREND,
  },
  {
    family: 'ma_crossover',
    tier: 3,
    pattern: /moving[\s-]averages?|\bma\b/g,
    agreesWith: TREND,
  },
  {
    // Every family's signals cross something and follow or fade a trend ("RSI crosses back above 30"): alone these
    // words hint at a crossover, beside another family they are just words.
    family: 'ma_crossover',
    tier: 3,
    pattern: /cross[\s-]?overs?|crosses|trend/g,
    agreesWith: [...TREND, ...MEAN_REVERTING],
  },
];

export interface Found {
  family: StrategyFamily;
  tier: number;
  index: number;
  phrase: string;
  agreesWith?: StrategyFamily[];
}

/**
 * Every family keyword in `text` (lower case), best tier first, then in order. A phrase that starts with a number
 * ("20-day highs") is cut to the words after it: the number is a parameter's, reported on its own.
 */
export function findFamilies(text: string, numbers: NumberToken[]): Found[] {
  const taken: [number, number][] = [];
  const found: Found[] = [];
  for (const k of FAMILY_KEYWORDS) {
    for (const m of text.matchAll(k.pattern)) {
      const [start, end] = [m.index, m.index + m[0].length];
      if (taken.some(([s, e]) => start < e && end > s)) continue;
      taken.push([start, end]);
      const from = Math.max(
        start,
        ...numbers.filter((t) => t.index < end && t.end > start).map((t) => t.end),
      );
      const cut = from + (/^[\s-]*/.exec(text.slice(from, end))?.[0].length ?? 0);
      found.push({
        family: k.family,
        tier: k.tier,
        index: cut,
        phrase: text.slice(cut, end),
        agreesWith: k.agreesWith,
      });
    }
  }
  return found.sort((a, b) => a.tier - b.tier || a.index - b.index);
}

/**
 * The family a plan uses (the first of the best tier) and the others the idea names that disagree with it: a style
 * word that agrees with the chosen family ("mean reversion" beside "Bollinger") is not another family.
 */
export function chooseFamily(found: Found[]): { chosen?: Found; others: Found[] } {
  const chosen = found[0];
  if (!chosen) return { others: [] };
  const others = found.filter(
    (f) =>
      f.family !== chosen.family &&
      !(f.agreesWith ?? []).includes(chosen.family) &&
      (f.tier === 1 || !(chosen.agreesWith ?? []).includes(f.family)),
  );
  return { chosen, others };
}

/**
 * Numbers joined to another family's words only by spaces, slashes or other numbers ("a 50/200 moving average
 * filter", "a 200-day SMA"): they are that family's, which the plan does not use.
 */
export function numbersOfOtherFamily(text: string, other: Found, numbers: NumberToken[]): NumberToken[] {
  const otherEnd = other.index + other.phrase.length;
  const joined = (a: number, b: number) => b >= a && /^[\s/,&\d.-]{0,8}$/.test(text.slice(a, b));
  return numbers.filter((t) => joined(t.end, other.index) || joined(otherEnd, t.index));
}
