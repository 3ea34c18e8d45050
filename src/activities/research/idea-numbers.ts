/**
 * Numbers in an idea as people write them: digits ("20-day", "2.5%", "±2"), words ("twenty", "a dozen", "two and a
 * half", "half a year"), periods ("a fortnight", "the quarter high") and groups ("10/30", "MACD(12,26,9)",
 * "3-10-16"). Periods become bars of the data set's frequency here, so the rest of the reader only sees bars.
 * This module knows nothing of strategy families: which parameter a number sets is ./idea-roles' job.
 */

/** How often the data set has a bar. The sample data (data/*.csv) has one bar per business day. */
export type BarFrequency = 'daily' | 'weekly' | 'monthly';
export const DEFAULT_BAR_FREQUENCY: BarFrequency = 'daily';

/**
 * A data set's frequency from its dates (ISO, in order): the median gap between bars. The median, because weekends
 * and holidays stretch a few of a daily set's gaps to 3 or 4 days, and a missing week does the same to a weekly one.
 */
export function barFrequencyOf(dates: string[]): BarFrequency {
  const gaps = dates
    .slice(1)
    .map((d, i) => (Date.parse(d) - Date.parse(dates[i]!)) / 86_400_000)
    .sort((a, b) => a - b);
  const median = gaps[Math.floor(gaps.length / 2)];
  if (median === undefined || median <= 4) return 'daily';
  return median <= 10 ? 'weekly' : 'monthly';
}

type Period = 'bar' | 'day' | 'week' | 'fortnight' | 'month' | 'quarter' | 'year';

/** Bars per period word. Daily: 252 trading days a year (what annualising uses), 21 a month, 5 a week. */
export const BARS_PER_PERIOD: Record<BarFrequency, Record<Period, number>> = {
  daily: { bar: 1, day: 1, week: 5, fortnight: 10, month: 21, quarter: 63, year: 252 },
  weekly: { bar: 1, day: 1 / 5, week: 1, fortnight: 2, month: 52 / 12, quarter: 13, year: 52 },
  monthly: { bar: 1, day: 1 / 21, week: 12 / 52, fortnight: 12 / 26, month: 1, quarter: 3, year: 12 },
};

/** "week 5, fortnight 10, month 21, quarter 63, year 252": what plans and the LLM's prompt say of a frequency. */
export function barsPerPeriodText(frequency: BarFrequency): string {
  const rate = BARS_PER_PERIOD[frequency];
  return (['week', 'fortnight', 'month', 'quarter', 'year'] as const)
    .map((p) => `${p} ${Math.round(rate[p] * 100) / 100}`)
    .join(', ');
}

/** A number in the idea, with its unit and where it is. */
export interface NumberToken {
  /** In bars when `unit` is `bars`; otherwise as written. */
  value: number;
  /** The number as written, before a period became bars ("3 months": 3). */
  written: number;
  index: number;
  end: number;
  /** The number and its unit as written ("a fortnight", "20-day", "2.5%"). */
  text: string;
  unit: 'bars' | 'pct' | 'sd' | 'none';
  /** The period word a bar count came from ("month"; "bar" for bars, sessions, periods). */
  period?: Period;
  /** "exactly" came just before it. */
  exact: boolean;
  /** Member of a slash / comma / dash group ("10/30"): the group's first token index and this one's position. */
  group?: { id: number; position: number; size: number };
}

