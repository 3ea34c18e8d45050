/**
 * The parts of an idea that are not the family's parameters: stop-loss and take-profit in percent, a volatility
 * filter, and the trade direction. They are read before the family's numbers, so "a 5% stop" or "20-day
 * volatility" is never taken for a lookback.
 */
import type { RiskExits, StrategyFamily, TradeDirection, VolatilityFilter } from './contracts';
import type { IdeaLedger } from './idea-ledger';
import type { NumberToken } from './idea-numbers';
import { FAMILY_SPECS } from './strategy-families';

interface Span {
  index: number;
  end: number;
}

function firstMatch(text: string, pattern: RegExp): Span | undefined {
  const m = pattern.exec(text);
  return m ? { index: m.index, end: m.index + m[0].length } : undefined;
}

/** A number just before a word ("a 5% stop", "20-day volatility"): at most `gap` spaces or dashes between. */
function numberBefore(
  text: string,
  tokens: NumberToken[],
  at: Span,
  gap: number,
  accept: (t: NumberToken) => boolean,
) {
  return tokens.find(
    (t) =>
      accept(t) &&
      t.end <= at.index &&
      at.index - t.end <= gap &&
      /^[\s-]*$/.test(text.slice(t.end, at.index)),
  );
}

/**
 * The first number after a word, within `window` characters ("stop loss of 5%"), with no other number between:
 * the phrase the plan quotes for it must not hold a number it did not use.
 */
function numberAfter(tokens: NumberToken[], at: Span, window: number, accept: (t: NumberToken) => boolean) {
  const next = tokens.find((t) => t.index >= at.end);
  return next && accept(next) && next.index - at.end <= window ? next : undefined;
}

const EXITS = [
  {
    field: 'stopLossPct',
    label: 'stop-loss',
    words: /stop[\s-]?loss|\bstops?\b|\bsl\b/,
    otherwise: 5,
  },
  {
    field: 'takeProfitPct',
    label: 'take-profit',
    words: /take[\s-]?profit|profit[\s-]?target|\btarget\b|\btp\b/,
    otherwise: 10,
  },
] as const;

/** Stop-loss and take-profit: fixed exits in percent of the entry close. */
export function readRiskExits(
  text: string,
  tokens: NumberToken[],
  ledger: IdeaLedger,
): RiskExits | undefined {
  const risk: RiskExits = {};
  const free = (t: NumberToken) => !ledger.isPlaced(t);
  const pct = (t: NumberToken) => free(t) && t.unit === 'pct';
  for (const exit of EXITS) {
    const hit = firstMatch(text, exit.words);
    if (!hit) continue;
    // "a 10-day trailing stop" is an exit channel in bars, not a percentage: the family's roles read it.
    const inBars = tokens.find(
      (t) =>
        free(t) &&
        t.unit === 'bars' &&
        t.end <= hit.index &&
        /^[\s-]*(?:trailing[\s-]+)?$/.test(text.slice(t.end, hit.index)),
    );
    if (inBars) continue;
    // An ATR stop moves with volatility; a fixed percentage in its place would be a different strategy.
    if (
      exit.field === 'stopLossPct' &&
      /\batr\b[\s-]*(?:based\s+|trailing\s+)?$/.test(text.slice(0, hit.index))
    ) {
      ledger.assume(
        'no stop-loss: an ATR stop is not something a plan has (stops are in percent of the entry close)',
      );
      continue;
    }
    const token = numberBefore(text, tokens, hit, 3, pct) ?? numberAfter(tokens, hit, 20, pct);
    if (!token) {
      risk[exit.field] = exit.otherwise;
      ledger.understand(hit.index, hit.end, `a ${exit.label} exit`);
      ledger.assume(`${exit.label} at ${exit.otherwise} % (the idea names no percentage)`);
      continue;
    }
    const value = Math.abs(token.value);
    if (value <= 0 || value > 90) {
      ledger.problem(`${exit.label} ${ledger.written(token)} is not a usable percentage (0-90 %)`);
      ledger.setAside(token, `a ${exit.label} must be more than 0 and at most 90 %`);
      continue;
    }
    risk[exit.field] = value;
    ledger.understand(
      Math.min(hit.index, token.index),
      Math.max(hit.end, token.end),
      `${exit.label} at ${value} % from the entry close (fixed, not searched)`,
      exit.label,
      [token],
    );
  }
  return Object.keys(risk).length ? risk : undefined;
}

/** "only when 20-day volatility is below 25%": flat while annualised volatility is above the level. */
export function readVolatilityFilter(
  text: string,
  tokens: NumberToken[],
  ledger: IdeaLedger,
): VolatilityFilter | undefined {
  const vol = firstMatch(text, /volatility|\bvol\b/);
  if (!vol) return undefined;
  const free = (t: NumberToken) => !ledger.isPlaced(t);
  const lookbackToken = numberBefore(text, tokens, vol, 3, (t) => free(t) && t.unit === 'bars');
  const limitToken = numberAfter(tokens, vol, 30, (t) => free(t) && t.unit === 'pct');
  let lookback = 20;
  let maxAnnualVolPct = 30;
  if (lookbackToken) lookback = Math.min(250, Math.max(5, Math.round(lookbackToken.value)));
  else ledger.assume('volatility measured over 20 bars (the idea names no window)');
  if (limitToken) maxAnnualVolPct = limitToken.value;
  else ledger.assume('trades only while annualised volatility is at most 30 % (the idea names no level)');
  ledger.understand(
    lookbackToken?.index ?? vol.index,
    Math.max(vol.end, limitToken?.end ?? 0),
    `volatility filter: flat while ${lookback}-bar annualised volatility is above ${maxAnnualVolPct} %`,
    'volatility filter',
    [lookbackToken, limitToken].filter((t): t is NumberToken => t !== undefined),
  );
  return { lookback, maxAnnualVolPct };
}

const LONG_ONLY = /long[\s-]?only|only (?:go )?long|no short\w*|never short|without short\w*|not short/;
const LONG_SHORT =
  /long\s*(?:\/|and|&|or)\s*short|both (?:directions|ways|sides)|short(?:s|ing)? (?:when|if|on|below|above|the)|go short|short[\s-]?sell\w*|\bshorting\b/;

/** Long-only or long/short, as the idea says; the family's default otherwise. */
export function readDirection(text: string, family: StrategyFamily, ledger: IdeaLedger): TradeDirection {
  const longOnly = firstMatch(text, LONG_ONLY);
  if (longOnly) {
    ledger.understand(longOnly.index, longOnly.end, 'long and flat only');
    return 'long_only';
  }
  const longShort = firstMatch(text, LONG_SHORT);
  if (longShort) {
    ledger.understand(longShort.index, longShort.end, 'long and short');
    return 'long_short';
  }
  const direction = FAMILY_SPECS[family].defaultDirection;
  ledger.assume(
    `${direction === 'long_only' ? 'long-only' : 'long and short'} (the ${family} default; the idea does not say)`,
  );
  return direction;
}
