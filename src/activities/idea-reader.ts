/**
 * The built-in planner's reading of an idea: which strategy family it names, which numbers belong to which
 * parameter, the trade direction, stop-loss / take-profit and a volatility filter. Deterministic, no network. It
 * reports every phrase it acted on (`understood`), everything it assumed (`assumed`) and the numbers it could not
 * honour (`problems`: out of a parameter's limits), so a plan says plainly what became of the idea.
 */
import type {
  RiskExits,
  StrategyFamily,
  TradeDirection,
  UnderstoodPhrase,
  VolatilityFilter,
} from './contracts';
import { FAMILY_SPECS } from './strategy-families';

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
export const FAMILY_KEYWORDS: FamilyKeyword[] = [
  { family: 'macd', tier: 1, pattern: /\bmacd\b|moving average convergence/g },
  { family: 'bollinger', tier: 1, pattern: /bollinger/g },
  { family: 'rsi', tier: 1, pattern: /\brsi\b|relative strength index/g },
  { family: 'mean_reversion', tier: 1, pattern: /z[\s-]?scores?\b|\bz\s*(?=[<>]|above|below)/g },
  {
    family: 'breakout',
    tier: 1,
    pattern: /donchian|\d+[\s-]*(?:day|week|bar)s?[\s-]+(?:high|highs)\b|turtle/g,
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
    pattern: /cross[\s-]?overs?|crosses|moving[\s-]averages?|\bma\b|trend/g,
    agreesWith: TREND,
  },
];

export interface IdeaReading {
  family: StrategyFamily;
  familySource: 'idea' | 'default';
  /** Parameter → value the idea named, and whether it said "exactly". */
  values: Record<string, { value: number; exact: boolean; phrase: string }>;
  direction: TradeDirection;
  risk?: RiskExits;
  volatilityFilter?: VolatilityFilter;
  understood: UnderstoodPhrase[];
  assumed: string[];
  /** Numbers the idea named that the plan cannot use as given (strict planning refuses these). */
  problems: string[];
}

/** A number in the idea, with its unit and where it is. */
interface NumberToken {
  value: number;
  index: number;
  end: number;
  /** The number and its unit as written. */
  text: string;
  unit: 'bars' | 'pct' | 'sd' | 'none';
  exact: boolean;
  used: boolean;
}

const NUMBER =
  /(?<![\w.])(-?\d+(?:\.\d+)?)(\s*(?:-\s*)?(?:(days?|d\b|bars?|periods?|sessions?|weeks?|wk|months?|mo\b|years?|yr)|(%|percent|per cent)|(standard deviations?|std(?:\.|\s*dev)?s?|sds?\b|sigmas?|σ)))?/gi;

function tokenize(text: string): NumberToken[] {
  const tokens: NumberToken[] = [];
  for (const m of text.matchAll(NUMBER)) {
    const raw = Number(m[1]);
    const unitWord = (m[3] ?? '').toLowerCase();
    let value = raw;
    let unit: NumberToken['unit'] = 'none';
    if (m[3]) {
      unit = 'bars';
      if (/^w/.test(unitWord)) value = raw * 5;
      else if (/^mo/.test(unitWord)) value = raw * 21;
      else if (/^y/.test(unitWord)) value = raw * 252;
    } else if (m[4]) unit = 'pct';
    else if (m[5]) unit = 'sd';
    const before = text.slice(Math.max(0, m.index - 20), m.index);
    tokens.push({
      value,
      index: m.index,
      end: m.index + m[0].length,
      text: m[0].trim(),
      unit,
      exact: /exact(?:ly)?\W*(?:\w+\W+){0,2}$/.test(before),
      used: false,
    });
  }
  return tokens;
}

interface Found {
  family: StrategyFamily;
  tier: number;
  index: number;
  phrase: string;
  agreesWith?: StrategyFamily[];
}

function findFamilies(text: string): Found[] {
  const taken: [number, number][] = [];
  const found: Found[] = [];
  for (const k of FAMILY_KEYWORDS) {
    for (const m of text.matchAll(k.pattern)) {
      const [start, end] = [m.index, m.index + m[0].length];
      if (taken.some(([s, e]) => start < e && end > s)) continue;
      taken.push([start, end]);
      found.push({ family: k.family, tier: k.tier, index: start, phrase: m[0], agreesWith: k.agreesWith });
    }
  }
  return found.sort((a, b) => a.tier - b.tier || a.index - b.index);
}

/** The first token after `index` within `window` characters that satisfies `accept`. */
function tokenNear(
  tokens: NumberToken[],
  index: number,
  window: number,
  accept: (t: NumberToken) => boolean = () => true,
): NumberToken | undefined {
  return tokens.find((t) => !t.used && t.index >= index && t.index - index <= window && accept(t));
}

