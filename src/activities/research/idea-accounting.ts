/**
 * Checks a plan's account of the idea's numbers from its words alone, so a plan from any planner (built-in or LLM)
 * can be held to it: every number written in the idea is either in an `understood` phrase or quoted in an `assumed`
 * entry (`ignored "500": …`), never both and never neither; and an `understood` meaning that sets a parameter
 * ("fast ≈ 10", "signal = 9") agrees with that parameter's range.
 */
import type { ParameterRange, StrategyFamily, UnderstoodPhrase } from './contracts';
import { readNumbers, type BarFrequency, type NumberToken } from './idea-numbers';
import { FAMILY_SPECS } from './strategy-families';

export interface PlanAccount {
  family: StrategyFamily;
  parameterRanges: Record<string, ParameterRange>;
  understood: UnderstoodPhrase[];
  assumed: string[];
}

/** Where in the idea one number's mentions are. */
export interface NumberAccount {
  token: NumberToken;
  /** `understood` entries whose phrase holds the number. */
  understoodBy: UnderstoodPhrase[];
  /** `assumed` entries that quote it. */
  assumedBy: string[];
}

/** Every place `needle` occurs in `haystack`. */
function occurrences(haystack: string, needle: string): number[] {
  const found: number[] = [];
  if (!needle) return found;
  for (let i = haystack.indexOf(needle); i >= 0; i = haystack.indexOf(needle, i + 1)) found.push(i);
  return found;
}

/** A phrase holds a number when the number starts inside it ("exit on a 20-day low" holds "20-day"). */
const holds = (start: number, end: number, t: NumberToken) => t.index >= start && t.index < end;

const QUOTED = /"([^"]+)"|“([^”]+)”/g;

interface Occurrence {
  key: string;
  held: NumberAccount[];
  /** Every number it holds is wholly inside it ("1" holds "1" wholly, and "1-day" only in part). */
  whole: boolean;
}

function occurrencesOf(text: string, words: string, accounts: NumberAccount[]): Occurrence[] {
  return occurrences(text, words).map((i) => {
    const held = accounts.filter((a) => holds(i, i + words.length, a.token));
    return { key: `${i}:${words}`, held, whole: held.every((a) => a.token.end <= i + words.length) };
  });
}

/** The occurrence a phrase or quote most likely means: unused, holding numbers nothing else holds, wholly. */
function likeliest(found: Occurrence[], fresh: (a: NumberAccount) => boolean, taken: Set<string>) {
  const unused = found.filter((o) => !taken.has(o.key) && o.held.length > 0);
  const isFresh = (o: Occurrence) => o.held.every(fresh);
  return (
    unused.find((o) => isFresh(o) && o.whole) ??
    unused.find(isFresh) ??
    unused.find((o) => o.whole) ??
    unused[0] ??
    found.find((o) => o.held.length > 0)
  );
}

/**
 * Where each number of `idea` is accounted for. Words written twice in the idea ("10 … 10") are located where
 * they hold numbers nothing located before holds, wholly if they can, and a quote in `assumed` prefers a number no
 * `understood` phrase holds, so an honest plan is never read as saying one number twice.
 */
export function accountNumbers(
  idea: string,
  plan: Pick<PlanAccount, 'understood' | 'assumed'>,
  frequency?: BarFrequency,
): NumberAccount[] {
  const text = idea.toLowerCase();
  const accounts = readNumbers(text, frequency).map((token): NumberAccount => ({
    token,
    understoodBy: [],
    assumedBy: [],
  }));
  const taken = new Set<string>();
  for (const u of plan.understood) {
    const found = occurrencesOf(text, u.phrase.toLowerCase(), accounts);
    const chosen = likeliest(found, (a) => a.understoodBy.length === 0, taken);
    if (!chosen) continue;
    taken.add(chosen.key);
    for (const a of chosen.held) a.understoodBy.push(u);
  }
  for (const line of plan.assumed) {
    for (const m of line.matchAll(QUOTED)) {
      const found = occurrencesOf(text, (m[1] ?? m[2]!).toLowerCase(), accounts);
      const chosen = likeliest(found, (a) => a.understoodBy.length === 0 && a.assumedBy.length === 0, taken);
      if (!chosen) continue;
      taken.add(chosen.key);
      for (const a of chosen.held) a.assumedBy.push(line);
    }
  }
  return accounts;
}

/** What is wrong with a plan's account of `idea`, one line per problem (empty when it holds). */
export function accountingIssues(idea: string, plan: PlanAccount, frequency?: BarFrequency): string[] {
  const issues: string[] = [];
  for (const a of accountNumbers(idea, plan, frequency)) {
    const written = idea.slice(a.token.index, a.token.end);
    if (a.understoodBy.length && a.assumedBy.length) {
      issues.push(
        `"${written}" is both understood ("${a.understoodBy[0]!.phrase}" → ${a.understoodBy[0]!.meaning}) and ` +
          `in assumed (${a.assumedBy[0]})`,
      );
    } else if (!a.understoodBy.length && !a.assumedBy.length) {
      issues.push(`"${written}" is neither in an understood phrase nor quoted in assumed with a reason`);
    }
  }
  const parameters = FAMILY_SPECS[plan.family]?.parameters ?? {};
  for (const u of plan.understood) {
    const m = /^(\w+)\s*(≈|=|~)\s*(-?\d+(?:\.\d+)?)/.exec(u.meaning);
    if (!m || !parameters[m[1]!]) continue;
    const [name, exact, value] = [m[1]!, m[2] === '=', Number(m[3])];
    const range = plan.parameterRanges[name];
    if (!range) continue;
    const fits = exact
      ? range.min === value && range.max === value
      : range.min <= value && value <= range.max;
    if (!fits) {
      issues.push(
        `understood "${u.phrase}" → ${u.meaning}, but the ${name} range is ${range.min}..${range.max} ` +
          `(${exact ? 'exactly that value' : 'it must contain the value'})`,
      );
    }
  }
  return issues;
}
