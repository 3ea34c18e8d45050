/**
 * The import rules of src/, checked by `npm run lint` (dependency-cruiser): no cycles, and imports point one way:
 * entry points → front doors → runtime → lane / dispatch / workflows / activities / observability → config, logger.
 * Inside the core, the express lane is a queue that knows nothing of sagas, and src/dispatch (the saga↔lane bridge:
 * dispatch activities, step task types, async completion, awaited steps, lane hints) knows no particular saga. The
 * research pipeline (src/{workflows,activities}/research) sits beside a user's saga: it reaches the machinery only
 * through the public modules, and the machinery does not reach it.
 * Type-only imports count too: a cycle through types is still a tangle to read.
 */
const ENTRY = '^src/(cli|workers|dev)/|^src/(cli|index)[.]ts$';
const FRONT = '^src/(client|mcp|board)/';
const RUNTIME = '^src/runtime/';
const CORE = '^src/(lane|dispatch|workflows|activities|observability)/';
const BASE = '^src/(config|logger)[.]ts$';
/** The research pipeline: its workflow, declaration and contract, and its agents. */
const RESEARCH = '^src/(activities|workflows)/research/';
/** What a saga of its own may import of sagalane: `sagalane`'s machinery (src/core.ts) and `sagalane/workflows`. */
const PUBLIC = '^src/core[.]ts$|^src/workflows/public[.]ts$';
/**
 * Who may import the research pipeline besides the entry points: where the built-in catalog is assembled (the
 * SAGALANE_SAGAS default and the built-in worker's agents and task types), and the front-door modules of the doors
 * that predate the catalog (`startPipeline`, `start_pipeline`, `pipeline start`, the research prompt, the pipeline's
 * default catalog and state filter). A list that may only shrink: a new file that needs the pipeline takes it from a
 * catalog instead.
 */
const KNOWS_THE_PIPELINE = [
  '^src/catalog/saga-module[.]ts$',
  '^src/workflows/index[.]ts$',
  '^src/runtime/(saga-worker|express-worker|task-schemas)[.]ts$',
  '^src/client/(saga-client|saga-starts|visibility-query)[.]ts$',
  '^src/mcp/(server|modern-server|tools|saga-tools|progress|research-prompt)[.]ts$',
].join('|');

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
      name: 'the-research-pipeline-uses-only-the-public-modules',
      comment:
        "The research pipeline is built as a user's saga: outside its own research/ folders it imports sagalane only " +
        'through src/core.ts (what `sagalane` re-exports; src/index.ts itself re-exports the pipeline, so importing it ' +
        'would be a cycle) and src/workflows/public.ts (`sagalane/workflows`). Missing something? Export it there: a ' +
        "user's saga needs it too.",
      severity: 'error',
      from: { path: RESEARCH },
      to: { path: '^src/', pathNot: `${RESEARCH}|${PUBLIC}` },
    },
    {
      name: 'research-workflow-code-stays-bundleable',
      comment:
        "The pipeline's workflow code is bundled for the deterministic sandbox: it takes sagalane from " +
        'src/workflows/public.ts, never from src/core.ts or src/index.ts (only its declaration and zod contract may).',
      severity: 'error',
      from: {
        path: '^src/workflows/research/',
        pathNot: '^src/workflows/research/(research-pipeline-saga|pipeline-contract)[.]ts$',
      },
      to: { path: '^src/(core|index)[.]ts$' },
    },
    {
      name: 'the-machinery-knows-no-particular-saga',
      comment:
        'Nothing below the entry points imports the research pipeline, except where the built-in catalog is ' +
        'assembled and the front doors that predate the catalog (KNOWS_THE_PIPELINE). The lane, the bridge, the ' +
        'catalog, the saga engine, observability and the board serve every saga alike.',
      severity: 'error',
      from: { path: '^src/', pathNot: `${RESEARCH}|${ENTRY}|${KNOWS_THE_PIPELINE}` },
      to: { path: RESEARCH },
    },
    {
      name: 'the-public-core-is-machinery-only',
      comment:
        "src/core.ts is what a saga's own code imports of sagalane (the pipeline's too): the catalog, the Saga helper, " +
        'the lane, dispatch, config and logger. It re-exports no runtime, front door or saga of its own.',
      severity: 'error',
      from: { path: '^src/core[.]ts$' },
      to: { path: `${RUNTIME}|${FRONT}|${RESEARCH}` },
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