const UNITS = ['one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];
const TEENS = [
  'ten',
  'eleven',
  'twelve',
  'thirteen',
  'fourteen',
  'fifteen',
  'sixteen',
  'seventeen',
  'eighteen',
];
const TENS = ['twenty', 'thirty', 'forty', 'fifty', 'sixty', 'seventy', 'eighty', 'ninety'];
const WORD_VALUES = new Map<string, number>([
  ...UNITS.map((w, i) => [w, i + 1] as const),
  ...TEENS.map((w, i) => [w, i + 10] as const),
  ['nineteen', 19],
  ...TENS.map((w, i) => [w, (i + 2) * 10] as const),
]);
const SMALL = `(?:${[...TEENS, 'nineteen', ...UNITS].join('|')})`;
const TENS_WORD = `(?:${TENS.join('|')})(?:[\\s-](?:${UNITS.join('|')}))?`;
const WORD_NUMBER = `(?:(?:a|one|two|three|four|five)\\s+hundred|${TENS_WORD}|${SMALL})`;
const PERIOD_WORD = '(?:fortnight|week|month|quarter|year)';

// One alternative per way of writing the number; the unit after it is shared. Bare "one" is left out (it is
// mostly a pronoun: "one EMA crosses another"), and an article counts only before a period ("a month").
const NUMBER = new RegExp(
  '(?<![\\w.])(?:' +
    '(?<digits>[-−]?\\d+(?:\\.\\d+)?)' +
    `|(?<andHalf>${WORD_NUMBER})\\s+and\\s+a\\s+half` +
    '|(?<half>half)(?:\\s+an?)?(?=[\\s-]+(?:standard|std|sigma|sd|percent|' +
    PERIOD_WORD +
    ')s?(?![a-z]))' +
    '|(?<dozen>(?:an?\\s+)?dozen)' +
    `|(?<word>${WORD_NUMBER})` +
    `|(?<article>an?|the)(?=\\s+${PERIOD_WORD}s?(?![a-z]))` +
    ')' +
    // A unit is a whole word: "the weekly chart" holds no week, "3x" no unit.
    '(?<unit>\\s*-\\s*|\\s+|)(?:(?:' +
    '(?:trading[\\s-])?(?<days>days?|d\\b|bars?|periods?|sessions?|candles?)' +
    '|(?<weeks>weeks?|wks?\\b)|(?<fortnights>fortnights?)|(?<months>months?|mos?\\b|mths?\\b)' +
    '|(?<quarters>quarters?|qtrs?\\b)|(?<years>years?|yrs?\\b|y\\b)' +
    '|(?<pct>%|percent\\b|per cent\\b|pct\\b)' +
    '|(?<sd>standard deviations?|std(?:\\.|\\s*devs?)?s?\\b|sds?\\b|sigmas?\\b|σ)' +
    ')(?![a-z]))?' +
    "(?:'s|’s)?",
  'gi',
);

function writtenValue(g: Record<string, string | undefined>): number | undefined {
  const words = (w: string) => {
    const parts = w.toLowerCase().split(/[\s-]+/);
    if (parts[1] === 'hundred') return (parts[0] === 'a' ? 1 : WORD_VALUES.get(parts[0]!)!) * 100;
    return parts.reduce((sum, p) => sum + (WORD_VALUES.get(p) ?? 0), 0);
  };
  if (g.digits) return Number(g.digits.replace('−', '-'));
  if (g.andHalf) return words(g.andHalf) + 0.5;
  if (g.half) return 0.5;
  if (g.dozen) return 12;
  if (g.word) return words(g.word);
  if (g.article) return 1;
  return undefined;
}

/**
 * Whether a token's bar count rests on the data's frequency, so the plan should say which it assumed: a calendar
 * period ("a month", "20 days" in weekly bars) is a number of bars only once the bar is known. Days in daily bars
 * and "20 bars" or "20 sessions" read as written.
 */
export function dependsOnFrequency(token: NumberToken, frequency: BarFrequency): boolean {
  if (token.period === undefined || token.period === 'bar') return false;
  return !(token.period === 'day' && frequency === 'daily');
}

/** Every number in `text` (lower case), periods in bars of `frequency`, groups marked. */
export function readNumbers(text: string, frequency: BarFrequency = DEFAULT_BAR_FREQUENCY): NumberToken[] {
  const tokens: NumberToken[] = [];
  for (const m of text.matchAll(NUMBER)) {
    const g = m.groups!;
    const written = writtenValue(g);
    if (written === undefined) continue;
    const period: Period | undefined = g.days
      ? /^d/.test(g.days)
        ? 'day'
        : 'bar'
      : g.weeks
        ? 'week'
        : g.fortnights
          ? 'fortnight'
          : g.months
            ? 'month'
            : g.quarters
              ? 'quarter'
              : g.years
                ? 'year'
                : undefined;
    // An article, "half" or a bare "one" needs its unit; without one the match is an ordinary word.
    const needsUnit = g.article || g.half || g.word?.toLowerCase() === 'one';
    if (needsUnit && !period && !g.sd && !g.pct) continue;
    const hasUnit = Boolean(period || g.pct || g.sd);
    const end = m.index + (hasUnit ? m[0] : m[0].replace(/(?:\s*-\s*|\s+)?(?:'s|’s)?$/, '')).length;
    tokens.push({
      value: period ? toBars(written, period, frequency) : written,
      written,
      index: m.index,
      end,
      text: text.slice(m.index, end).trim(),
      unit: period ? 'bars' : g.pct ? 'pct' : g.sd ? 'sd' : 'none',
      ...(period ? { period } : {}),
      exact: /exact(?:ly)?\W*(?:\w+\W+){0,2}$/.test(text.slice(Math.max(0, m.index - 20), m.index)),
    });
  }
  markGroups(text, tokens, frequency);
  return tokens;
}

/**
 * Bars in `count` periods. A number of weeks that makes whole quarters counts as quarters, so "52-week high" is a
 * year (252 daily bars), not 260 weekdays.
 */
function toBars(count: number, period: Period, frequency: BarFrequency): number {
  const rate = BARS_PER_PERIOD[frequency];
  const bars = period === 'week' && count % 13 === 0 ? (count / 13) * rate.quarter : count * rate[period];
  return Math.max(1, Math.round(bars));
}

/**
 * Numbers written as one group: "10/30" or "6/19/9" (slashes), "(12,26,9)" or "(20, 2)" (commas inside
 * parentheses, or three or more without), "3-10-16" (dashes, three or more: two could be a range). A unit on the
 * last member ("10/50 day") is the group's.
 */
function markGroups(text: string, tokens: NumberToken[], frequency: BarFrequency): void {
  const joinedBy = (a: NumberToken, b: NumberToken, sep: RegExp) =>
    a.unit === 'none' && sep.test(text.slice(a.end, b.index));
  let i = 0;
  while (i < tokens.length) {
    let kind: 'slash' | 'comma' | 'dash' | undefined;
    let j = i;
    for (const [k, sep] of [
      ['slash', /^\s*\/\s*$/],
      ['comma', /^\s*,\s*$/],
      ['dash', /^-$/],
    ] as const) {
      while (j + 1 < tokens.length && joinedBy(tokens[j]!, tokens[j + 1]!, sep)) j++;
      if (j > i) {
        kind = k;
        break;
      }
    }
    const size = j - i + 1;
    const inParens =
      /\(\s*$/.test(text.slice(0, tokens[i]!.index)) && /^\s*\)/.test(text.slice(tokens[j]!.end));
    const isGroup =
      kind === 'slash' || (kind === 'comma' && (inParens || size >= 3)) || (kind === 'dash' && size >= 3);
    if (isGroup) {
      const last = tokens[j]!;
      for (let p = 0; p < size; p++) {
        const t = tokens[i + p]!;
        t.group = { id: i, position: p, size };
        if (t.unit === 'none' && last.unit !== 'none') {
          t.unit = last.unit;
          if (last.period) {
            t.period = last.period;
            t.value = toBars(t.written, last.period, frequency);
          }
        }
      }
    }
    i = j + 1;
  }
}
