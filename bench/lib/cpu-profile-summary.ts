/**
 * Summarises a V8 `.cpuprofile` (from `node --cpu-prof`) by self time per function and per source area, so
 * "where does the lane's CPU go" can be answered from a benchmark run:
 *
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/express.ts --only lane --scale 0.5
 *   npx tsx bench/lib/cpu-profile-summary.ts /tmp/prof/*.cpuprofile
 */
import fs from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Buckets a script URL into an area a reader recognises. */
export function areaOf(url: string): string {
  if (!url) return '(native / GC / idle)';
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1]!;
  const src = /\/(src\/[^/]+\/[^/]+|bench\/[^?]+)/.exec(url);
  if (src) return src[1]!;
  if (url.startsWith('node:')) return url;
  return url.split('/').slice(-2).join('/');
}

export function summarise(
  profile: CpuProfile,
  top = 25,
): { byArea: [string, number][]; byFunction: [string, number][]; totalMs: number } {
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const byArea = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let total = 0;
  for (const node of profile.nodes) {
    const us = selfUs.get(node.id) ?? 0;
    if (!us) continue;
    const name = node.callFrame.functionName || '(anonymous)';
    if (name === '(idle)' || name === '(program)') continue;
    total += us;
    const area = areaOf(node.callFrame.url);
    byArea.set(area, (byArea.get(area) ?? 0) + us);
    const fn = `${name} ${area}:${node.callFrame.lineNumber + 1}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
  }
  const sorted = (m: Map<string, number>) => [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
  return { byArea: sorted(byArea), byFunction: sorted(byFunction), totalMs: total / 1000 };
}

if (require.main === module) {
  for (const file of process.argv.slice(2)) {
    const { byArea, byFunction, totalMs } = summarise(
      JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile,
    );
    const pct = (us: number) => `${((us / 1000 / totalMs) * 100).toFixed(1)}%`.padStart(6);
    process.stdout.write(`${file}: ${totalMs.toFixed(0)} ms busy (idle excluded)\n\nby area:\n`);
    for (const [a, us] of byArea) process.stdout.write(`  ${pct(us)}  ${a}\n`);
    process.stdout.write('\nby function (self time):\n');
    for (const [f, us] of byFunction) process.stdout.write(`  ${pct(us)}  ${f}\n`);
  }
}