function matchAt(text: string, pattern: RegExp): { index: number; end: number; text: string }[] {
  const flags = pattern.flags.includes('g') ? pattern.flags : `${pattern.flags}g`;
  return [...text.matchAll(new RegExp(pattern.source, flags))].map((m) => ({
    index: m.index,
    end: m.index + m[0].length,
    text: m[0],
  }));
}

/** Reads an idea (any case). Never throws: what it cannot use is in `assumed` and `problems`. */
export function readIdea(idea: string): IdeaReading {
  const text = idea.toLowerCase();
  const tokens = tokenize(text);
  const understood: UnderstoodPhrase[] = [];
  const assumed: string[] = [];
  const problems: string[] = [];
  const values: IdeaReading['values'] = {};
  const phraseOf = (start: number, end: number) => idea.slice(start, end).trim();

  // Modifiers first, so their numbers are not taken for lookbacks.
  const risk: RiskExits = {};
  for (const [field, pattern, label] of [
    ['stopLossPct', /stop[\s-]?loss|\bstops?\b|\bsl\b/, 'stop-loss'],
    ['takeProfitPct', /take[\s-]?profit|profit[\s-]?target|\btarget\b|\btp\b/, 'take-profit'],
  ] as const) {
    const hit = matchAt(text, pattern)[0];
    if (!hit) continue;
    // "a 5% stop" puts the number before the word, "stop loss of 5%" after it.
    const token =
      tokens.find((t) => !t.used && t.unit === 'pct' && t.end <= hit.index && hit.index - t.end <= 3) ??
      tokenNear(tokens, hit.end, 20, (t) => t.unit === 'pct');
    if (token) {
      token.used = true;
      const pct = Math.abs(token.value);
      if (pct <= 0 || pct > 90) {
        problems.push(`${label} ${token.text} is not a usable percentage (0-90 %)`);
        continue;
      }
      risk[field] = pct;
      understood.push({
        phrase: phraseOf(Math.min(hit.index, token.index), Math.max(hit.end, token.end)),
        meaning: `${label} at ${pct} % from the entry close (fixed, not searched)`,
      });
    } else {
      const pct = field === 'stopLossPct' ? 5 : 10;
      risk[field] = pct;
      understood.push({ phrase: phraseOf(hit.index, hit.end), meaning: `a ${label} exit` });
      assumed.push(`${label} at ${pct} % (the idea names no percentage)`);
    }
  }

  let volatilityFilter: VolatilityFilter | undefined;
  const vol = matchAt(text, /volatility|\bvol\b/)[0];
  if (vol) {
    const lookbackToken = tokens.find(
      (t) => !t.used && t.unit === 'bars' && t.end <= vol.index && vol.index - t.end <= 3,
    );
    const limitToken = tokenNear(tokens, vol.end, 30, (t) => t.unit === 'pct');
    let lookback = 20;
    let maxAnnualVolPct = 30;
    if (lookbackToken) {
      lookbackToken.used = true;
      lookback = Math.min(250, Math.max(5, Math.round(lookbackToken.value)));
    } else assumed.push('volatility measured over 20 bars (the idea names no window)');
    if (limitToken) {
      limitToken.used = true;
      maxAnnualVolPct = limitToken.value;
    } else assumed.push('trades only while annualised volatility is at most 30 % (the idea names no level)');
    volatilityFilter = { lookback, maxAnnualVolPct };
    const from = lookbackToken?.index ?? vol.index;
    understood.push({
      phrase: phraseOf(from, Math.max(vol.end, limitToken?.end ?? 0)),
      meaning: `volatility filter: flat while ${lookback}-bar annualised volatility is above ${maxAnnualVolPct} %`,
    });
  }

  // Family.
  const families = findFamilies(text);
  const chosen = families[0];
  const family: StrategyFamily = chosen?.family ?? 'ma_crossover';
  const spec = FAMILY_SPECS[family];
  if (chosen) {
    understood.push({
      phrase: phraseOf(chosen.index, chosen.index + chosen.phrase.length),
      meaning: `family ${family}`,
    });
    const others = families.filter(
      (f) =>
        f.family !== family &&
        !(f.agreesWith ?? []).includes(family) &&
        (f.tier === 1 || !(chosen.agreesWith ?? []).includes(f.family)),
    );
    for (const other of new Set(others.map((f) => f.family))) {
      assumed.push(`the idea also names ${other}; a plan has one family, so ${family} (named first) is used`);
    }
    // Numbers right beside the other family's words ("a 50/200 moving average filter") are its, not ours.
    for (const other of others) {
      for (const t of tokens) {
        const otherEnd = other.index + other.phrase.length;
        // Only numbers joined to the words by spaces, slashes or other numbers ("50/200 moving average").
        const joined = (a: number, b: number) => b >= a && /^[\s/,&\d.-]{0,8}$/.test(text.slice(a, b));
        if (!t.used && (joined(t.end, other.index) || joined(otherEnd, t.index))) {
          t.used = true;
          assumed.push(
            `ignored "${t.text}": it belongs to the ${other.family} part, which the plan does not use`,
          );
        }
      }
    }
  } else {
    assumed.push(
      'nothing in the idea names a strategy family sagalane knows (see docs/AGENTS.md), so the trend-following ' +
        'default ma_crossover',
    );
  }

  const take = (name: string, token: NumberToken | undefined, context = '') => {
    if (!token || values[name]) return;
    token.used = true;
    values[name] = {
      value: Math.abs(token.value),
      exact: token.exact,
      phrase: `${context}${token.text}`.trim(),
    };
  };
  const bars = (t: NumberToken) => t.unit === 'bars' || t.unit === 'none';
  const lookbacks = () => tokens.filter((t) => !t.used && bars(t) && t.value >= 1);

  // Without a family the numbers mean nothing we know: they are reported as ignored below.
  switch (chosen ? family : undefined) {
    case 'rsi': {
      for (const m of matchAt(
        text,
        /rsi\s*\(\s*|rsi\s*(?:period\s*)?(?:of\s*|=\s*)?(?=\d)|period\s*(?:of\s*)?(?=\d)/,
      ))
        take('period', tokenNear(tokens, m.end, 2), m.text);
      for (const t of tokens)
        if (!t.used && t.unit === 'bars' && /^\W*(?:rsi|relative)/.test(text.slice(t.end, t.end + 6)))
          take('period', t);
      const lowerWords =
        /(?:below|under|<=?|less than|drops? (?:to|below|under)|falls? (?:to|below|under)|oversold(?: at| level| of| below)?|crosses below)\s*(?:exactly\s*)?/;
      const upperWords =
        /(?:above|over|>=?|greater than|rises? (?:to|above|over)|overbought(?: at| level| of| above)?|crosses above|hits|reaches)\s*(?:exactly\s*)?/;
      for (const m of matchAt(text, lowerWords))
        take(
          'lower',
          tokenNear(tokens, m.end, 1, (t) => t.unit === 'none'),
          m.text,
        );
      for (const m of matchAt(text, upperWords))
        take(
          'upper',
          tokenNear(tokens, m.end, 1, (t) => t.unit === 'none'),
          m.text,
        );
      const derive = (from: string, to: string) => {
        const known = values[from];
        if (known && !values[to]) {
          const p = spec.parameters[to]!;
          const mirrored = Math.min(p.max, Math.max(p.min, 100 - known.value));
          values[to] = { value: mirrored, exact: known.exact, phrase: '' };
          assumed.push(`${to} ≈ ${mirrored} (mirrors ${from} ${known.value} around 50)`);
        }
      };
      take(
        'period',
        tokens.find((t) => !t.used && t.unit === 'bars'),
      );
      derive('lower', 'upper');
      derive('upper', 'lower');
      break;
    }
    case 'ma_crossover':
    case 'ema_crossover': {
      for (const [name, word] of [
        ['fast', /fast(?:er)?|short(?:er)?(?:[\s-]term)?/],
        ['slow', /slow(?:er)?|long(?:er)?(?:[\s-]term)?/],
      ] as const) {
        for (const m of matchAt(
          text,
          new RegExp(
            `(?:${word.source})\\s*(?:ma|sma|ema|average|moving average|window|length)?\\s*(?:of\\s*|=\\s*)?`,
          ),
        ))
          take(name, tokenNear(tokens, m.end, 1, bars), m.text);
      }
      const rest = lookbacks().slice(0, 2);
      if (!values.fast && !values.slow && rest.length === 0 && /golden cross|death cross/.test(text)) {
        values.fast = { value: 50, exact: false, phrase: '' };
        values.slow = { value: 200, exact: false, phrase: '' };
        assumed.push('golden/death cross: the usual 50 and 200 bars');
      } else if (!values.fast && !values.slow && rest.length >= 2) {
        const [a, b] = rest[0]!.value <= rest[1]!.value ? [rest[0]!, rest[1]!] : [rest[1]!, rest[0]!];
        take('fast', a);
        take('slow', b);
      } else if (rest.length >= 1) {
        take(values.fast ? 'slow' : values.slow ? 'fast' : 'slow', rest[0]);
      }
      if (values.slow && !values.fast) {
        const fast = Math.max(2, Math.round(values.slow.value / 4));
        values.fast = { value: fast, exact: false, phrase: '' };
        assumed.push(`fast ≈ ${fast} (a quarter of the slow length; the idea names one length)`);
      }
      break;
    }
    case 'macd': {
      const triple = matchAt(text, /(\d+)\s*[,/]\s*(\d+)\s*[,/]\s*(\d+)/)[0];
      if (triple) {
        const inside = tokens.filter((t) => t.index >= triple.index && t.end <= triple.end + 3);
        ['fast', 'slow', 'signal'].forEach((name, i) => take(name, inside[i], ''));
      }
      for (const name of ['fast', 'slow', 'signal'])
        for (const m of matchAt(
          text,
          new RegExp(`${name}(?:\\s*(?:ema|line|length|period))?\\s*(?:of\\s*|=\\s*)?`),
        ))
          take(name, tokenNear(tokens, m.end, 1, bars), m.text);
      break;
    }
    case 'bollinger': {
      take(
        'width',
        tokens.find((t) => !t.used && t.unit === 'sd'),
      );
      for (const m of matchAt(text, /width\s*(?:of\s*|=\s*)?/))
        take('width', tokenNear(tokens, m.end, 1), m.text);
      take('length', lookbacks()[0]);
      break;
    }
    case 'mean_reversion': {
      take(
        'entryZ',
        tokens.find((t) => !t.used && t.unit === 'sd'),
      );
      for (const m of matchAt(
        text,
        /z[\s-]?score\w*\s*(?:of|is|goes|drops|falls|rises|moves)?\s*(?:below|under|above|over|beyond|past|[<>]=?|-)?\s*|\bz\s*[<>]=?\s*/,
      ))
        take(
          'entryZ',
          tokenNear(tokens, m.end, 1, (t) => t.unit === 'none' && Math.abs(t.value) <= 10),
          m.text,
        );
      take('lookback', lookbacks()[0]);
      break;
    }
    case 'breakout': {
      for (const m of matchAt(text, /\b(?:exit|sell|close|out)\b[^.;]*?(?=\d)/))
        take('exitLookback', tokenNear(tokens, m.end, 1, bars), '');
      const rest = lookbacks();
      take('lookback', rest[0]);
      take('exitLookback', rest[1]);
      break;
    }
    case 'momentum': {
      take('lookback', lookbacks()[0]);
      break;
    }
  }

  // Direction.
  let direction = spec.defaultDirection;
  const longOnly = matchAt(
    text,
    /long[\s-]?only|only (?:go )?long|no short\w*|never short|without short\w*|not short/,
  )[0];
  const shortWords = matchAt(
    text,
    /long\s*(?:\/|and|&|or)\s*short|both (?:directions|ways|sides)|short(?:s|ing)? (?:when|if|on|below|above|the)|go short|short[\s-]?sell\w*|\bshorting\b/,
  )[0];
  if (longOnly) {
    direction = 'long_only';
    understood.push({ phrase: phraseOf(longOnly.index, longOnly.end), meaning: 'long and flat only' });
  } else if (shortWords) {
    direction = 'long_short';
    understood.push({ phrase: phraseOf(shortWords.index, shortWords.end), meaning: 'long and short' });
  } else {
    assumed.push(
      `${direction === 'long_only' ? 'long-only' : 'long and short'} (the ${family} default; the idea does not say)`,
    );
  }

  // Numbers: within limits, or clamped and reported.
  for (const [name, v] of Object.entries(values)) {
    const p = spec.parameters[name]!;
    let value = p.integer ? Math.round(v.value) : v.value;
    if (value < p.min || value > p.max) {
      const clamped = Math.min(p.max, Math.max(p.min, value));
      problems.push(`${name} ${v.value} is outside [${p.min}, ${p.max}]`);
      assumed.push(
        `${name} ${v.value} is outside [${p.min}, ${p.max}], so the search is centred on ${clamped}`,
      );
      value = clamped;
    }
    values[name] = { ...v, value };
    if (v.phrase) {
      understood.push({ phrase: v.phrase, meaning: `${name} ${v.exact ? '=' : '≈'} ${value}` });
    }
  }
  for (const name of Object.keys(spec.parameters)) {
    if (!values[name]) assumed.push(`${name}: the default search range (the idea does not name it)`);
  }
  for (const t of tokens) {
    if (!t.used) {
      assumed.push(`ignored "${t.text}": it is not a parameter of ${family}`);
    }
  }

  return {
    family,
    familySource: chosen ? 'idea' : 'default',
    values,
    direction,
    ...(Object.keys(risk).length ? { risk } : {}),
    ...(volatilityFilter ? { volatilityFilter } : {}),
    understood,
    assumed,
    problems,
  };
}
