/**
 * Which parameter each number of an idea sets, once the family is known. In this order, each step taking only
 * numbers the earlier ones left:
 *  1. a group ("10/30", "MACD(12,26,9)") by the family's parameter order;
 *  2. role words beside a number ("signal of 9", "a 7-bar signal line", "exit on a 20-day low", "3 standard
 *     deviations"): a number right after the words first, then one right before them;
 *  3. the kind of number: a bar count is a lookback, standard deviations are a width or an entry z-score, and an
 *     RSI level is the oversold one below 50 and the overbought one above it (whatever the words around it: "crosses
 *     back above 30" is still the oversold level);
 *  4. order, for what is left.
 * Numbers it cannot place come back with the reason, so the plan can say what became of every number.
 */
import type { StrategyFamily } from './contracts';
import type { NumberToken } from './idea-numbers';
import { FAMILY_SPECS } from './strategy-families';

/** A number that sets a parameter, and where the words of the idea that say so start and end. */
export interface Assignment {
  token: NumberToken;
  parameter: string;
  from: number;
  to: number;
}

export interface RoleReading {
  assignments: Assignment[];
  /** Numbers no parameter took, each with the reason. */
  unplaced: { token: NumberToken; reason: string }[];
}

interface ParameterRole {
  /** `bars`: a lookback (a bar count or a plain whole number). `level`: a threshold (plain or standard deviations). */
  kind: 'bars' | 'level';
  /** Words that name the parameter. */
  words?: RegExp;
}

const bars = (words?: RegExp): ParameterRole => ({ kind: 'bars', words });
const level = (words?: RegExp): ParameterRole => ({ kind: 'level', words });
const crossover = {
  fast: bars(/\b(?:fast(?:er)?|short(?:er)?(?:[\s-]term)?)\b/g),
  slow: bars(/\b(?:slow(?:er)?|long(?:er)?(?:[\s-]term)?)\b/g),
};

