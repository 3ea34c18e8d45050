/**
 * The import rules of src/, checked by `npm run lint` (dependency-cruiser): no cycles, and imports point one way:
 * entry points → front doors → runtime → lane / dispatch / workflows / activities / observability → config, logger.
 * Inside the core, the express lane is a queue that knows nothing of sagas, and src/dispatch (the saga↔lane bridge:
 * dispatch activities, step task types, async completion, awaited steps, lane hints) knows no particular saga.
 * Type-only imports count too: a cycle through types is still a tangle to read.
 */
const ENTRY = '^src/(cli|workers|dev)/|^src/(cli|index)[.]ts$';
const FRONT = '^src/(client|mcp|board)/';
const RUNTIME = '^src/runtime/';
const CORE = '^src/(lane|dispatch|workflows|activities|observability)/';
const BASE = '^src/(config|logger)[.]ts$';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'An import cycle in src/: break it by moving the shared part down a layer.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'entry-points-are-not-imported',
      comment:
        'Entry points (src/cli, src/workers, src/dev, src/index.ts) are the top: only other entry points may import them.',
      severity: 'error',
      from: { path: '^src/', pathNot: ENTRY },
      to: { path: ENTRY },
    },
    {
      name: 'only-the-cli-uses-the-local-stack',
      comment:
        'src/dev is the local stack behind `sagalane dev`; process entry points and the library do not need it.',
      severity: 'error',
      from: { path: '^src/workers/|^src/index[.]ts$' },
      to: { path: '^src/dev/' },
    },
    {
      name: 'runtime-below-front-doors',
      comment: 'Process wiring (src/runtime) must not import a front door (src/client, src/mcp, src/board).',
      severity: 'error',
      from: { path: RUNTIME },
      to: { path: FRONT },
    },
    {
      name: 'core-below-runtime',
      comment:
        'The lane, workflows, activities and observability must not import the runtime or a front door.',
      severity: 'error',
      from: { path: CORE },
      to: { path: `${RUNTIME}|${FRONT}` },
    },
    {
      name: 'the-lane-knows-no-saga',
      comment:
        'The express lane (src/lane) is a task queue: it imports nothing from the sagas, their agents or the saga↔lane ' +
        'bridge. Saga steps reach it as task types that src/dispatch builds.',
      severity: 'error',
      from: { path: '^src/lane/' },
      to: { path: '^src/(activities|workflows|dispatch)/' },
    },
    {
      name: 'the-bridge-knows-no-particular-saga',
      comment:
        "src/dispatch serves every saga: it imports the lane, never a saga's workflows or agents (a saga hands it " +
        'its step names and handlers).',
      severity: 'error',
      from: { path: '^src/dispatch/' },
      to: { path: '^src/(activities|workflows)/' },
    },
    {
      name: 'workflows-take-only-lane-hints-from-the-bridge',
      comment:
        'Workflow code is bundled for the deterministic sandbox: from src/dispatch it may import only the zod-free ' +
        'lane-step module, and nothing from the lane itself.',
      severity: 'error',
      from: { path: '^src/workflows/' },
      to: { path: '^src/lane/|^src/dispatch/', pathNot: '^src/dispatch/lane-step[.]ts$' },
    },
    {
      name: 'config-and-logger-are-the-bottom',
      comment: 'config.ts and logger.ts import nothing else from src/.',
      severity: 'error',
      from: { path: BASE },
      to: { path: '^src/', pathNot: BASE },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
