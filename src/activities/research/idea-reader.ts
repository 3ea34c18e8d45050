/**
 * The built-in planner's reading of an idea, in the order that keeps each number with one meaning: the numbers
 * (./idea-numbers), the modifiers that are not parameters (./idea-modifiers), the family (./idea-families), which
 * parameter each remaining number sets (./idea-roles), then the limits. Deterministic, no network, never throws.
 * Every number of the idea ends up in exactly one place (./idea-ledger): `understood` with what it set, or quoted in
 * `assumed` with the reason it was not used as written.
 */
import type {
  RiskExits,
  StrategyFamily,
  TradeDirection,
  UnderstoodPhrase,
  VolatilityFilter,
} from './contracts';
import { chooseFamily, findFamilies, numbersOfOtherFamily } from './idea-families';
import { IdeaLedger, type NumberPlacement } from './idea-ledger';
import { readDirection, readRiskExits, readVolatilityFilter } from './idea-modifiers';
import {
  barsPerPeriodText,
  dependsOnFrequency,
  DEFAULT_BAR_FREQUENCY,
  readNumbers,
  type BarFrequency,
  type NumberToken,
} from './idea-numbers';
import { assignParameters } from './idea-roles';
import { FAMILY_SPECS } from './strategy-families';

export interface ReadOptions {
  /** What one bar of the data set is: periods in words ("a month") become this many bars. @defaultValue 'daily' */
  barFrequency?: BarFrequency;
}

export interface IdeaReading {
  family: StrategyFamily;
  familySource: 'idea' | 'default';
  /** Parameter → the value the search is centred on, and whether the idea said "exactly". */
  values: Record<string, { value: number; exact: boolean }>;
  direction: TradeDirection;
  risk?: RiskExits;
  volatilityFilter?: VolatilityFilter;
  understood: UnderstoodPhrase[];
  assumed: string[];
  /** Numbers the idea named that the plan cannot use as given (strict planning refuses these). */
  problems: string[];
  /** Every number of the idea and the one place it went. */
  numbers: NumberPlacement[];
}

/**
 * Numbers that are not parameters of any plan, read before anything else can take them for a lookback: each with
 * the words before or after it that say what it is, and the reason the plan gives for leaving it out.
 */
const NOT_PARAMETERS: { before?: RegExp; after?: RegExp; reason: string }[] = [
  {
    before: /(?:s\s?&\s?p|russell|ftse|nasdaq|nikkei|dax|cac|dow(?: jones)?|stoxx|asx)\s*$/,
    reason: 'part of the name of an index, not a parameter',
  },
  {
    after: /^\s*(?:x|×)(?![a-z])/,
    reason: 'a multiple ("3x ATR"); plans have no ATR or multiple-based exits, only stops in percent',
  },
  {
    before:
      /(?:(?:exit|sell|close|out)\s+after|hold(?:s|ing)?(?:\s+(?:it|them|positions?|the trade))?\s+for)\s+$/,
    reason:
      "a holding period; a plan exits on its family's signal, a stop-loss or a take-profit, not after a time",
  },
];

/** Reads an idea (any case). What it cannot use is in `assumed` and `problems`. */
export function readIdea(idea: string, options: ReadOptions = {}): IdeaReading {
  const frequency = options.barFrequency ?? DEFAULT_BAR_FREQUENCY;
  const text = idea.toLowerCase();
  const tokens = readNumbers(text, frequency);
  const ledger = new IdeaLedger(idea, tokens);

  for (const t of tokens) {
    const rule = NOT_PARAMETERS.find(
      (r) =>
        (r.before && r.before.test(text.slice(Math.max(0, t.index - 30), t.index))) ||
        (r.after && r.after.test(text.slice(t.end, t.end + 4))),
    );
    if (rule) ledger.setAside(t, rule.reason);
  }
  // Modifiers first, so their numbers are not taken for lookbacks.
  const risk = readRiskExits(text, tokens, ledger);
  const volatilityFilter = readVolatilityFilter(text, tokens, ledger);

  const { chosen, others } = chooseFamily(findFamilies(text, tokens));
  const family: StrategyFamily = chosen?.family ?? 'ma_crossover';
  if (chosen) {
    ledger.understand(chosen.index, chosen.index + chosen.phrase.length, `family ${family}`);
    for (const other of new Set(others.map((f) => f.family))) {
      ledger.assume(
        `the idea also names ${other}; a plan has one family, so ${family} (named first) is used`,
      );
    }
    for (const other of others) {
      for (const t of numbersOfOtherFamily(text, other, tokens)) {
        ledger.setAside(t, `it belongs to the ${other.family} part, which the plan does not use`);
      }
    }
  } else {
    ledger.assume(
      'nothing in the idea names a strategy family sagalane knows (see docs/AGENTS.md), so the trend-following ' +
        'default ma_crossover',
    );
  }

  const values: IdeaReading['values'] = {};
  const free = tokens.filter((t) => !ledger.isPlaced(t));
  if (chosen) setParameters(family, text, free, ledger, values);
  else for (const t of free) ledger.setAside(t, 'the idea names no family, so no parameter to set');
  deriveMissing(family, text, values, ledger);
  if (tokens.some((t) => dependsOnFrequency(t, frequency))) ledger.assume(periodNote(frequency));

  const direction = readDirection(text, family, ledger);
  for (const name of Object.keys(FAMILY_SPECS[family].parameters)) {
    if (!values[name]) ledger.assume(`${name}: the default search range (the idea does not name it)`);
  }
  return {
    family,
    familySource: chosen ? 'idea' : 'default',
    values,
    direction,
    ...(risk ? { risk } : {}),
    ...(volatilityFilter ? { volatilityFilter } : {}),
    ...ledger.entries(),
  };
}

