/**
 * The ml step with the real parameter search, in the strategy sandbox of today (QuickJS-WASM,
 * src/activities/research/strategy-sandbox.ts) and of before (node:vm, bench/lib/node-vm-sandbox.ts, the code as of
 * 82ea817), in one run: `npm run bench:sandbox` (`-- --rounds 9` for more rounds; `--no-report` prints the table and
 * writes neither docs/BENCHMARKS.md nor bench/results). node:vm runs twice: today's generated code (the same code as
 * QuickJS: the sandboxes compared) and the code generated before it kept running sums
 * (src/activities/research/strategy-codegen-v1.ts, the same positions: the ml step as it was before issue 25).
 *
 * Each round runs every strategy family's ml step once in each sandbox, alternating which goes first, on data sets
 * of its own (a fresh synthetic OHLCV series per round and sandbox, so neither sees the other's inputs; all parsed
 * before timing). A step is the ml agent's whole call (search over the plan's default grid with walk-forward
 * validation, then the model written to Redis), timed from the call to its answer. The first round warms both up
 * and is not counted. Figures: per family the median of each sandbox and the ratio of the medians; overall the
 * median of the per-step ratios.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Redis from 'ioredis';
import { createAgentContext } from '../src/activities/research/agent-context';
import type { StrategyFamily, StrategyPlan } from '../src/activities/research/contracts';
import { runCpuTaskInProcess, type CpuTaskRunner } from '../src/activities/research/cpu-tasks';
import { createMlAgent } from '../src/activities/research/ml-agent';
import { searchParameters } from '../src/activities/research/parameter-search';
import { generateStrategySource } from '../src/activities/research/strategy-codegen';
import { generateStrategySourceV1 } from '../src/activities/research/strategy-codegen-v1';
import { FAMILY_SPECS, STRATEGY_FAMILIES } from '../src/activities/research/strategy-families';
import { createLogger } from '../src/logger';
import { loadStrategy as loadInNodeVm } from './lib/node-vm-sandbox';
import { describeMachine } from './lib/machine';
import { benchPrefix, deleteMatching, redisUrlFromEnv } from './lib/redis-keys';
import { commandLine, writeReport } from './lib/results';
import { fmtMs, fmtRatio } from './lib/stats';

type Sandbox = 'node:vm' | 'quickjs' | 'node:vm, code before';
const SANDBOXES: Sandbox[] = ['node:vm', 'quickjs', 'node:vm, code before'];
const BARS = 1000;

function roundsArg(argv = process.argv): number {
  const i = argv.indexOf('--rounds');
  if (i < 0) return 7;
  const v = Number(argv[i + 1]);
  if (!(Number.isInteger(v) && v >= 2 && v <= 100)) throw new Error('--rounds must be an integer in 2..100');
  return v;
}

/** A random walk with drift and a slow cycle: every family trades on it. Deterministic per seed. */
function writeSeries(file: string, seed: number): void {
  let state = seed * 2654435761;
  const random = () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
  let close = 50 + 50 * random();
  const rows = ['date,open,high,low,close,volume'];
  const start = Date.UTC(2018, 0, 1);
  for (let i = 0; i < BARS; i++) {
    const open = close;
    close = Math.max(1, close * (1 + 0.0004 + 0.015 * (random() - 0.5) + 0.004 * Math.sin(i / (15 + seed))));
    const high = Math.max(open, close) * (1 + 0.005 * random());
    const low = Math.min(open, close) * (1 - 0.005 * random());
    const date = new Date(start + i * 86_400_000).toISOString().slice(0, 10);
    rows.push(`${date},${open.toFixed(4)},${high.toFixed(4)},${low.toFixed(4)},${close.toFixed(4)},1000`);
  }
  fs.writeFileSync(file, rows.join('\n') + '\n');
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function main(): Promise<void> {
  const rounds = roundsArg();
  const redis = new Redis(redisUrlFromEnv());
  const keyPrefix = benchPrefix('sandbox');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sagalane-bench-sandbox-'));
  const machine = await describeMachine(redis);
  const startedAt = new Date();

  // node:vm's search: the same searchParameters, given the old sandbox's loader (and, for the code before, the
  // plan's code as the generator before running sums wrote it).
  const plan = (family: StrategyFamily): StrategyPlan => ({
    family,
    parameterRanges: structuredClone(FAMILY_SPECS[family].defaultRanges),
    rationale: 'bench',
    provider: 'bench',
  });
  const codeBefore = new Map(
    STRATEGY_FAMILIES.map((f) => [generateStrategySource(plan(f)), generateStrategySourceV1(plan(f))]),
  );
  const viaNodeVm =
    (before: boolean): CpuTaskRunner =>
    (name, input, hooks) => {
      if (name !== 'parameterSearch') return runCpuTaskInProcess(name, input, hooks);
      const task = input as Parameters<typeof searchParameters>[0];
      const source = before ? codeBefore.get(task.source) : task.source;
      if (source === undefined) throw new Error('bench:sandbox: no code before for this source');
      return searchParameters({ ...task, source }, hooks, loadInNodeVm) as never;
    };
  const deps = (runCpuTask: CpuTaskRunner) =>
    createAgentContext({
      redis,
      keyPrefix,
      allowedDataDirs: [dir],
      llm: { model: 'unused', timeoutMs: 1_000 },
      planCacheTtlS: 60,
      logger: createLogger('silent'),
      runCpuTask,
    });
  const ctx: Record<Sandbox, ReturnType<typeof deps>> = {
    'node:vm': deps(viaNodeVm(false)),
    quickjs: deps(runCpuTaskInProcess),
    'node:vm, code before': deps(viaNodeVm(true)),
  };
  const ml = Object.fromEntries(SANDBOXES.map((s) => [s, createMlAgent(ctx[s])])) as Record<
    Sandbox,
    ReturnType<typeof createMlAgent>
  >;

  const datasets = new Map<string, string>();
  let seed = 1;
  for (let r = 0; r < rounds; r++)
    for (const family of STRATEGY_FAMILIES)
      for (const sandbox of SANDBOXES) {
        const file = path.join(dir, `S${seed}.csv`);
        writeSeries(file, seed++);
        datasets.set(`${r}:${family}:${sandbox}`, file);
      }
  // Each agent context keeps the series it parsed: parse each one in its sandbox's context before timing.
  for (const [key, file] of datasets)
    await ctx[key.split(':').slice(2).join(':') as Sandbox].loadDataset('BENCH', file);

  const samples: Record<StrategyFamily, Record<Sandbox, number[]>> = Object.fromEntries(
    STRATEGY_FAMILIES.map((f) => [f, Object.fromEntries(SANDBOXES.map((s) => [s, []]))]),
  ) as never;
  const ratios: number[] = [];
  const ratiosToBefore: number[] = [];
  let candidates = 0;
  try {
    for (let r = 0; r < rounds; r++) {
      for (const family of STRATEGY_FAMILIES) {
        const turn = (r + STRATEGY_FAMILIES.indexOf(family)) % SANDBOXES.length;
        const order = [...SANDBOXES.slice(turn), ...SANDBOXES.slice(0, turn)];
        const took: Partial<Record<Sandbox, number>> = {};
        for (const sandbox of order) {
          const dataset = datasets.get(`${r}:${family}:${sandbox}`)!;
          const started = performance.now();
          const out = await ml[sandbox].ml({
            sagaId: `bench-${r}-${family}-${sandbox}`,
            symbol: 'BENCH',
            dataset,
            plan: plan(family),
            codeFrom: 'plan',
          });
          took[sandbox] = performance.now() - started;
          candidates = Math.max(candidates, out.candidatesEvaluated);
        }
        if (r === 0) continue; // warm-up
        for (const s of SANDBOXES) samples[family][s].push(took[s]!);
        ratios.push(took.quickjs! / took['node:vm']!);
        ratiosToBefore.push(took.quickjs! / took['node:vm, code before']!);
      }
      process.stderr.write(`[bench:sandbox] round ${r + 1}/${rounds}${r === 0 ? ' (warm-up)' : ''}\n`);
    }
  } finally {
    await deleteMatching(redis, `${keyPrefix}:*`);
    fs.rmSync(dir, { recursive: true, force: true });
  }

  const BEFORE: Sandbox = 'node:vm, code before';
  const rows = STRATEGY_FAMILIES.map((family) => {
    const before = median(samples[family][BEFORE]);
    const vm = median(samples[family]['node:vm']);
    const qjs = median(samples[family].quickjs);
    return {
      family,
      nodeVmBeforeMs: before,
      nodeVmMs: vm,
      quickjsMs: qjs,
      ratio: qjs / vm,
      ratioToBefore: qjs / before,
    };
  });
  const all = {
    nodeVmBeforeMs: median(STRATEGY_FAMILIES.flatMap((f) => samples[f][BEFORE])),
    nodeVmMs: median(STRATEGY_FAMILIES.flatMap((f) => samples[f]['node:vm'])),
    quickjsMs: median(STRATEGY_FAMILIES.flatMap((f) => samples[f].quickjs)),
    ratio: median(ratios),
    ratioToBefore: median(ratiosToBefore),
  };
  const sum = (xs: number[]) => xs.reduce((x, y) => x + y, 0);
  const eight = {
    nodeVmBeforeMs: sum(rows.map((r) => r.nodeVmBeforeMs)),
    nodeVmMs: sum(rows.map((r) => r.nodeVmMs)),
    quickjsMs: sum(rows.map((r) => r.quickjsMs)),
  };
  const table = [
    '| family | node:vm, code before | node:vm, same code | QuickJS-WASM (now) | ratio to node:vm, same code | ratio to node:vm, code before |',
    '| --- | --: | --: | --: | --: | --: |',
    ...rows.map(
      (r) =>
        `| ${r.family} | ${fmtMs(r.nodeVmBeforeMs)} ms | ${fmtMs(r.nodeVmMs)} ms | ${fmtMs(r.quickjsMs)} ms | ` +
        `${fmtRatio(r.ratio)} | ${fmtRatio(r.ratioToBefore)} |`,
    ),
    `| **every step** (median; ratios: median of the per-step ratios) | **${fmtMs(all.nodeVmBeforeMs)} ms** | ` +
      `**${fmtMs(all.nodeVmMs)} ms** | **${fmtMs(all.quickjsMs)} ms** | **${fmtRatio(all.ratio)}** | ` +
      `**${fmtRatio(all.ratioToBefore)}** |`,
    `| the eight families one after another (sum of the medians) | ${fmtMs(eight.nodeVmBeforeMs)} ms | ` +
      `${fmtMs(eight.nodeVmMs)} ms | ${fmtMs(eight.quickjsMs)} ms | ${fmtRatio(eight.quickjsMs / eight.nodeVmMs)} | ` +
      `${fmtRatio(eight.quickjsMs / eight.nodeVmBeforeMs)} |`,
  ].join('\n');
  const markdown = [
    `ml step (the agent's whole call: walk-forward search over the plan's default grid, up to ${candidates} ` +
      `candidates, on ${BARS}-bar series, then the model written to Redis), median of ${rounds - 1} rounds after ` +
      'a warm-up round, each sandbox on series of its own, order rotating. "Same code": node:vm runs the code ' +
      'QuickJS runs (the sandboxes compared); "code before": node:vm runs the code generated before it kept running ' +
      'sums (the same positions; the ml step as it was before issue 25):',
    '',
    table,
  ].join('\n');
  process.stdout.write(`\n${markdown}\n`);
  if (process.argv.includes('--no-report')) {
    process.stderr.write('[bench:sandbox] --no-report: wrote nothing\n');
  } else {
    const file = writeReport({
      name: 'sandbox',
      command: commandLine('bench:sandbox'),
      machine,
      startedAt,
      markdown,
      data: { rounds, bars: BARS, rows, all, eight, samples, ratios, ratiosToBefore },
    });
    process.stderr.write(`[bench:sandbox] wrote ${file} and docs/BENCHMARKS.md\n`);
  }
  redis.disconnect();
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:sandbox failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
