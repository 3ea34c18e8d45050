import { planFromIdea } from '../src/activities/strategy-plan';
const ideas = process.argv.slice(2);
for (const idea of ideas) {
  const p = planFromIdea(idea, 'DEMO');
  console.log(
    '==',
    idea,
    '->',
    p.family,
    p.direction,
    JSON.stringify(p.parameterRanges),
    JSON.stringify(p.risk ?? {}),
    JSON.stringify(p.volatilityFilter ?? {}),
  );
  console.log('   U:', p.understood!.map((u) => `${u.phrase} => ${u.meaning}`).join(' | '));
  console.log('   A:', p.assumed!.join(' | '));
}
