/**
 * Summarises a V8 `.cpuprofile` (from `node --cpu-prof`) by self time per function and per source area, so
 * "where does the lane's CPU go" can be answered from a benchmark run:
 *
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/express.ts --only lane --scale 0.5
 *   npx tsx bench/lib/cpu-profile-summary.ts /tmp/prof/*.cpuprofile
 *
 * A `.heapprofile` (sampling heap profile, e.g. from bench/express-cost.ts --profile) is summarised by bytes
 * allocated per function.
 */
import fs from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
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
): {
  byArea: [string, number][];
  byFunction: [string, number][];
  inclusive: [string, number][];
  totalMs: number;
} {
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
  // Inclusive time (self + callees) per function of our own code: which lane step costs what, all in.
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const inclusiveOf = new Map<number, number>();
  const inclusive = (id: number): number => {
    const cached = inclusiveOf.get(id);
    if (cached !== undefined) return cached;
    const node = byId.get(id)!;
    const name = node.callFrame.functionName;
    let us = name === '(idle)' || name === '(program)' ? 0 : (selfUs.get(id) ?? 0);
    for (const c of node.children ?? []) us += inclusive(c);
    inclusiveOf.set(id, us);
    return us;
  };
  const ownInclusive = new Map<string, number>();
  const visit = (id: number, onStack: Set<string>) => {
    const node = byId.get(id)!;
    const area = areaOf(node.callFrame.url);
    const fn = `${node.callFrame.functionName || '(anonymous)'} ${area}:${node.callFrame.lineNumber + 1}`;
    const own = area.startsWith('src/') || area.startsWith('bench/');
    // A recursive or re-entered frame counts once per stack.
    const counted = own && !onStack.has(fn);
    if (counted) {
      ownInclusive.set(fn, (ownInclusive.get(fn) ?? 0) + inclusive(id));
      onStack.add(fn);
    }
    for (const c of node.children ?? []) visit(c, onStack);
    if (counted) onStack.delete(fn);
  };
  if (profile.nodes[0]) visit(profile.nodes[0].id, new Set());
  const sorted = (m: Map<string, number>) => [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
  return {
    byArea: sorted(byArea),
    byFunction: sorted(byFunction),
    inclusive: sorted(ownInclusive),
    totalMs: total / 1000,
  };
}

interface HeapNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: HeapNode[];
}

/** Bytes allocated per function from a sampling heap profile (`.heapprofile`), biggest first. */
export function summariseAllocations(
  head: HeapNode,
  top = 25,
): { byFunction: [string, number][]; total: number } {
  const byFunction = new Map<string, number>();
  let total = 0;
  const visit = (n: HeapNode) => {
    const fn = `${n.callFrame.functionName || '(anonymous)'} ${areaOf(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + n.selfSize);
    total += n.selfSize;
    n.children.forEach(visit);
  };
  visit(head);
  return { byFunction: [...byFunction.entries()].sort((a, b) => b[1] - a[1]).slice(0, top), total };
}

if (require.main === module) {
  for (const file of process.argv.slice(2)) {
    if (file.endsWith('.heapprofile')) {
      const { head } = JSON.parse(fs.readFileSync(file, 'utf8')) as { head: HeapNode };
      const { byFunction, total } = summariseAllocations(head);
      process.stdout.write(`${file}: ${(total / 1e6).toFixed(1)} MB allocated (sampled)\n\n`);
      for (const [f, bytes] of byFunction)
        process.stdout.write(`  ${((100 * bytes) / total).toFixed(1).padStart(5)}%  ${f}\n`);
      continue;
    }
    const { byArea, byFunction, inclusive, totalMs } = summarise(
      JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile,
    );
    const pct = (us: number) => `${((us / 1000 / totalMs) * 100).toFixed(1)}%`.padStart(6);
    process.stdout.write(`${file}: ${totalMs.toFixed(0)} ms busy (idle excluded)\n\nby area:\n`);
    for (const [a, us] of byArea) process.stdout.write(`  ${pct(us)}  ${a}\n`);
    process.stdout.write('\nby function (self time):\n');
    for (const [f, us] of byFunction) process.stdout.write(`  ${pct(us)}  ${f}\n`);
    process.stdout.write('\nsagalane functions, inclusive (self + callees):\n');
    for (const [f, us] of inclusive) process.stdout.write(`  ${pct(us)}  ${f}\n`);
  }
}