/** Puts each number on its parameter, inside the parameter's limits; a number it cannot honour is set aside. */
function setParameters(
  family: StrategyFamily,
  text: string,
  tokens: NumberToken[],
  ledger: IdeaLedger,
  values: IdeaReading['values'],
): void {
  const spec = FAMILY_SPECS[family];
  const { assignments, unplaced } = assignParameters(family, text, tokens);
  // Named the wrong way round ("slow 10, fast 50"): the smaller length is the fast one, whatever the words said.
  const fast = assignments.find((a) => a.parameter === 'fast');
  const slow = assignments.find((a) => a.parameter === 'slow');
  if (fast && slow && fast.token.value > slow.token.value) {
    [fast.parameter, slow.parameter] = ['slow', 'fast'];
    ledger.assume(`fast and slow swapped: the fast length must be the shorter one`);
  }
  for (const a of [...assignments].sort((x, y) => x.from - y.from)) {
    const p = spec.parameters[a.parameter]!;
    const written = Math.abs(a.token.value);
    const value = p.integer ? Math.round(written) : written;
    if (value < p.min || value > p.max) {
      const clamped = Math.min(p.max, Math.max(p.min, value));
      ledger.problem(`${a.parameter} ${written} is outside [${p.min}, ${p.max}]`);
      ledger.setAside(
        a.token,
        `${a.parameter} ${written} is outside [${p.min}, ${p.max}], so the search is centred on ${clamped}`,
        'not used as written',
      );
      values[a.parameter] = { value: clamped, exact: a.token.exact };
      continue;
    }
    values[a.parameter] = { value, exact: a.token.exact };
    const meaning = `${a.parameter} ${a.token.exact ? '=' : '≈'} ${value}`;
    ledger.understand(a.from, a.to, meaning, a.parameter, [a.token]);
  }
  for (const u of unplaced) ledger.setAside(u.token, u.reason);
}

/** Values the idea implies without naming them: the other RSI level, the fast length, a golden cross. */
function deriveMissing(
  family: StrategyFamily,
  text: string,
  values: IdeaReading['values'],
  ledger: IdeaLedger,
): void {
  const spec = FAMILY_SPECS[family];
  if (family === 'rsi') {
    for (const [from, to] of [
      ['lower', 'upper'],
      ['upper', 'lower'],
    ] as const) {
      const known = values[from];
      if (!known || values[to]) continue;
      const p = spec.parameters[to]!;
      const mirrored = Math.min(p.max, Math.max(p.min, 100 - known.value));
      values[to] = { value: mirrored, exact: known.exact };
      ledger.assume(`${to} ≈ ${mirrored} (mirrors ${from} ${known.value} around 50)`);
    }
  }
  if (family === 'ma_crossover' || family === 'ema_crossover') {
    if (!values.fast && !values.slow && /golden cross|death cross/.test(text)) {
      values.fast = { value: 50, exact: false };
      values.slow = { value: 200, exact: false };
      ledger.assume('golden/death cross: the usual 50 and 200 bars');
    } else if (values.slow && !values.fast) {
      const fast = Math.max(2, Math.round(values.slow.value / 4));
      values.fast = { value: fast, exact: false };
      ledger.assume(`fast ≈ ${fast} (a quarter of the slow length; the idea names one length)`);
    } else if (values.fast && !values.slow) {
      // Not the default slow range: a long fast length (200) would reach past it.
      const slow = Math.min(spec.parameters.slow!.max, values.fast.value * 4);
      values.slow = { value: slow, exact: false };
      ledger.assume(`slow ≈ ${slow} (four times the fast length; the idea names one length)`);
    }
  }
}

function periodNote(frequency: BarFrequency): string {
  return `periods are counted in ${frequency} bars, the data set's (bars per ${barsPerPeriodText(frequency)})`;
}
