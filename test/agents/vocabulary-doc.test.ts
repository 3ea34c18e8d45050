/** docs/AGENTS.md's vocabulary examples are what the real planner makes of them (regenerate with the script). */
import fs from 'node:fs';
import { DOC, END, START, vocabularySection, VOCABULARY } from '../../scripts/agents-vocabulary';
import { STRATEGY_FAMILIES } from '../../src/activities/research/strategy-families';
import { planFromIdea } from '../../src/activities/research/strategy-plan';

describe('docs/AGENTS.md vocabulary', () => {
  it('matches the planner (run `npx tsx scripts/agents-vocabulary.ts` after changing it)', () => {
    const doc = fs.readFileSync(DOC, 'utf8');
    expect(doc.slice(doc.indexOf(START), doc.indexOf(END) + END.length)).toBe(vocabularySection());
  });

  it('has an example of every family', () => {
    const families = new Set(VOCABULARY.map((v) => planFromIdea(v.idea, 'DEMO').family));
    for (const family of STRATEGY_FAMILIES) expect([family, families.has(family)]).toEqual([family, true]);
  });
});

/** The rows of the hand-written table of reader constructions: the idea, and what the plan is said to read. */
function readerExamples(): [idea: string, reads: string[]][] {
  const doc = fs.readFileSync(DOC, 'utf8');
  const section = doc.slice(
    doc.indexOf('<!-- reader-examples:start -->'),
    doc.indexOf('<!-- reader-examples:end -->'),
  );
  return section
    .split('\n')
    .map((line) => /^\|[^|]*\|\s*`([^`]+)`\s*\|([^|]+)\|$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => [m[1]!, m[2]!.split(' · ').map((r) => r.trim())]);
}

describe('docs/AGENTS.md: what the reader understands', () => {
  const rows = readerExamples();

  it('shows at least one example of each construction the reader knows', () => {
    expect(rows.length).toBeGreaterThanOrEqual(25);
  });

  // Each item is an understood meaning ("fast ≈ 6"), or the start of an understood meaning or an assumed entry.
  it.each(rows)('%s', (idea, reads) => {
    const plan = planFromIdea(idea, 'DEMO');
    const said = [...plan.understood!.map((u) => u.meaning), ...plan.assumed!];
    for (const item of reads) expect([item, said.some((s) => s.startsWith(item))]).toEqual([item, true]);
  });

  // The examples of what it does not understand, read as the doc says they are.
  it.each([
    ['10 and 30 week moving averages', { fast: 10, slow: 150 }],
    ['12-1 month momentum', { lookback: 12 }],
    ['momentum with a lookback between 10 and 30', { lookback: 10 }],
    ['Keltner channel 20 2', { lookback: 20, exitLookback: 2 }],
    ['momentum over a third of a year', { lookback: 252 }],
    ['RSI below 30 when VIX is above 20', { period: 20, lower: 30 }],
  ])('does not understand: %s', (idea, centres) => {
    const plan = planFromIdea(idea, 'DEMO');
    for (const [name, centre] of Object.entries(centres)) {
      expect(plan.understood!.map((u) => u.meaning)).toContain(`${name} ≈ ${centre}`);
    }
  });
});
