/** docs/AGENTS.md's vocabulary examples are what the real planner makes of them (regenerate with the script). */
import fs from 'node:fs';
import { DOC, END, START, vocabularySection, VOCABULARY } from '../../scripts/agents-vocabulary';
import { STRATEGY_FAMILIES } from '../../src/activities/strategy-families';
import { planFromIdea } from '../../src/activities/strategy-plan';

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
