/**
 * Workflow-side CPU of a saga without a server: a committed history replayed many times through
 * `Worker.runReplayHistories` (same activations, same workflow code paths as a live run, no dispatch, no network),
 * CPU per replay from `process.cpuUsage()` (main thread, workflow thread and Temporal core together). Deterministic
 * enough to compare workflow code A/B on a shared box: give several workflow directories and they are measured in
 * turn, round after round, on the same history.
 *
 *   npx tsx bench/lib/saga-replay-cost.ts [--history test/fixtures/histories/<file>.json] [--replays 200]
 *     [--rounds 3] [--in-main-thread [--count-promises]] [<src/workflows dir> ...]
 *
 * Without directories: this tree's src/workflows. A directory of another checkout (e.g. a `git worktree` of an
 * older commit) measures that code against the same history (the history must replay on both).
 */
import fs from 'node:fs';
import v8 from 'node:v8';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { createLogSagaSinks } from '../../src/runtime/saga-worker';
import { createLogger } from '../../src/logger';

const ROOT = path.resolve(__dirname, '..', '..');

function arg(flag: string, fallback: string): string {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}

const silent = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
} as never;

async function main(): Promise<void> {
  const historyFile = arg(
    '--history',
    path.join(ROOT, 'test/fixtures/histories/research-pipeline-plan-cache-hit.json'),
  );
  const replays = Number(arg('--replays', '200'));
  const rounds = Number(arg('--rounds', '3'));
  const flags = new Set(['--history', '--replays', '--rounds']);
  const dirs = process.argv
    .slice(2)
    .filter((a, i, all) => !a.startsWith('--') && !flags.has(all[i - 1]!))
    .map((d) => path.resolve(d));
  if (dirs.length === 0) dirs.push(path.join(ROOT, 'src', 'workflows'));
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const history = temporal.api.history.v1.History.fromObject(
    JSON.parse(fs.readFileSync(historyFile, 'utf8')),
  );
  const sinks = createLogSagaSinks(createLogger('silent'));
  const bundles = [];
  for (const dir of dirs) {
    bundles.push({
      dir,
      bundle: await bundleWorkflowCode({
        workflowsPath: dir,
        workflowInterceptorModules: [path.join(dir, 'step-attempts')],
        logger: silent,
      }),
    });
  }
  console.log(
    `${path.basename(historyFile)}: ${history.events?.length} events, ${replays} replays per round`,
  );
  for (let round = 0; round < rounds; round++) {
    for (const { dir, bundle } of bundles) {
      const histories = Array.from({ length: replays }, (_, i) => ({ workflowId: `replay-${i}`, history }));
      let promises = 0;
      // --count-promises (with --in-main-thread): promises created in this thread, workflow code's among them; a
      // count that does not depend on the neighbours, and each workflow promise costs a stack trace in the SDK.
      const stop = process.argv.includes('--count-promises')
        ? v8.promiseHooks.onInit(() => promises++)
        : undefined;
      const cpu = process.cpuUsage();
      const t = performance.now();
      let errors = 0;
      // --in-main-thread (the SDK's debugMode): workflows in this thread, so `node --cpu-prof` profiles them too.
      const debugMode = process.argv.includes('--in-main-thread');
      // `debugMode` is a WorkerOptions field the replay worker honours, though its options type omits it.
      const options = { workflowBundle: bundle, sinks, ...(debugMode ? { debugMode } : {}) };
      for await (const r of Worker.runReplayHistories(
        options as Parameters<typeof Worker.runReplayHistories>[0],
        histories,
      )) {
        if (r.error) errors++;
      }
      const used = process.cpuUsage(cpu);
      stop?.();
      console.log(
        `  round ${round + 1} ${path.relative(ROOT, dir) || dir}: ${((used.user + used.system) / 1000 / replays).toFixed(2)} ms CPU, ` +
          `${((performance.now() - t) / replays).toFixed(2)} ms wall per replay` +
          (stop ? `, ${(promises / replays).toFixed(0)} promises per replay` : '') +
          (errors ? `, ${errors} failed` : ''),
      );
    }
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