/** Per family, in the family's parameter order (the order a group or leftover numbers are read in). */
const ROLES: Record<StrategyFamily, Record<string, ParameterRole>> = {
  ma_crossover: crossover,
  ema_crossover: crossover,
  macd: {
    fast: bars(/\bfast(?:\s+(?:ema|line|length|period))?\b/g),
    slow: bars(/\bslow(?:\s+(?:ema|line|length|period))?\b/g),
    signal: bars(/\b(?:signal|trigger)(?:[\s-]+(?:line|ema|length|period))?\b/g),
  },
  rsi: {
    period: bars(/\b(?:rsi|relative strength index)\b\s*\(?|\b(?:period|lookback|length|window)\b/g),
    lower: level(),
    upper: level(),
  },
  bollinger: {
    length: bars(/\b(?:length|period|lookback|window)\b/g),
    width: level(/\b(?:band[\s-]?width|width|wide|standard deviations?|std|sigmas?|deviations?)\b/g),
  },
  mean_reversion: {
    lookback: bars(/\b(?:lookback|window|length|period)\b/g),
    entryZ: level(
      /(?:\bz[\s-]?scores?(?:\s+(?:of|is|goes|drops|falls|rises|moves))?|\bz\s*[<>]=?|\benter(?:s|ing)?|\bentry)(?:\s+(?:at|beyond|above|below|past|over|under))?/g,
    ),
  },
  breakout: {
    lookback: bars(/\b(?:entry|enter|highs?|breakouts?|break|channel|donchian)\b/g),
    exitLookback: bars(/\b(?:exits?|sell|close|out|lows?|(?:trailing\s+)?stop)\b/g),
  },
  momentum: { lookback: bars() },
};

/** What may stand between role words and the number after them ("exit on a 20-day low", "signal of 9"). */
const FILLER_AFTER =
  /^(?:[\s:=(-]|\b(?:of|at|on|a|an|the|is|to|leg|line|length|period|window|lookback|ema|sma|ma|about|around)\b)*$/;
/** Comparison words an RSI level or a z-score is written with; they join the level's phrase ("below 30"). */
const COMPARISON =
  /(?:below|under|above|over|<=?|>=?|less than|greater than|at|hits|reaches|tops|beyond|±)\s*(?:exactly\s*)?$/;

function accepts(role: ParameterRole, family: StrategyFamily, t: NumberToken): boolean {
  if (t.unit === 'pct') return false;
  if (role.kind === 'bars') return t.unit === 'bars' || (t.unit === 'none' && t.value >= 1);
  if (family === 'rsi') return t.unit === 'none' && t.value > 0 && t.value < 100;
  return t.unit === 'sd' || t.unit === 'none';
}

/** Reads which parameter of `family` each of `tokens` (those not already used by a modifier) sets. */
export function assignParameters(family: StrategyFamily, text: string, tokens: NumberToken[]): RoleReading {
  const roles = ROLES[family];
  const names = Object.keys(roles);
  const assignments: Assignment[] = [];
  const unplaced: RoleReading['unplaced'] = [];
  const taken = new Set<NumberToken>();
  const setBy = new Map<string, NumberToken>();
  const assign = (parameter: string, token: NumberToken, from = token.index, to = token.end) => {
    taken.add(token);
    setBy.set(parameter, token);
    assignments.push({ token, parameter, from, to });
  };
  const free = (t: NumberToken) => !taken.has(t);
  const withComparison = (parameter: string, t: NumberToken) => {
    const before = COMPARISON.exec(text.slice(Math.max(0, t.index - 24), t.index));
    assign(parameter, t, before ? t.index - before[0].length : t.index);
  };

  // 1. Groups, by the family's parameter order (an RSI pair is the two levels).
  const groups = new Map<number, NumberToken[]>();
  for (const t of tokens) if (t.group) groups.set(t.group.id, [...(groups.get(t.group.id) ?? []), t]);
  for (const members of groups.values()) {
    let order = names;
    if (family === 'rsi' && members.length === 2) order = ['lower', 'upper'];
    // A crossover pair is fast then slow whichever way round it is written ("200/50").
    const ordered =
      family === 'ma_crossover' || family === 'ema_crossover'
        ? [...members].sort((a, b) => a.value - b.value)
        : members;
    ordered.forEach((t, i) => {
      const name = order[i];
      if (!name) {
        unplaced.push({
          token: t,
          reason: `${family} reads a group of numbers as ${order.join('/')}, and this one is beyond them`,
        });
        taken.add(t);
      } else if (!setBy.has(name) && accepts(roles[name]!, family, t)) {
        if (family === 'rsi' && name !== 'period') withComparison(name, t);
        else assign(name, t);
      }
    });
  }

  // 2. Role words: a number right after them first (for every parameter), then one right before them.
  for (const side of ['after', 'before'] as const) {
    for (const name of names) {
      const words = roles[name]!.words;
      if (!words || setBy.has(name)) continue;
      for (const m of text.matchAll(words)) {
        const end = m.index + m[0].length;
        const token =
          side === 'after'
            ? tokens.find(
                (t) =>
                  free(t) &&
                  t.index >= end &&
                  t.index - end <= 16 &&
                  FILLER_AFTER.test(text.slice(end, t.index)) &&
                  accepts(roles[name]!, family, t),
              )
            : tokens.find(
                (t) =>
                  free(t) &&
                  t.end <= m.index &&
                  /^[\s-]{0,2}$/.test(text.slice(t.end, m.index)) &&
                  accepts(roles[name]!, family, t),
              );
        if (token) {
          if (side === 'after') assign(name, token, m.index, token.end);
          else assign(name, token, token.index, end);
          break;
        }
      }
    }
  }

  // 3. The kind of number.
  const left = () => tokens.filter(free);
  if (family === 'rsi') {
    for (const t of left()) {
      if (t.unit === 'bars') {
        if (!setBy.has('period')) assign('period', t);
      } else if (accepts(roles.lower!, family, t)) {
        const below = /(?:below|under|<|less|drops?|falls?|oversold)\W*(?:\w+\W+)?$/.test(
          text.slice(Math.max(0, t.index - 16), t.index),
        );
        const name = t.value < 50 || (t.value === 50 && below) ? 'lower' : 'upper';
        if (!setBy.has(name)) withComparison(name, t);
      }
    }
  } else if (family === 'bollinger' || family === 'mean_reversion') {
    const [lookbackName, levelName] = family === 'bollinger' ? ['length', 'width'] : ['lookback', 'entryZ'];
    const max = FAMILY_SPECS[family].parameters[levelName!]!.max;
    for (const t of left()) {
      const isLevel = t.unit === 'sd' || (t.unit === 'none' && Math.abs(t.value) <= max);
      const name = isLevel ? levelName! : t.unit === 'bars' ? lookbackName! : undefined;
      if (!name || setBy.has(name)) continue;
      if (isLevel) withComparison(name, t);
      else assign(name, t);
    }
  }

  // 4. Order, for the rest. A lone crossover length is the slow one (the reader derives the fast one). Order is a
  // guess, so a plain number outside the parameter's limits is not taken ("(1765432101234)" is no RSI period); one
  // with a unit ("a 2000-day EMA") is a lookback whatever its size, and the reader clamps it and says so.
  const spec = FAMILY_SPECS[family];
  const fits = (name: string, t: NumberToken) => {
    const p = spec.parameters[name]!;
    return t.unit !== 'none' || (Math.abs(t.value) >= p.min && Math.abs(t.value) <= p.max);
  };
  const byOrder = (name: string, t: NumberToken) =>
    !setBy.has(name) && accepts(roles[name]!, family, t) && fits(name, t);
  if (family === 'ma_crossover' || family === 'ema_crossover') {
    const rest = left().filter((t) => accepts(roles.fast!, family, t) && fits('slow', t));
    if (!setBy.has('fast') && !setBy.has('slow') && rest.length >= 2) {
      const [a, b] = rest[0]!.value <= rest[1]!.value ? [rest[0]!, rest[1]!] : [rest[1]!, rest[0]!];
      assign('fast', a);
      assign('slow', b);
    } else if (rest[0] && !(setBy.has('fast') && setBy.has('slow'))) {
      assign(setBy.has('slow') ? 'fast' : 'slow', rest[0]);
    }
  } else {
    for (const t of left()) {
      const name = names.find((n) => byOrder(n, t));
      if (name) assign(name, t);
    }
  }

  for (const t of left()) {
    const set = names.filter((n) => setBy.has(n));
    const outside = names.find((n) => !setBy.has(n) && accepts(roles[n]!, family, t));
    const p = outside ? spec.parameters[outside]! : undefined;
    unplaced.push({
      token: t,
      reason:
        t.unit === 'pct'
          ? 'a percentage that is not a stop-loss, take-profit or volatility level'
          : set.length === names.length
            ? `every parameter of ${family} (${names.join(', ')}) is already set by another number`
            : p
              ? `nothing names it ${outside}, and it is outside ${outside}'s limits [${p.min}, ${p.max}]`
              : `it is not a parameter of ${family}`,
    });
  }
  return { assignments, unplaced };
}
